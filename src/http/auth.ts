import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkKey } from '../access/keys.ts'
import type { Principal } from '../access/principal.ts'
import type { Store } from '../db/types.ts'
import { ApiError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
    /** The API key as sent, on routes whose handler checks it itself (`keyCheckedByHandler`). */
    apiKey: string
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
  }
}

const BEARER = /^Bearer +([\x21-\x7e]{1,512}) *$/i

function isPublic(request: FastifyRequest): boolean {
  const route = request.routeOptions
  // No route (404) or the API docs pages: nothing to protect.
  return route.url === undefined || route.config.public === true || route.url.startsWith('/docs')
}

/** Bearer-key authentication for every route but the public ones (CONTRACT §1). */
export function installAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest('principal', null as unknown as Principal)
  app.decorateRequest('apiKey', '')
  app.decorateRequest('dataVersion', undefined)
  app.addHook('onRequest', async (request) => {
    if (isPublic(request)) {
      return
    }
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      throw new ApiError('NOT_AUTHENTICATED', 'Authentication credentials were not provided.')
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
