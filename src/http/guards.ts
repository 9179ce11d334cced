import type { FastifyInstance } from 'fastify'
import type { Principal } from '../access/principal.ts'
import { requireAdmin, requireWrite } from '../access/rules.ts'

/** A role rule a route declares as its precondition (`config: { allow }`); it throws when the caller may not. */
export type Allow = (principal: Principal) => void

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route at all, checked after the body and the write rate limit, before the handler. */
    allow?: Allow
  }
}

/**
 * Runs each route's declared `allow` as the last of its preHandlers: after the body is checked and after the write
 * rate limit (a refused request still counts against the key, and a key over its limit is told so first), before
 * the handler. The rules themselves live in access/rules.ts. Install after the rate limit, before the routes.
 */
export function installGuards(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const allow = route.config?.allow
    if (allow === undefined) return
    const guard = async (request: { principal: Principal }) => allow(request.principal)
    route.preHandler = route.preHandler === undefined ? [guard] : [...[route.preHandler].flat(), guard]
  })
}

/** Only admins: the route manages `what` (users, teams, integrations, …). */
export const adminsOnly =
  (what: string): Allow =>
  (principal) =>
    requireAdmin(principal, what)

/** Only roles that may change the catalog (admins and editors). */
export const catalogWriters: Allow = requireWrite
