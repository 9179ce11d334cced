import { type Expression, expressionBuilder, type SqlBool, sql } from 'kysely'
import type { DB } from '../db/types.ts'
import { isAdmin, type Principal, seesDrafts } from './principal.ts'

/** What a role may see of a workspace's catalog: all of it, its teams' resources, or their published ones. */
export type Visibility = 'all' | 'teams' | 'published-in-teams'

export function visibilityOf(principal: Pick<Principal, 'role'>): Visibility {
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

/** The role of the statement's key owner, for a query that reads the caller from an API key (row `k`). */
type FromKey = 'from-key'

/**
 * The resources a caller may see (CONTRACT §7), or undefined for "all of the workspace" (admins). Others see
 * resources whose every ancestor, and themselves, belong to one of their teams; viewers and guests only those
 * that are published with all their ancestors. `userId` is a value, a prepared query's slot, or (`from-key`) the
 * user of the API key row `k` that the same statement looks up, whose role then decides in SQL.
 */
function visibleRowsFor(
  visibility: Visibility | FromKey,
  userId: string | Expression<string>,
  mode: CheckMode,
): VisibleRows | undefined {
  if (visibility === 'all') {
    return undefined
  }
  return (table, visibleParent) => {
    const member = sql<SqlBool>`${sql.ref(`${table}.visibility_class`)} in (${visibleClasses(userId, mode, table)})`
    if (visibility === 'from-key') {
      const role = sql.ref('k.role')
      const inMyTeams = sameClassOr(table, visibleParent, member)
      return sql<SqlBool>`(${role} = 'admin' or (${inMyTeams} and (${role} = 'editor' or ${publishedAll(table)})))`
    }
    const inMyTeams = sameClassOr(table, visibleParent, sql<SqlBool>`(${member}) is true`)
    return visibility === 'teams' ? inMyTeams : sql<SqlBool>`${publishedAll(table)} and ${inMyTeams}`
  }
}

function publishedAll(table: string) {
  return sql<SqlBool>`${sql.ref(`${table}.effective_published`)} = ${true}`
}

/** `visibleRowsFor` with the visibility a role has; `userId` a value or a prepared query's slot. */
export function visibleTo(visibility: Visibility, userId: string, mode: CheckMode = 'set'): VisibleRows | undefined {
  return visibleRowsFor(visibility, userId, mode)
}

export function visibleResources(principal: Principal, mode: CheckMode = 'set'): VisibleRows | undefined {
  return visibleTo(visibilityOf(principal), principal.userId, mode)
}

/** The same rule, for a statement that reads the caller from its API key (the row `k`: `k.userId`, `k.role`). */
export function visibleToKeyOwner(table: string, visibleParent?: string): Expression<SqlBool> {
  return (visibleRowsFor('from-key', sql.ref<string>('k.userId'), 'row') as VisibleRows)(table, visibleParent)
}

/** What a query may see: one workspace, and within it what the caller may see (undefined: all of it). */
export interface Scope {
  workspaceId: string
  visible?: VisibleRows | undefined
}

/** The scope of a principal; `row` for a statement that reads one resource. */
export function scopeOf(principal: Principal, mode: CheckMode = 'set'): Scope {
  return { workspaceId: principal.workspaceId, visible: visibleResources(principal, mode) }
}

/** A key for caches of what a caller sees: all admins of a workspace see the same; others are their own. */
export function visibilityScope(principal: Principal): string {
  return isAdmin(principal) ? 'admin' : `${principal.role}:${principal.userId}`
}
