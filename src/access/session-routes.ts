import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { ApiError } from '../errors.ts'
import { invalidToken } from '../http/auth.ts'
import { CommonErrors } from '../http/schemas.ts'
import { checkKey } from './keys.ts'
import type { Principal } from './principal.ts'
import {
  closeSession,
  csrfTokenOf,
  findSession,
  findSessionUser,
  openSession,
  SESSION_COOKIE,
  SESSION_HOURS,
} from './sessions.ts'

const tags = ['sessions']

/** The cookie is sent to the API only: the web catalog's pages and assets never need it. */
const COOKIE_PATH = '/api/v1'

const SessionSchema = Type.Object({
  user: Type.Object({
    id: Type.String(),
    email: Type.String(),
    first_name: Type.String(),
    last_name: Type.String(),
    role: Type.String(),
  }),
  csrf_token: Type.String({ description: 'send as X-CSRF-Token on every write signed in by the cookie' }),
  expires_at: Type.String(),
})

async function sessionAnswer(store: Store, principal: Principal, token: string, expiresAt: string) {
  const user = await findSessionUser(store.db, principal.userId)
  if (user === undefined) throw invalidToken()
  return { user, csrf_token: csrfTokenOf(token), expires_at: expiresAt }
}

function clearCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
  })
}

/**
 * The web catalog's sign-in (issue 16): `POST /auth/session {"api_key"}` opens a session and sets its cookie
 * (HttpOnly, SameSite=Strict, Secure over HTTPS, sent to /api/v1 only); `GET` says who is signed in, with the CSRF
 * token a page needs for writes; `DELETE` signs out. Keys never reach the browser's storage.
 */
export function sessionRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/auth/session',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Sign in with an API key: opens a session and sets its HttpOnly cookie (for the web catalog)',
          security: [],
          body: Type.Object({ api_key: Type.String({ minLength: 1, maxLength: 512 }) }),
          response: { 201: SessionSchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal } = await checkKey(store.db, request.body.api_key.trim())
        if (principal === undefined) {
          throw new ApiError('AUTHENTICATION_FAILED', 'This API key is unknown or revoked: check it and try again.')
        }
        // Signing in again from the same browser ends the session it had.
        const previous = request.cookies?.[SESSION_COOKIE]
        if (previous !== undefined && previous !== '') await closeSession(store.db, previous)
        const { token, expiresAt } = await openSession(store.db, principal)
        reply.setCookie(SESSION_COOKIE, token, {
          path: COOKIE_PATH,
          httpOnly: true,
          sameSite: 'strict',
          secure: request.protocol === 'https',
          maxAge: SESSION_HOURS * 3600,
        })
        return reply.code(201).send(await sessionAnswer(store, principal, token, expiresAt))
      },
    )

    app.get(
      '/auth/session',
      {
        schema: {
          tags,
          summary: 'Who the session cookie signs in, and its CSRF token',
          response: { 200: SessionSchema, ...CommonErrors },
        },
      },
      async (request) => {
        const token = request.sessionToken
        const session = token === undefined ? undefined : await findSession(store.db, token)
        if (token === undefined || session === undefined) {
          throw new ApiError('NOT_FOUND', 'This request is not signed in by a session cookie (it sent a bearer key).')
        }
        return sessionAnswer(store, session.principal, token, session.expiresAt)
      },
    )

    app.delete(
      '/auth/session',
      {
        schema: {
          tags,
          summary: 'Sign out: ends the session and clears its cookie',
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        const token = request.sessionToken
        if (token === undefined) {
          throw new ApiError('NOT_FOUND', 'This request is not signed in by a session cookie (it sent a bearer key).')
        }
        await closeSession(store.db, token)
        clearCookie(request, reply)
        return reply.code(204).send(null)
      },
    )
  }
}
