import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Store } from '../db/types.ts'
import { findPrincipalByKey, type Principal } from '../directory/keys.ts'
import { ApiError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
  }
  interface FastifyContextConfig {
    /** The route answers without an API key. */
    public?: boolean
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
  app.addHook('onRequest', async (request) => {
    if (isPublic(request)) {
      return
    }
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      throw new ApiError('NOT_AUTHENTICATED', 'Authentication credentials were not provided.')
    }
    const key = BEARER.exec(header)?.[1]
    const principal = key === undefined ? undefined : await findPrincipalByKey(store.db, key)
    if (principal === undefined) {
      throw new ApiError('AUTHENTICATION_FAILED', 'Invalid token.')
    }
    request.principal = principal
  })
}
