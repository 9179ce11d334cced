import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely'
import type { DB } from '../db/types.ts'
import type { Principal } from '../directory/keys.ts'

export type ResourceCondition = (eb: ExpressionBuilder<DB, 'resources'>) => Expression<SqlBool>

export function isAdmin(principal: Principal): boolean {
  return principal.role === 'admin'
}

/** Viewers and guests see only published resources; admins and editors see drafts too. */
export function seesDrafts(principal: Principal): boolean {
  return principal.role === 'admin' || principal.role === 'editor'
}

/** What a role may see of a workspace's catalog: all of it, its teams' resources, or their published ones. */
export type Visibility = 'all' | 'teams' | 'published-in-teams'

export function visibilityOf(principal: Principal): Visibility {
  if (isAdmin(principal)) return 'all'
  return seesDrafts(principal) ? 'teams' : 'published-in-teams'
}

/**
 * The resources a caller may see (CONTRACT §7), as a SQL condition, or undefined for "all of the workspace"
 * (admins). Others see resources that belong to one of their teams; viewers and guests only published ones.
 */
export function visibleResources(principal: Principal): ResourceCondition | undefined {
  return visibleTo(visibilityOf(principal), principal.userId)
}

/** The condition of `visibility` for the user `userId` (a value, or a prepared query's slot). */
export function visibleTo(visibility: Visibility, userId: string): ResourceCondition | undefined {
  if (visibility === 'all') {
    return undefined
  }
  return (eb) => {
    const inMyTeams = eb.exists(
      eb
        .selectFrom('resource_teams')
        .innerJoin('team_members', 'team_members.team_id', 'resource_teams.target_id')
        .select(sql.lit(1).as('one'))
        .whereRef('resource_teams.resource_id', '=', 'resources.id')
        .where('team_members.user_id', '=', userId),
    )
    return visibility === 'teams' ? inMyTeams : eb.and([eb('resources.published', '=', true), inMyTeams])
  }
}

/**
 * The same rule as `visibleTo`, for a query that learns the caller from an API key in the same statement: the
 * key's owner is the row `k` (`k.userId`, `k.role`) rather than known values.
 */
export function visibleToKeyOwner(eb: ExpressionBuilder<DB & { k: KeyOwner }, 'resources' | 'k'>): Expression<SqlBool> {
  return eb.or([
    eb('k.role', '=', 'admin'),
    eb.and([
      eb.exists(
        eb
          .selectFrom('resource_teams')
          .innerJoin('team_members', 'team_members.team_id', 'resource_teams.target_id')
          .select(sql.lit(1).as('one'))
          .whereRef('resource_teams.resource_id', '=', 'resources.id')
          .whereRef('team_members.user_id', '=', 'k.userId'),
      ),
      eb.or([eb('k.role', '=', 'editor'), eb('resources.published', '=', true)]),
    ]),
  ])
}

/** The owner of an API key, as the key lookup reads it. */
export interface KeyOwner {
  keyId: string
  lastUsedAt: string | Date | null
  userId: string
  workspaceId: string
  role: string
}

/** A key for caches of what a caller sees: all admins of a workspace see the same; others are their own. */
export function visibilityScope(principal: Principal): string {
  return isAdmin(principal) ? 'admin' : `${principal.role}:${principal.userId}`
}
