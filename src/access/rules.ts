import { ApiError } from '../errors.ts'
import { isAdmin, type Principal, permissionsFor } from './principal.ts'

/**
 * What a role may do, each rule once (CONTRACT §7). A rule that is a route's precondition is declared on the
 * route with `allow` (http/guards.ts); the others run where the answer depends on what the request names.
 */

/** Users, groups, teams, tags and integrations are managed by admins only. */
export function requireAdmin(principal: Pick<Principal, 'role'>, what: string): void {
  if (!isAdmin(principal)) {
    throw new ApiError('PERMISSION_DENIED', `Only an admin may manage ${what}.`)
  }
}

/** Admins and editors change the catalog; viewers and guests only read it. */
export function requireWrite(principal: Pick<Principal, 'role'>): void {
  if (!permissionsFor(principal).write) {
    throw new ApiError('PERMISSION_DENIED', 'Your role may read the catalog but not change it.')
  }
}

/** Viewers and guests make no keys; editors make keys for themselves; admins for any user of the workspace. */
export function requireKeyCreation(principal: Principal, forUserId: string): void {
  if (principal.role === 'viewer' || principal.role === 'guest') {
    throw new ApiError('PERMISSION_DENIED', 'Viewers and guests cannot create API keys.')
  }
  if (!isAdmin(principal) && forUserId !== principal.userId) {
    throw new ApiError('PERMISSION_DENIED', 'Only an admin may create API keys for other users.')
  }
}

/** The keys a caller sees and revokes: every key of the workspace for an admin, else only its own. */
export function keyScope(principal: Principal): { workspaceId: string; userId?: string | undefined } {
  return { workspaceId: principal.workspaceId, userId: isAdmin(principal) ? undefined : principal.userId }
}

/** The integrations a caller sees: every one of the workspace for an admin, else those of its teams. */
export function integrationScope(principal: Principal): { workspaceId: string; memberId?: string | undefined } {
  return { workspaceId: principal.workspaceId, memberId: isAdmin(principal) ? undefined : principal.userId }
}
