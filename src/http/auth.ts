import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkKey } from '../access/keys.ts'
import type { Principal } from '../access/principal.ts'
import { findSession, isCsrfTokenOf, SESSION_COOKIE } from '../access/sessions.ts'
import type { Store } from '../db/types.ts'
import { ApiError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
    /**
     * The API key as sent, on routes whose handler checks it itself (`keyCheckedByHandler`); empty when the
     * request is signed in by a session cookie, whose principal is then set already.
     */
    apiKey: string
    /** The session cookie's token, when the request is signed in by one (src/access/sessions.ts). */
    sessionToken: string | undefined
    /**
     * The store's data version, read after the request arrived, with the key check (`readVersions`): what the
     * request reads afterwards is at least that new, so it may label it with this version.
     */
    dataVersion: number | undefined
  }
  interface FastifyContextConfig {
    /** The route answers without an API key. */
    public?: boolean
    /**
     * The handler checks the key itself, in the statement that reads what it answers, and sets `principal`;
     * the hook only refuses a missing or malformed Authorization header.
     */
    keyCheckedByHandler?: boolean
    /** A POST that only reads (a tool call): not counted among the key's writes. */
    readOnly?: boolean
  }
}

const BEARER = /^Bearer +([\x21-\x7e]{1,512}) *$/i

function isPublic(request: FastifyRequest): boolean {
  const route = request.routeOptions
  // No route (404), the API docs pages or the web catalog's page and assets (src/http/ui.ts): nothing to protect.
  return (
    route.url === undefined ||
    route.config.public === true ||
    route.url.startsWith('/docs') ||
    route.url === '/' ||
    route.url === '/ui' ||
    route.url.startsWith('/ui/')
  )
}

/** Methods that change nothing: a session cookie alone signs them in. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Bearer-key authentication for every route but the public ones (CONTRACT §1); without an Authorization header, the
 * web catalog's session cookie, with its CSRF token on writes (src/access/sessions.ts). A bearer key always wins.
 */
export function installAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest('principal', null as unknown as Principal)
  app.decorateRequest('apiKey', '')
  app.decorateRequest('sessionToken', undefined)
  app.decorateRequest('dataVersion', undefined)
  app.addHook('onRequest', async (request, reply) => {
    if (isPublic(request)) {
      return
    }
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      const token = request.cookies?.[SESSION_COOKIE]
      if (token === undefined || token === '') {
        throw new ApiError('NOT_AUTHENTICATED', 'Authentication credentials were not provided.')
      }
      request.principal = await sessionPrincipal(store, request, token)
      request.sessionToken = token
      // What a session reads is one person's: no shared cache keeps it.
      reply.header('cache-control', 'private, no-store')
      return
    }
    const key = BEARER.exec(header)?.[1]
    if (key === undefined) {
      throw invalidToken()
    }
    if (request.routeOptions.config.keyCheckedByHandler === true) {
      request.apiKey = key
      return
    }
    const { principal, versions } = await checkKey(store.db, key)
    if (principal === undefined) {
      throw invalidToken()
    }
    request.principal = principal
    request.dataVersion = versions.data
  })
}

/** The principal of a session cookie; a write must carry the session's CSRF token from a page of this origin. */
async function sessionPrincipal(store: Store, request: FastifyRequest, token: string): Promise<Principal> {
  const session = await findSession(store.db, token)
  if (session === undefined) {
    throw new ApiError(
      'AUTHENTICATION_FAILED',
      'Your session has ended (signed out, expired, or its API key was revoked): sign in again.',
    )
  }
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers['x-csrf-token']
    // The token is the defence; a browser's own word that another site sent the request refuses it too (a proxy
    // in front of docent may rewrite Host and scheme, so Origin is not compared with them).
    const site = request.headers['sec-fetch-site']
    const foreign = site === 'cross-site' || site === 'same-site'
    if (!isCsrfTokenOf(token, typeof sent === 'string' ? sent : undefined) || foreign) {
      throw new ApiError(
        'PERMISSION_DENIED',
        'A write signed in by the session cookie must come from the catalog itself, with the X-CSRF-Token header that POST or GET /api/v1/auth/session answers.',
      )
    }
  }
  return session.principal
}

export function invalidToken(): ApiError {
  return new ApiError('AUTHENTICATION_FAILED', 'Invalid token.')
}

/** The principal of a working key; 401 for an unknown or revoked one. */
export async function authenticate(store: Store, key: string): Promise<Principal> {
  const { principal } = await checkKey(store.db, key)
  if (principal === undefined) {
    throw invalidToken()
  }
  return principal
}
