import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ApiError } from '../errors.ts'
import { ErrorSchema } from './schemas.ts'

/**
 * No lost updates (issue 16): a resource's GET (and a PATCH's answer) carries an `ETag`, a strong tag made from the
 * bytes of the answer, and `PATCH`/`DELETE` of one resource honour `If-Match` (RFC 9110 §13.1.1): when the resource
 * as the caller would read it now has another tag, nothing is written and the answer is 412. `If-None-Match` on a
 * GET answers 304 when the tag is the same. The tag of the answer is its bytes' hash, so whatever changes what a
 * client reads (a list, a cascade, a custom property's value) changes the tag, with nothing to keep in step.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers one resource: its 200 answers carry an ETag. */
    resourceEtag?: boolean
  }
}

/** What a GET of one resource may answer besides 200 (for the OpenAPI document). */
export const NotModified = {
  304: Type.Null({ description: 'If-None-Match named the current ETag: no body' }),
}
/** What a PATCH or DELETE of one resource may answer besides its success. */
export const PreconditionFailed = { 412: ErrorSchema }

/** The strong entity tag of an answer's bytes. */
export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`
}

/** The entity tags of an `If-Match` / `If-None-Match` header: `*`, or the tags it lists (weak ones marked). */
function tagsOf(header: string): '*' | string[] {
  if (header.trim() === '*') return '*'
  return header
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '')
}

/**
 * The precondition of a request's `If-Match`, to check against the resource as it is inside the write's
 * transaction (`serialize` gives the bytes a GET would answer); undefined when the request sent none. A weak tag
 * never matches (RFC 9110: If-Match compares strongly).
 */
export function ifMatchOf(request: FastifyRequest): ((body: string) => void) | undefined {
  const header = request.headers['if-match']
  if (header === undefined) return undefined
  const tags = tagsOf(Array.isArray(header) ? header.join(',') : header)
  return (body) => {
    if (tags === '*' || tags.includes(etagOf(body))) return
    throw new ApiError(
      'PRECONDITION_FAILED',
      'The resource changed since you read it (its ETag is no longer the one sent in If-Match): nothing was written. Read it again, and apply your change to what it holds now.',
    )
  }
}

/** ETags on the answers of the routes marked `resourceEtag`, and 304 for a GET whose If-None-Match matches. */
export function installEtags(app: FastifyInstance): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (request.routeOptions.config.resourceEtag !== true || reply.statusCode !== 200) return payload
    if (typeof payload !== 'string') return payload
    const tag = etagOf(payload)
    reply.header('etag', tag)
    const none = request.headers['if-none-match']
    if ((request.method === 'GET' || request.method === 'HEAD') && none !== undefined) {
      const tags = tagsOf(Array.isArray(none) ? none.join(',') : none)
      // If-None-Match compares weakly: W/"x" matches "x".
      if (tags === '*' || tags.some((t) => t.replace(/^W\//, '') === tag)) {
        reply.code(304)
        reply.removeHeader('content-type')
        return ''
      }
    }
    return payload
  })
}

/**
 * A write route's `If-Match` precondition on one resource: `schema` is the route's GET answer schema, so the bytes
 * compared are those a GET would have answered. Undefined when the request sent no If-Match.
 */
export function preconditionOf(
  request: FastifyRequest,
  reply: FastifyReply,
  schema: object,
): ((current: unknown) => void) | undefined {
  const check = ifMatchOf(request)
  if (check === undefined) return undefined
  const serialize = reply.compileSerializationSchema(schema as Record<string, unknown>)
  return (current) => check(serialize(current as Record<string, unknown>))
}
