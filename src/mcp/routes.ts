import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { Type } from 'typebox'
import { listColumnSummaries } from '../catalog/service.ts'
import type { Store } from '../db/types.ts'
import { ApiError } from '../errors.ts'
import { authenticate } from '../http/auth.ts'
import { CommonErrors } from '../http/schemas.ts'
import { mcpServer } from './server.ts'
import { type ApiReader, callTool, jsonOf, TOOLS, ToolError } from './tools.ts'

const tags = ['ai']

/** The headers that sign a request in, passed on to the API reads a tool makes for it. */
function credentialsOf(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of ['authorization', 'cookie'] as const) {
    const value = request.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  return headers
}

/**
 * GETs of docent's own API, in process, signed in as the caller; and a table's columns read directly, with the
 * caller's visibility (the caller was signed in by this request, and each GET signs in again).
 */
export function apiReader(store: Store, app: FastifyInstance, request: FastifyRequest): ApiReader {
  const headers = credentialsOf(request)
  const read: ApiReader = async (path) => {
    const response = await app.inject({ method: 'GET', url: `/api/v1${path}`, headers }).catch(() => {
      // Fastify refuses new requests once it is closing.
      throw new ToolError('docent is shutting down: try again in a moment.')
    })
    return { status: response.statusCode, body: jsonOf(response.body) }
  }
  // The key is checked again for each read (as each GET does), so that a key revoked or a role changed during an
  // MCP session counts at once; anything but a bearer key reads the columns through the API.
  const key = /^Bearer +(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1]
  if (key !== undefined) {
    read.columns = async (tableId, limit) => {
      const principal = await authenticate(store, key).catch(() => undefined)
      return principal === undefined ? undefined : listColumnSummaries(store, principal, tableId, limit)
    }
  }
  return read
}

const ToolCallSchema = Type.Object(
  {
    name: Type.String({ maxLength: 200, description: `one of ${TOOLS.map((t) => t.name).join(', ')}` }),
    arguments: Type.Optional(
      Type.Unknown({ description: "the tool's arguments (an object); see each tool's inputSchema at /mcp" }),
    ),
  },
  { additionalProperties: true },
)

const ToolAnswerSchema = Type.Object({
  isError: Type.Boolean(),
  content: Type.Array(Type.Object({ type: Type.Literal('text'), text: Type.String() })),
})

/**
 * An MCP session of `/mcp`: its transport, the key that opened it (no other key may use it), and the answers it
 * owes (ended with an error if the session ends first: the transport itself would leave them open).
 */
interface Session {
  transport: StreamableHTTPServerTransport
  keyId: string
  pending: Set<ServerResponse>
}

/** Sessions kept at once, per key, and how long one lasts unused. */
const MAX_SESSIONS = 1000
const MAX_SESSIONS_PER_KEY = 10
const SESSION_IDLE_MS = 30 * 60_000

/** Ends an answer the transport still owes: a JSON-RPC error saying why, or a cut connection once it began. */
function abandon(response: ServerResponse, why: string): void {
  if (response.writableEnded) return
  if (response.headersSent) {
    response.end()
    return
  }
  response.writeHead(503, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: why }, id: null }))
}

/**
 * Secoda's tool endpoint (CONTRACT §13) and docent's own MCP server over Streamable HTTP. Both run the tools of
 * src/mcp/tools.ts, which read the catalog through the API with the caller's credentials.
 */
export function mcpRoutes(store: Store) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post(
      '/ai/mcp/tools/call',
      {
        // A read, whatever its method: not counted among the key's writes.
        config: { readOnly: true },
        schema: {
          tags,
          summary: "Call one of the catalog's tools for AI assistants (Secoda's MCP endpoint)",
          description:
            'The endpoint the Secoda MCP servers call. The answer is an MCP tool result: Markdown text, or isError with a sentence saying what was wrong (an unknown tool, a bad argument, a resource you may not see).',
          body: ToolCallSchema,
          response: { 200: ToolAnswerSchema, ...CommonErrors },
        },
      },
      async (request) => {
        const body = request.body as { name: string; arguments?: unknown }
        return callTool(body.name, body.arguments, apiReader(store, app, request), (error) =>
          request.log.error({ err: error }, 'a tool failed'),
        )
      },
    )

    const sessions = new LRUCache<string, Session>({
      max: MAX_SESSIONS,
      ttl: SESSION_IDLE_MS,
      updateAgeOnGet: true,
      dispose: (session) => {
        for (const response of session.pending) abandon(response, 'The MCP session ended: initialize again.')
        void session.transport.close().catch(() => {})
      },
    })
    // Before the server waits for open requests: none is left waiting on a session.
    app.addHook('preClose', async () => {
      sessions.clear()
    })

    /** The session a request names, refused when it is unknown or another key's. */
    const sessionOf = (request: FastifyRequest): Session | undefined => {
      const id = request.headers['mcp-session-id']
      if (typeof id !== 'string') return undefined
      const session = sessions.get(id)
      if (session === undefined) {
        throw new ApiError(
          'NOT_FOUND',
          'No such MCP session (it ended, or expired after 30 minutes unused): initialize again.',
        )
      }
      if (session.keyId !== request.principal.keyId) {
        throw new ApiError('PERMISSION_DENIED', 'This MCP session belongs to another API key.')
      }
      return session
    }

    /**
     * The transport answers on the raw response. It never answers a call the client cancelled, so the handler
     * also ends when the connection closes, and a session that ends first answers what it still owes.
     */
    const handle = async (request: FastifyRequest, reply: FastifyReply, session: Session, owed = true) => {
      reply.hijack()
      const response = reply.raw
      // (The DELETE that ends the session is answered by the transport as it ends it.)
      if (owed) session.pending.add(response)
      try {
        await Promise.race([
          session.transport.handleRequest(request.raw, response, request.body),
          new Promise<void>((resolve) => response.once('close', resolve)),
        ])
      } finally {
        session.pending.delete(response)
      }
    }

    /** Makes room for a new session of `keyId`: its oldest goes when it has the most a key may keep. */
    const makeRoom = (keyId: string) => {
      // Least recently used first.
      const own = ([...sessions.rentries()] as [string, Session][]).filter(([, session]) => session.keyId === keyId)
      for (const [id] of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_KEY + 1))) sessions.delete(id)
    }

    const mcpSchema = {
      tags,
      summary: 'The Model Context Protocol, over Streamable HTTP',
      description:
        'docent as an MCP server (JSON-RPC 2.0): initialize, tools/list, tools/call. Sessions per the protocol (Mcp-Session-Id); answers are JSON, not event streams.',
    }
    app.post(
      '/mcp',
      { config: { readOnly: true }, schema: { ...mcpSchema, body: Type.Unknown() } },
      async (request, reply) => {
        let session = sessionOf(request)
        if (session === undefined) {
          // No session yet: this must be the initialize request, which opens one for the caller's key.
          const read = apiReader(store, app, request)
          const keyId = request.principal.keyId
          const pending = new Set<ServerResponse>()
          const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            enableJsonResponse: true,
            onsessioninitialized: (id) => {
              makeRoom(keyId)
              sessions.set(id, { transport, keyId, pending })
            },
            onsessionclosed: (id) => {
              sessions.delete(id)
            },
          })
          await mcpServer(read, (error) => request.log.error({ err: error }, 'a tool failed')).connect(transport)
          session = { transport, keyId, pending }
        }
        await handle(request, reply, session)
      },
    )
    app.delete('/mcp', { schema: mcpSchema }, async (request, reply) => {
      const session = sessionOf(request)
      if (session === undefined) throw new ApiError('NOT_FOUND', 'No MCP session named: send its id in Mcp-Session-Id.')
      await handle(request, reply, session, false)
    })
    app.get('/mcp', { schema: mcpSchema }, async (_request, reply) => {
      // No stream of messages from the server: it never sends one unasked (the protocol's answer for that is 405).
      return reply
        .code(405)
        .header('allow', 'POST, DELETE')
        .send({ detail: 'docent sends no messages unasked: POST requests to /mcp.', code: 'METHOD_NOT_ALLOWED' })
    })
  }
}
