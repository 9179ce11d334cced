import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { mcpServer } from './server.ts'
import { type ApiReader, jsonOf } from './tools.ts'

/** A failure the operator fixes (a wrong URL or key): said on stderr before the assistant is served. */
export class McpSetupError extends Error {}

/** GETs of a docent server's API with a bearer key. */
export function httpReader(base: string, key: string): ApiReader {
  return async (path) => {
    const response = await fetch(`${base}/api/v1${path}`, {
      headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
    })
    return { status: response.status, body: jsonOf(await response.text()) }
  }
}

/**
 * `docent mcp`: the tools over stdio (stdout carries the protocol only; messages go to stderr), reading from the
 * docent server at `base` with `key`. The URL and the key are tried once first, so a wrong one is said at once.
 */
export async function serveStdio(base: string, key: string, version: string): Promise<void> {
  const read = httpReader(base, key)
  let answer: { status: number; body: unknown }
  try {
    answer = await read('/resource/catalog?page_size=1')
  } catch (error) {
    throw new McpSetupError(`cannot reach docent at ${base}: ${(error as Error).message}; start it or give --url`)
  }
  if (answer.status === 401) throw new McpSetupError(`docent at ${base} refused the API key: it is unknown or revoked`)
  const list = answer.body as { count?: unknown; results?: unknown } | null
  if (answer.status !== 200 || typeof list?.count !== 'number' || !Array.isArray(list.results)) {
    throw new McpSetupError(`${base} answered ${answer.status} without a catalog list: is it a docent server?`)
  }
  const server = mcpServer(
    read,
    (error) => process.stderr.write(`docent mcp: a tool failed: ${String(error)}\n`),
    version,
  )
  await server.connect(new StdioServerTransport())
  process.stderr.write(`docent mcp: serving the catalog at ${base} over stdio\n`)
}
