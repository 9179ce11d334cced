import { type Expression, expressionBuilder, type SqlBool, sql } from 'kysely'
import type { DB } from '../db/types.ts'
import type { Principal } from '../directory/keys.ts'

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
 * "The row of `table` is visible", for one kind of reader: a condition on the stored effective visibility of a
 * resource (see effective.ts), so that a resource is visible only when its ancestors are too (CONTRACT §7).
 * `table` is the name or alias the query gives `resources`. `visibleParent`, when given, names a row already
 * known visible to the reader (a child's parent): a row of the same class needs no check of its class.
 */
export type VisibleRows = (table: string, visibleParent?: string) => Expression<SqlBool>

/** The class of `table` is that of `visibleParent`, or `check` holds. */
function sameClassOr(table: string, visibleParent: string | undefined, check: Expression<SqlBool>) {
  if (visibleParent === undefined) return check
  const own = sql.ref(`${table}.visibility_class`)
  return sql<SqlBool>`(${own} = ${sql.ref(`${visibleParent}.visibility_class`)} or ${check})`
}

/**
 * How a visibility check runs: `set` computes once per statement every class the user may see, then probes it
 * for each row, which suits lists; `row` checks the row's own class alone, which suits a read of one resource.
 * `set` is wrapped in `is true` so that PostgreSQL keeps it a hashed sub-plan rather than a join (which re-ran
 * the aggregate for every row).
 */
export type CheckMode = 'set' | 'row'

/**
 * The visibility classes whose resources `user` may see: those where every clause names one of its teams. With
 * `mode` `row`, only the class of the row of `table`.
 */
function visibleClasses(user: string | Expression<string>, mode: CheckMode, table: string) {
  const eb = expressionBuilder<DB, never>()
  const classes = eb
    .selectFrom('visibility_classes as vc')
    .innerJoin('team_members as tm', 'tm.team_id', 'vc.team_id')
    .select('vc.class_id')
    .where('tm.user_id', '=', user)
  return (mode === 'row' ? classes.where('vc.class_id', '=', sql.ref<string>(`${table}.visibility_class`)) : classes)
    .groupBy('vc.class_id')
    .having((h) => h(h.fn.count('vc.clause').distinct(), '=', h.fn.max('vc.clauses')))
}

/**
 * The resources a caller may see (CONTRACT §7), or undefined for "all of the workspace" (admins). Others see
 * resources whose every ancestor, and themselves, belong to one of their teams; viewers and guests only those
 * that are published with all their ancestors. `userId` is a value or a prepared query's slot.
 */
export function visibleTo(visibility: Visibility, userId: string, mode: CheckMode = 'set'): VisibleRows | undefined {
  if (visibility === 'all') {
    return undefined
  }
  return (table, visibleParent) => {
    const classes = visibleClasses(userId, mode, table)
    const inMyTeams = sameClassOr(
      table,
      visibleParent,
      sql<SqlBool>`(${sql.ref(`${table}.visibility_class`)} in (${classes})) is true`,
    )
    return visibility === 'teams' ? inMyTeams : sql<SqlBool>`${publishedAll(table)} and ${inMyTeams}`
  }
}

function publishedAll(table: string) {
  return sql<SqlBool>`${sql.ref(`${table}.effective_published`)} = ${true}`
}

export function visibleResources(principal: Principal, mode: CheckMode = 'set'): VisibleRows | undefined {
  return visibleTo(visibilityOf(principal), principal.userId, mode)
}

/**
 * The same rule as `visibleTo`, for a query that learns the caller from an API key in the same statement: the
 * key's owner is the row `k` (`k.userId`, `k.role`) rather than known values.
 */
export function visibleToKeyOwner(table: string, visibleParent?: string): Expression<SqlBool> {
  const role = sql.ref('k.role')
  const classes = visibleClasses(sql.ref('k.userId'), 'row', table)
  const inMyTeams = sameClassOr(
    table,
    visibleParent,
    sql<SqlBool>`${sql.ref(`${table}.visibility_class`)} in (${classes})`,
  )
  return sql<SqlBool>`(${role} = 'admin' or (${inMyTeams} and (${role} = 'editor' or ${publishedAll(table)})))`
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
