import type { FastifyRequest } from 'fastify'
import type { Principal } from '../access/principal.ts'
import { requireAdmin, requireWrite } from '../access/rules.ts'

/**
 * A role check that is a route's precondition, declared on the route as its `preHandler` (after the body is
 * checked, before the handler): the rule itself lives in access/rules.ts.
 */
export function allow(rule: (principal: Principal) => void) {
  return async (request: FastifyRequest): Promise<void> => rule(request.principal)
}

/** Only admins: the route manages `what` (users, teams, integrations, …). */
export const adminsOnly = (what: string) => allow((principal) => requireAdmin(principal, what))

/** Only roles that may change the catalog (admins and editors). */
export const catalogWriters = allow(requireWrite)
