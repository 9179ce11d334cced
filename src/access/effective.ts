import { type Kysely, sql } from 'kysely'
import { LRUCache } from 'lru-cache'
import { engineOf, inIds } from '../db/dialect.ts'
import type { DB } from '../db/types.ts'
import { type Clauses, childClauses, classIdOf } from './classes.ts'

/**
 * Each resource stores its effective visibility, kept right by every write that changes it, in the same
 * transaction: `effective_published` (it and every ancestor are published) and `visibility_class` (its team set
 * and each ancestor's, see classes.ts). Reads then decide visibility from the row alone (visibility.ts).
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
    const teams = item.teams.length > 1 ? [...item.teams].sort() : item.teams
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

/** Writes new stored visibility, a few thousand rows a statement: one bound list per column, not per row. */
async function writeEffective(db: Kysely<DB>, rows: [id: string, effective: Effective][]): Promise<void> {
  for (let start = 0; start < rows.length; start += 5000) {
    const chunk = rows.slice(start, start + 5000)
    if (engineOf(db) === 'postgres') {
      await sql`
        update resources set visibility_class = v.class_id, effective_published = v.published
        from (select unnest(${chunk.map(([id]) => id)}::text[]) as id,
                     unnest(${chunk.map(([, e]) => e.visibility_class)}::text[]) as class_id,
                     unnest(${chunk.map(([, e]) => Boolean(e.effective_published))}::boolean[]) as published) v
        where resources.id = v.id
      `.execute(db)
    } else {
      const values = chunk.map(([id, e]) => [id, e.visibility_class, e.effective_published ? 1 : 0])
      await sql`
        update resources
        set visibility_class = json_extract(v.value, '$[1]'), effective_published = json_extract(v.value, '$[2]')
        from json_each(${JSON.stringify(values)}) v
        where resources.id = json_extract(v.value, '$[0]')
      `.execute(db)
    }
  }
}

/**
 * Recomputes the visibility of `rows` (a set that holds every row whose parent's visibility may change) and
 * writes what changed. Parents outside the set come from `known` or the store. Returns what it computed.
 */
async function recompute(
  db: Kysely<DB>,
  rows: StoredRow[],
  known: ReadonlyMap<string, Effective>,
): Promise<Map<string, Effective>> {
  if (rows.length === 0) return new Map()
  const items = await withTeams(db, rows)
  const inSet = new Set(rows.map((row) => row.id))
  const unread = [...new Set(rows.map((row) => row.parent_id))].filter(
    (id): id is string => id !== null && !inSet.has(id) && !known.has(id),
  )
  const outside = new Map([...known, ...(await readEffective(db, unread, 'none'))])
  await loadClauses(
    db,
    [...outside.values()].map((e) => e.visibility_class),
  )
  const { effective, classes } = compute(items, outside)
  await storeClasses(db, classes, new Set())
  const changed: [string, Effective][] = []
  for (const item of items) {
    const next = effective.get(item.id) as Effective
    if (
      next.visibility_class !== item.visibility_class ||
      Boolean(next.effective_published) !== Boolean(item.effective_published)
    ) {
      changed.push([item.id, next])
    }
  }
  await writeEffective(db, changed)
  return effective
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
 * Recomputes the rows `affected` selects until it selects none it has not settled. On PostgreSQL a resource may
 * be created under one of them while they are recomputed: it read its parent under a share lock (see
 * `effectiveOfNew`), so the update of that parent waited for its commit, and the next statement's snapshot sees
 * it; one created after the update waits for this transaction and reads the new value. SQLite has one writer.
 */
async function settle(db: Kysely<DB>, affected: () => Promise<StoredRow[]>): Promise<void> {
  const settled = new Map<string, Effective>()
  for (let round = 0; ; round++) {
    const rows = [...new Map((await affected()).map((row) => [row.id, row])).values()].filter(
      (row) => !settled.has(row.id),
    )
    if (rows.length === 0) return
    if (round > 100) throw new Error('resources kept appearing under a subtree whose visibility changed')
    for (const [id, effective] of await recompute(db, rows, settled)) settled.set(id, effective)
    if (engineOf(db) !== 'postgres') return
  }
}

/**
 * On PostgreSQL, makes the writes that change a workspace's stored visibility (a PATCH of `published` or `teams`,
 * a team's deletion) wait for each other. A refresh reads its subtree's rows and their ancestors' stored
 * visibility without locking them; two at once could each work from the other's old rows, and the later commit
 * would then write visibility computed from a row that had changed (a draft left visible). Take it before any row
 * lock of the transaction, so that no transaction holding it waits for one holding a row it needs. SQLite has one
 * writer at a time already.
 */
export async function lockVisibility(db: Kysely<DB>, workspaceId: string): Promise<void> {
  if (engineOf(db) !== 'postgres') return
  await sql`select pg_advisory_xact_lock(hashtext(${`docent.visibility.${workspaceId}`}))`.execute(db)
}

/** After a change to `published` or `teams` of `rootIds`, recomputes their visibility and their descendants'. */
export async function refreshSubtrees(db: Kysely<DB>, rootIds: string[]): Promise<void> {
  if (rootIds.length === 0) return
  await settle(db, async () => (await subtreesOf(db, rootIds).select(STORED).execute()) as StoredRow[])
}

/**
 * After a team is deleted (the resources whose only team it was have another by then), recomputes every resource
 * whose class names it, and drops those classes: a class is a fixed set of teams, and this one names a team that
 * no longer exists.
 */
export async function refreshAfterTeamDeleted(db: Kysely<DB>, teamId: string): Promise<void> {
  const naming = db.selectFrom('visibility_classes').select('class_id').where('team_id', '=', teamId)
  await settle(
    db,
    async () =>
      (await db
        .selectFrom('resources')
        .where('resources.visibility_class', 'in', naming)
        .select(STORED)
        .execute()) as StoredRow[],
  )
  await db.deleteFrom('visibility_classes').where('class_id', 'in', naming).execute()
}
