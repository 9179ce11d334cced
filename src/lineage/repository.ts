import { randomUUID } from 'node:crypto'
import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, sql } from 'kysely'
import type { VisibleRows } from '../access/visibility.ts'
import { engineOf, inIds } from '../db/dialect.ts'
import type { DB, LineageEdgeTable } from '../db/types.ts'
import { nowIso, toCount, toIso } from '../db/values.ts'

/** Lineage edges (CONTRACT §11): stored as data flows, `upstream_id` → `downstream_id` (migration 0010). */

export type Direction = 'UPSTREAM' | 'DOWNSTREAM'

export type EdgeRow = Selectable<LineageEdgeTable>

/** The API's edge: its ends as seen from `from_entity` (CONTRACT §11). */
export interface Edge {
  id: string
  created_at: string
  updated_at: string
  from_entity: string
  to_entity: string
  direction: Direction
  workspace_id: string
  is_manual: boolean
}

/** The ends of an edge as data flows, whichever end it is drawn from. */
export function flowOf(from: string, to: string, direction: Direction): { upstream: string; downstream: string } {
  return direction === 'DOWNSTREAM' ? { upstream: from, downstream: to } : { upstream: to, downstream: from }
}

/**
 * An edge as the API shows it: as it was created, or, with `from` (or `to`) naming one of its ends, drawn from (or
 * to) that end: the same edge seen from its other end has its ends swapped and the opposite direction.
 */
export function toEdge(row: EdgeRow, seenFrom?: { from?: string | undefined; to?: string | undefined }): Edge {
  let from = row.from_id
  let to = row.to_id
  let direction = row.direction as Direction
  const swap =
    (seenFrom?.from !== undefined && seenFrom.from === to && seenFrom.from !== from) ||
    (seenFrom?.from === undefined && seenFrom?.to !== undefined && seenFrom.to === from && seenFrom.to !== to)
  if (swap) {
    ;[from, to] = [to, from]
    direction = direction === 'DOWNSTREAM' ? 'UPSTREAM' : 'DOWNSTREAM'
  }
  return {
    id: row.id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    from_entity: from,
    to_entity: to,
    direction,
    workspace_id: row.workspace_id,
    is_manual: Boolean(row.is_manual),
  }
}

export async function insertEdge(
  db: Kysely<DB>,
  values: {
    workspaceId: string
    from: string
    to: string
    direction: Direction
    isManual: boolean
    integrationId: string | null
    now: string
  },
): Promise<EdgeRow> {
  const { upstream, downstream } = flowOf(values.from, values.to, values.direction)
  const row = {
    id: randomUUID(),
    workspace_id: values.workspaceId,
    upstream_id: upstream,
    downstream_id: downstream,
    from_id: values.from,
    to_id: values.to,
    direction: values.direction,
    is_manual: values.isManual,
    integration_id: values.integrationId,
    created_at: values.now,
    updated_at: values.now,
  }
  await db.insertInto('lineage_edges').values(row).execute()
  return row
}

type Builder = ExpressionBuilder<DB, 'lineage_edges'>

/** Both ends of the edge are resources `visible` admits (undefined: all). */
function bothEndsVisible(visible: VisibleRows | undefined) {
  return (eb: Builder): Expression<SqlBool> => {
    if (visible === undefined) return sql<SqlBool>`true`
    const end = (column: 'upstream_id' | 'downstream_id', alias: string) =>
      eb.exists(
        eb
          .selectFrom(`resources as ${alias}` as 'resources')
          .select(sql.lit(1).as('one'))
          .where(sql.ref(`${alias}.id`), '=', sql.ref(`lineage_edges.${column}`))
          .where(visible(alias)),
      )
    return eb.and([end('upstream_id', 'up_end'), end('downstream_id', 'down_end')])
  }
}

export async function findEdge(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  visible: VisibleRows | undefined,
): Promise<EdgeRow | undefined> {
  return (await db
    .selectFrom('lineage_edges')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where(bothEndsVisible(visible))
    .executeTakeFirst()) as EdgeRow | undefined
}

export interface EdgeFilter {
  workspaceId: string
  visible: VisibleRows | undefined
  /** Edges with one of these at either end (`from_entity` and its forms). */
  from?: string[] | undefined
  /** Edges with one of these at either end (`to_entity` and its forms). */
  to?: string[] | undefined
  isManual?: boolean | undefined
  /** Edges with an end in an integration of this type. */
  integrationType?: string | undefined
}

/** A page of edges in creation order, and how many the filter matches. */
export async function listEdges(
  db: Kysely<DB>,
  filter: EdgeFilter,
  page: { offset: number; limit: number },
): Promise<{ count: number; rows: EdgeRow[] }> {
  const base = () => {
    let query = db
      .selectFrom('lineage_edges')
      .where('lineage_edges.workspace_id', '=', filter.workspaceId)
      .where(bothEndsVisible(filter.visible))
    for (const ends of [filter.from, filter.to]) {
      if (ends === undefined) continue
      query = query.where((eb) =>
        eb.or([
          inIds(db, eb.ref('lineage_edges.upstream_id'), ends),
          inIds(db, eb.ref('lineage_edges.downstream_id'), ends),
        ]),
      )
    }
    if (filter.isManual !== undefined) query = query.where('lineage_edges.is_manual', '=', filter.isManual)
    const type = filter.integrationType
    if (type !== undefined) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('resources as typed_end')
            .innerJoin('integrations', 'integrations.id', 'typed_end.integration_id')
            .select(sql.lit(1).as('one'))
            .where('integrations.type', '=', type)
            .where((w) =>
              w.or([
                w('typed_end.id', '=', w.ref('lineage_edges.upstream_id')),
                w('typed_end.id', '=', w.ref('lineage_edges.downstream_id')),
              ]),
            ),
        ),
      )
    }
    return query
  }
  const counted = await base()
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst()
  const count = toCount(counted?.n as number | string | undefined)
  if (count === 0 || page.offset >= count) return { count, rows: [] }
  const rows = (await base()
    .selectAll('lineage_edges')
    .orderBy('lineage_edges.created_at')
    .orderBy('lineage_edges.id')
    .limit(page.limit)
    .offset(page.offset)
    .execute()) as EdgeRow[]
  return { count, rows }
}

export async function deleteEdge(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('lineage_edges')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/**
 * The resources `depth` hops or fewer from `start` following edges one way (`downstream`: from upstream to
 * downstream ends), walking only through resources `visible` admits, each with the fewest hops it takes; at most
 * `limit` of them, nearest first. One indexed statement per hop over the frontier (the resources first reached at
 * the hop before), so a cycle ends where it meets what was reached already. A recursive statement did the same
 * walk, but PostgreSQL planned it as hash joins over the whole edge table (2,000,000 edges: 7 s a graph).
 */
export async function walk(
  db: Kysely<DB>,
  start: string,
  way: 'upstream' | 'downstream',
  depth: number,
  visible: VisibleRows | undefined,
  limit: number,
): Promise<{ id: string; hops: number }[]> {
  const [near, far] =
    way === 'downstream' ? (['upstream_id', 'downstream_id'] as const) : (['downstream_id', 'upstream_id'] as const)
  const reached = new Map<string, number>([[start, 0]])
  let frontier = [start]
  for (let hops = 1; hops <= depth && frontier.length > 0 && reached.size <= limit; hops++) {
    let query = db
      .selectFrom('lineage_edges as e')
      .select(`e.${far} as id`)
      .where((eb) => inIds(db, eb.ref(`e.${near}`), frontier))
    if (visible !== undefined) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('resources as next_node')
            .select(sql.lit(1).as('one'))
            .whereRef('next_node.id', '=', `e.${far}`)
            .where(visible('next_node')),
        ),
      )
    }
    const rows = await query.execute()
    const next: string[] = []
    for (const { id } of rows) {
      if (reached.has(id)) continue
      reached.set(id, hops)
      next.push(id)
    }
    frontier = next
  }
  reached.delete(start)
  return [...reached.entries()]
    .map(([id, hops]) => ({ id, hops }))
    .sort((a, b) => a.hops - b.hops || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit)
}

/** Every edge between two of `ids`, one per pair: `is_manual` when a manual edge joins them. */
export async function edgesAmong(
  db: Kysely<DB>,
  ids: string[],
): Promise<{ from: string; to: string; is_manual: boolean }[]> {
  if (ids.length === 0) return []
  const postgres = engineOf(db) === 'postgres'
  const rows = await db
    .selectFrom('lineage_edges')
    .select([
      'upstream_id',
      'downstream_id',
      postgres ? sql<boolean>`bool_or(is_manual)`.as('manual') : sql<number>`max(is_manual)`.as('manual'),
    ])
    .where((eb) => inIds(db, eb.ref('upstream_id'), ids))
    .where((eb) => inIds(db, eb.ref('downstream_id'), ids))
    .groupBy(['upstream_id', 'downstream_id'])
    .orderBy('upstream_id')
    .orderBy('downstream_id')
    .execute()
  return rows.map((row) => ({ from: row.upstream_id, to: row.downstream_id, is_manual: Boolean(row.manual) }))
}

/** A catalog table (or view) a statement may name. */
export interface NamedTable {
  id: string
  title: string
  title_full: string
  search_schema: string | null
  search_database: string | null
  native_type: string | null
  integration_id: string | null
  external_usage: number | string
}

/** The tables of the workspace the caller sees whose title is one of `names`, in any case. */
export async function findNamedTables(
  db: Kysely<DB>,
  workspaceId: string,
  names: string[],
  visible: VisibleRows | undefined,
  integrationId: string | undefined,
): Promise<NamedTable[]> {
  if (names.length === 0) return []
  const spellings = [...new Set(names.flatMap((name) => [name, name.toLowerCase(), name.toUpperCase()]))]
  let query = db
    .selectFrom('resources')
    .select([
      'id',
      'title',
      'title_full',
      'search_schema',
      'search_database',
      'native_type',
      'integration_id',
      'external_usage',
    ])
    .where('workspace_id', '=', workspaceId)
    .where('entity_type', '=', 'table')
    .where((eb) => inIds(db, eb.ref('title'), spellings))
  if (integrationId !== undefined) query = query.where('integration_id', '=', integrationId)
  if (visible !== undefined) query = query.where(visible('resources'))
  return (await query.limit(10_000).execute()) as NamedTable[]
}

/** The columns named under each table, keyed `<table id>\u0000<lower-case column name>`. */
export async function findNamedColumns(
  db: Kysely<DB>,
  wanted: { tableId: string; column: string }[],
  visible: VisibleRows | undefined,
): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  if (wanted.length === 0) return found
  let query = db
    .selectFrom('resources')
    .select(['id', 'parent_id', 'title'])
    .where('entity_type', '=', 'column')
    .where((eb) => inIds(db, eb.ref('parent_id'), [...new Set(wanted.map((w) => w.tableId))]))
  if (visible !== undefined) query = query.where(visible('resources'))
  const names = new Set(wanted.map((w) => `${w.tableId}\u0000${w.column.toLowerCase()}`))
  for (const row of await query.execute()) {
    const key = `${row.parent_id}\u0000${row.title.toLowerCase()}`
    if (names.has(key) && !found.has(key)) found.set(key, row.id)
  }
  return found
}

/** An edge as data flows, keyed `<upstream> <downstream>`: what a sync or an import wants an integration to hold. */
export type FoundEdges = Map<string, { upstream: string; downstream: string }>

export function pairOf(upstream: string, downstream: string): string {
  return `${upstream} ${downstream}`
}

/**
 * Makes the edges an integration found (`is_manual` false) the `wanted` ones, in the caller's transaction: adds
 * those it lacks and, unless `remove` is false, deletes the others but those `keep` admits. Manual edges are never
 * touched. Answers the pairs it added and how many it removed.
 */
export async function replaceFoundEdges(
  trx: Kysely<DB>,
  target: { workspaceId: string; integrationId: string },
  wanted: FoundEdges,
  options: { remove: boolean; keep?: (downstream: string) => boolean },
): Promise<{ added: Set<string>; removed: number }> {
  const existing = await trx
    .selectFrom('lineage_edges')
    .select(['id', 'upstream_id', 'downstream_id'])
    .where('integration_id', '=', target.integrationId)
    .where('is_manual', '=', false)
    .execute()
  const have = new Set(existing.map((e) => pairOf(e.upstream_id, e.downstream_id)))
  const added = new Set<string>()
  const now = nowIso()
  for (const [pair, edge] of wanted) {
    if (have.has(pair)) continue
    await insertEdge(trx, {
      workspaceId: target.workspaceId,
      from: edge.upstream,
      to: edge.downstream,
      direction: 'DOWNSTREAM',
      isManual: false,
      integrationId: target.integrationId,
      now,
    })
    added.add(pair)
  }
  const gone = options.remove
    ? existing
        .filter((e) => !wanted.has(pairOf(e.upstream_id, e.downstream_id)) && !options.keep?.(e.downstream_id))
        .map((e) => e.id)
    : []
  for (let i = 0; i < gone.length; i += 500) {
    const chunk = gone.slice(i, i + 500)
    await trx
      .deleteFrom('lineage_edges')
      .where((eb) => inIds(trx, eb.ref('id'), chunk))
      .execute()
  }
  return { added, removed: gone.length }
}
