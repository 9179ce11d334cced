import type { Kysely, SelectQueryBuilder } from 'kysely'
import { LRUCache } from 'lru-cache'
import { engineOf, inIds } from '../db/dialect.ts'
import type { DB } from '../db/types.ts'
import { type Clauses, childClauses, classIdOf } from './classes.ts'

/**
 * Each resource stores its effective visibility, kept right by every write that changes it, in the same
 * transaction: `effective_published` (it and every ancestor are published) and `visibility_class` (its team set
 * and each ancestor's, see classes.ts). Reads then decide visibility from the row alone, at the cost of a check
 * on its own teams before.
 */
export interface Effective {
  visibility_class: string
  effective_published: boolean | number
}

/** What places a resource for its visibility. */
export interface Placed {
  id: string
  parent_id: string | null
  published: boolean | number
  teams: readonly string[]
}

/** The class of a resource without a team (and of a row not yet given one): it has no rows, so no user sees it. */
const NOBODY = classIdOf([[]])

/** Clauses by class id: an id is derived from its clauses, so an entry can never go stale. */
const clausesById = new LRUCache<string, Clauses>({ max: 10_000 })
clausesById.set(NOBODY, [[]])

async function loadClauses(db: Kysely<DB>, classIds: Iterable<string>): Promise<void> {
  const missing = [...new Set(classIds)].filter((id) => id !== '' && !clausesById.has(id))
  if (missing.length === 0) return
  const rows = await db
    .selectFrom('visibility_classes')
    .select(['class_id', 'clause', 'team_id'])
    .where((eb) => inIds(db, eb.ref('class_id'), missing))
    .execute()
  const byClass = new Map<string, string[][]>()
  for (const row of rows) {
    const clauses = byClass.get(row.class_id) ?? []
    clauses[row.clause] = [...(clauses[row.clause] ?? []), row.team_id]
    byClass.set(row.class_id, clauses)
  }
  for (const [id, clauses] of byClass) clausesById.set(id, clauses)
}

/** A stored class's clauses; one with no rows (unknown, or unset: '') admits nobody. */
function clausesOf(classId: string): Clauses {
  return clausesById.get(classId) ?? [[]]
}

/**
 * The effective visibility of `items` from their own teams and flags and their parents': those among `items`, or
 * else in `outside`. Also returns the classes it computed, which the caller must store.
 */
function compute(items: readonly Placed[], outside: ReadonlyMap<string, Effective>) {
  const byId = new Map(items.map((item) => [item.id, item]))
  const effective = new Map<string, Effective>()
  const classes = new Map<string, Clauses>()
  const memo = new Map<string, string>()
  const settle = (item: Placed) => {
    const parent = item.parent_id === null ? undefined : (effective.get(item.parent_id) ?? outside.get(item.parent_id))
    if (item.parent_id !== null && parent === undefined) {
      throw new Error(`the visibility of ${item.id} needs its parent ${item.parent_id}, which was not read`)
    }
    const teams = [...item.teams].sort()
    const key = `${parent === undefined ? '^' : parent.visibility_class}|${teams.join(',')}`
    let classId = memo.get(key)
    if (classId === undefined) {
      const clauses = childClauses(parent === undefined ? [] : clausesOf(parent.visibility_class), teams)
      classId = classIdOf(clauses)
      clausesById.set(classId, clauses)
      classes.set(classId, clauses)
      memo.set(key, classId)
    }
    const published = Boolean(item.published) && (parent === undefined || Boolean(parent.effective_published))
    effective.set(item.id, { visibility_class: classId, effective_published: published })
  }
  for (const item of items) {
    // Parents first, whatever the order of `items`: walk up to the first settled ancestor, then settle down.
    const chain: Placed[] = []
    for (let at: Placed | undefined = item; at !== undefined && !effective.has(at.id); ) {
      chain.push(at)
      if (chain.length > byId.size) throw new Error(`resource ${item.id} is its own ancestor`)
      at = at.parent_id === null ? undefined : byId.get(at.parent_id)
    }
    for (let i = chain.length - 1; i >= 0; i--) settle(chain[i] as Placed)
  }
  return { effective, classes }
}

/** Stores the rows of classes (an insert of rows already there does nothing). */
async function storeClasses(db: Kysely<DB>, classes: Map<string, Clauses>, known: ReadonlySet<string>) {
  const rows: { class_id: string; clause: number; team_id: string; clauses: number }[] = []
  for (const [classId, clauses] of classes) {
    if (known.has(classId) || classId === NOBODY) continue
    clauses.forEach((clause, index) => {
      for (const teamId of clause) {
        rows.push({ class_id: classId, clause: index, team_id: teamId, clauses: clauses.length })
      }
    })
  }
  for (let start = 0; start < rows.length; start += 500) {
    await db
      .insertInto('visibility_classes')
      .values(rows.slice(start, start + 500))
      .onConflict((oc) => oc.doNothing())
      .execute()
  }
}

type EffectiveRow = Effective & { id: string }

/** Stored visibility of resources, read in `lock` mode on PostgreSQL. */
async function readEffective(db: Kysely<DB>, ids: string[], lock: 'share' | 'none') {
  const found = new Map<string, Effective>()
  if (ids.length === 0) return found
  let query = db
    .selectFrom('resources')
    .select(['id', 'visibility_class', 'effective_published'])
    .where((eb) => inIds(db, eb.ref('id'), ids))
  // A new child reads its parent's visibility under a share lock: a write changing that visibility (which
  // updates the parent) then either waits for the child's commit and sees it, or commits first and is seen.
  if (lock === 'share' && engineOf(db) === 'postgres') query = query.forShare()
  for (const row of (await query.execute()) as EffectiveRow[]) found.set(row.id, row)
  await loadClauses(
    db,
    [...found.values()].map((e) => e.visibility_class),
  )
  return found
}

/**
 * The effective visibility of new resources, which the caller writes with them. Parents not among `items` are
 * taken from `parents` (rows the caller read, on PostgreSQL under a share lock) or read from the store.
 */
export async function effectiveOfNew(
  db: Kysely<DB>,
  items: readonly Placed[],
  parents: ReadonlyMap<string, Effective> = new Map(),
): Promise<Map<string, Effective>> {
  const inBatch = new Set(items.map((item) => item.id))
  const unread = new Set<string>()
  for (const { parent_id } of items) {
    if (parent_id !== null && !inBatch.has(parent_id) && !parents.has(parent_id)) unread.add(parent_id)
  }
  const outside = new Map([...parents, ...(await readEffective(db, [...unread], 'share'))])
  await loadClauses(
    db,
    [...parents.values()].map((e) => e.visibility_class),
  )
  const { effective, classes } = compute(items, outside)
  await storeClasses(db, classes, new Set([...outside.values()].map((e) => e.visibility_class)))
  return effective
}

type StoredRow = EffectiveRow & { parent_id: string | null; published: boolean | number }

/** Rows with their teams, for `compute`, and their stored visibility to compare with. */
async function withTeams(db: Kysely<DB>, rows: StoredRow[]): Promise<(Placed & Effective)[]> {
  const teams = new Map(rows.map((row) => [row.id, [] as string[]]))
  const ids = rows.map((row) => row.id)
  for (let start = 0; start < ids.length; start += 10_000) {
    const chunk = ids.slice(start, start + 10_000)
    const found = await db
      .selectFrom('resource_teams')
      .select(['resource_id', 'target_id'])
      .where((eb) => inIds(db, eb.ref('resource_id'), chunk))
      .execute()
    for (const { resource_id, target_id } of found) teams.get(resource_id)?.push(target_id)
  }
  return rows.map((row) => ({ ...row, teams: teams.get(row.id) ?? [] }))
}

/** Recomputes the visibility of `rows` (a set closed under "my parent changed too") and writes what changed. */
async function recompute(db: Kysely<DB>, rows: StoredRow[]): Promise<void> {
  if (rows.length === 0) return
  const items = await withTeams(db, rows)
  const inSet = new Set(rows.map((row) => row.id))
  const parentIds = [...new Set(rows.map((row) => row.parent_id))].filter(
    (id): id is string => id !== null && !inSet.has(id),
  )
  const outside = await readEffective(db, parentIds, 'none')
  const { effective, classes } = compute(items, outside)
  await storeClasses(db, classes, new Set())
  const changed = new Map<string, string[]>()
  for (const item of items) {
    const next = effective.get(item.id) as Effective
    if (
      next.visibility_class === item.visibility_class &&
      Boolean(next.effective_published) === Boolean(item.effective_published)
    ) {
      continue
    }
    const key = `${next.effective_published ? 1 : 0}${next.visibility_class}`
    changed.set(key, [...(changed.get(key) ?? []), item.id])
  }
  for (const [key, ids] of changed) {
    await db
      .updateTable('resources')
      .set({ effective_published: key.startsWith('1'), visibility_class: key.slice(1) })
      .where((eb) => inIds(db, eb.ref('id'), ids))
      .execute()
  }
}

const STORED = ['resources.id', 'parent_id', 'published', 'visibility_class', 'effective_published'] as const

/** The rows of the subtrees under `rootIds` (themselves included), through one recursive statement. */
function subtreesOf(db: Kysely<DB>, rootIds: string[]) {
  return db
    .withRecursive('subtree(id)', (qb) =>
      qb
        .selectFrom('resources')
        .select('id')
        .where((eb) => inIds(db, eb.ref('id'), rootIds))
        .unionAll((u) =>
          u.selectFrom('resources as child').innerJoin('subtree', 'subtree.id', 'child.parent_id').select('child.id'),
        ),
    )
    .selectFrom('resources')
    .where('resources.id', 'in', (eb) => eb.selectFrom('subtree').select('subtree.id'))
}

/**
 * On PostgreSQL, locks every row of `query` and repeats until no new row appears: a resource created meanwhile
 * under a locked row waited for the lock, and the next statement's snapshot sees it. Then nothing can be created
 * under the set until the transaction ends. SQLite has one writer at a time and needs none of this.
 */
async function lockAll<O>(db: Kysely<DB>, query: SelectQueryBuilder<DB, 'resources', O>): Promise<void> {
  if (engineOf(db) !== 'postgres') return
  let seen = -1
  for (;;) {
    const rows = await query.select('resources.id').forUpdate().execute()
    if (rows.length === seen) return
    seen = rows.length
  }
}

/** After a change to `published` or `teams` of `rootIds`, recomputes their visibility and their descendants'. */
export async function refreshSubtrees(db: Kysely<DB>, rootIds: string[]): Promise<void> {
  if (rootIds.length === 0) return
  await lockAll(db, subtreesOf(db, rootIds))
  const rows = (await subtreesOf(db, rootIds).select(STORED).execute()) as StoredRow[]
  await recompute(db, [...new Map(rows.map((row) => [row.id, row])).values()])
}

/**
 * After a team is deleted (the resources whose only team it was have another by then), recomputes every resource
 * whose class names it, and drops those classes: a class is a fixed set of teams, and this one names a team that
 * no longer exists.
 */
export async function refreshAfterTeamDeleted(db: Kysely<DB>, teamId: string): Promise<void> {
  const naming = db.selectFrom('visibility_classes').select('class_id').where('team_id', '=', teamId)
  const affected = db.selectFrom('resources').where('resources.visibility_class', 'in', naming)
  await lockAll(db, affected)
  const rows = (await affected.select(STORED).execute()) as StoredRow[]
  await recompute(db, rows)
  await db.deleteFrom('visibility_classes').where('class_id', 'in', naming).execute()
}
