import { randomUUID } from 'node:crypto'
import {
  type Compilable,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type RawBuilder,
  type Selectable,
  type SqlBool,
  sql,
} from 'kysely'
import { type Visibility, type VisibleRows, visibleTo } from '../access/visibility.ts'
import { type RowWithLists, selectResourcesWithLists } from '../catalog/repository/reads.ts'
import { byCodePoint, engineOf, inBoundList, inIds, listParameter } from '../db/dialect.ts'
import { prepared, slot } from '../db/prepared.ts'
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
  /** Who reads: edges whose ends they may both see (CONTRACT §11). */
  visibility: Visibility
  userId: string
  /** Edges with one of these at either end (`from_entity` and its forms). */
  from?: string[] | undefined
  /** Edges with one of these at either end (`to_entity` and its forms). */
  to?: string[] | undefined
  isManual?: boolean | undefined
  /** Edges with an end in an integration of this type. */
  integrationType?: string | undefined
}

/** How a filter names the ends of the edges it wants: not at all, by one id, or by a list. */
type Ends = '' | 'one' | 'many'

const endsOf = (ids: string[] | undefined): Ends => (ids === undefined ? '' : ids.length === 1 ? 'one' : 'many')

/** What `edgeQuery` reads: a page of edges, the page with how many match, or how many match alone. */
type EdgeShape = 'page' | 'page-counted' | 'count'

/**
 * The edges of a filter, prepared for each shape of filter (variant: `<visibility>|<from ends>|<to ends>|<is_manual:
 * empty, true or false>|<typed or empty>|<shape>`): the ends and the integration type are the filter's only values,
 * bound at run time. One id at an end is a plain comparison; a list is bound as one value (SQLite: a JSON array).
 */
const edgeQuery = prepared<Record<string, unknown>, EdgeRow & { matched?: number | string; n?: number | string }>(
  (db, variant) => {
    const [visibility, fromEnds, toEnds, manual, typed, shape] = variant.split('|') as [
      Visibility,
      Ends,
      Ends,
      string,
      string,
      EdgeShape,
    ]
    const endIn = (column: string, ends: Ends, name: string) =>
      ends === 'one'
        ? sql<SqlBool>`${sql.ref(column)} = ${slot(name)}`
        : inBoundList(engineOf(db), sql.ref(column), slot(name))
    const base = () => {
      let query = db
        .selectFrom('lineage_edges')
        .where('lineage_edges.workspace_id', '=', slot('workspaceId'))
        .where(bothEndsVisible(visibleTo(visibility, slot('userId'))))
      for (const [ends, name] of [
        [fromEnds, 'from'],
        [toEnds, 'to'],
      ] as const) {
        if (ends === '') continue
        query = query.where((eb) =>
          eb.or([endIn('lineage_edges.upstream_id', ends, name), endIn('lineage_edges.downstream_id', ends, name)]),
        )
      }
      if (manual !== '') query = query.where('lineage_edges.is_manual', '=', manual === 'true')
      if (typed !== '') {
        query = query.where((eb) =>
          eb.exists(
            eb
              .selectFrom('resources as typed_end')
              .innerJoin('integrations', 'integrations.id', 'typed_end.integration_id')
              .select(sql.lit(1).as('one'))
              .where('integrations.type', '=', slot('integrationType'))
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
    const counted = () => base().select((eb) => eb.fn.countAll().as('n'))
    if (shape === 'count') return counted()
    const page = base()
      .selectAll('lineage_edges')
      .orderBy('lineage_edges.created_at')
      .orderBy('lineage_edges.id')
      .limit(sql<number>`${slot('limit')}`)
      .offset(sql<number>`${slot('offset')}`)
    return shape === 'page-counted' ? page.select(counted().as('matched')) : page
  },
)

/** A page of edges in creation order, and how many the filter matches. */
export async function listEdges(
  db: Kysely<DB>,
  filter: EdgeFilter,
  page: { offset: number; limit: number },
): Promise<{ count: number; rows: EdgeRow[] }> {
  const endsValue = (ids: string[] | undefined) =>
    ids === undefined ? undefined : ids.length === 1 ? ids[0] : listParameter(engineOf(db), ids)
  const values = {
    workspaceId: filter.workspaceId,
    userId: filter.userId,
    from: endsValue(filter.from),
    to: endsValue(filter.to),
    integrationType: filter.integrationType,
    limit: page.limit,
    offset: page.offset,
  }
  const manual = filter.isManual === undefined ? '' : String(filter.isManual)
  const variant = (shape: EdgeShape) =>
    `${filter.visibility}|${endsOf(filter.from)}|${endsOf(filter.to)}|${manual}|${filter.integrationType === undefined ? '' : 'typed'}|${shape}`
  if (filter.from !== undefined || filter.to !== undefined) {
    // The edges of a few resources: the page and how many match in one statement (the count a subquery run once;
    // a window count would hold every matching row until the sort). Only a page past the last counts again. Over
    // all edges the count alone is faster (PostgreSQL counts 2,000,000 edges in parallel, not in a subquery).
    const rows = await edgeQuery(db, values, variant('page-counted'))
    if (rows.length > 0) return { count: toCount(rows[0]?.matched), rows }
    if (page.offset === 0) return { count: 0, rows: [] }
  }
  const total = toCount((await edgeQuery(db, values, variant('count')))[0]?.n)
  if (total === 0 || page.offset >= total) return { count: total, rows: [] }
  return { count: total, rows: await edgeQuery(db, values, variant('page')) }
}

export async function deleteEdge(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('lineage_edges')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

export type Way = 'upstream' | 'downstream'

/** A node of a graph: its resource's row and form, and its fewest hops from the start (0: the start). */
export type GraphRow = RowWithLists & {
  graph_hops: number | string
  /** On the start's row: how many resources the walk reached, the start left out (at most `limit` a way). */
  graph_reach: number | string | null
  /** On the start's row: every edge between two of the nodes, `[upstream, downstream, 1 when drawn by hand]`. */
  graph_edges: string | [string, string, number][] | null
}

/**
 * A lineage graph (CONTRACT §11) in one statement: the start, when it is a resource of the workspace the caller
 * sees, and the `limit - 1` resources nearest it (then by id) within `depth` hops following edges each of `ways`
 * (`downstream`: from upstream to downstream ends), walking only through resources the caller sees; each node's
 * row with its form and its fewest hops, how many resources were in reach, and the edges among the nodes. No row
 * when the start is not one the caller sees. Variant: `<visibility>|<ways, by commas>|<depth>|<limit>`.
 *
 * The walk is a chain of subqueries, one a hop, each the resources one edge from those of the hop before. A hop
 * does not leave out what earlier hops reached: SQLite copies a subquery into each place that names it, so a hop
 * naming all those before it grew the statement exponentially with the depth ("too many references" at depth 10).
 * A resource met again counts at its fewest hops, and in a cycle a hop holds at most everything in reach. Each hop
 * keeps the `limit` lowest ids it reaches, which leaves the nearest `limit` of each way as they would be without the
 * cap: a hop reaching more than `limit` holds at most as many resources met before as were reached before it, so
 * among its `limit` lowest are the lowest of its new ones that can still be among the nearest. A hop after one that
 * held `limit` resources reads nothing (they are all nearer than what it would reach), so a hub of many thousand
 * edges costs one capped hop; the hops are materialized, each computed once however often it is named. (A
 * recursive statement did the same walk, but PostgreSQL planned it as hash joins over the whole edge table, 7 s a
 * graph at 2,000,000 edges; a statement a hop cost PostgreSQL a round trip each.)
 */
export const findGraph = prepared<{ start: string; workspaceId: string; userId: string }, GraphRow>((db, variant) => {
  const [visibility, wayList, depthText, limitText] = variant.split('|') as [Visibility, string, string, string]
  const ways = wayList.split(',') as Way[]
  const depth = Number(depthText)
  const limit = Number(limitText)
  const visible = visibleTo(visibility, slot('userId'))
  const start = slot('start')
  const postgres = engineOf(db) === 'postgres'
  const startSeen = visible === undefined ? sql`` : sql` and ${visible('start_node')}`
  const ctes: RawBuilder<unknown>[] = [
    sql`graph_start as materialized (select start_node.id from resources as start_node where start_node.id = ${start} and start_node.workspace_id = ${slot('workspaceId')}${startSeen})`,
  ]
  const hopParts: RawBuilder<unknown>[] = []
  for (const way of ways) {
    const [near, far] = way === 'downstream' ? ['upstream_id', 'downstream_id'] : ['downstream_id', 'upstream_id']
    const farRef = sql.ref(`e.${far}`)
    const seen =
      visible === undefined
        ? sql``
        : sql` and exists (select 1 from resources as next_node where next_node.id = ${farRef} and ${visible('next_node')})`
    for (let hops = 1; hops <= depth; hops++) {
      const name = `${way}_${hops}`
      // A hop after one that held `limit` resources reads nothing: those are nearer than whatever it would reach.
      const from =
        hops === 1
          ? sql`e.${sql.raw(near)} in (select id from graph_start)`
          : sql`e.${sql.raw(near)} in (select id from ${sql.table(`${way}_${hops - 1}`)} where held < ${sql.lit(limit)})`
      ctes.push(
        sql`${sql.table(name)} as materialized (select id, count(*) over () as held from (select ${farRef} as id from lineage_edges as e where ${from} and ${farRef} <> ${start}${seen} group by ${farRef} order by ${byCodePoint(db, `e.${far}`)} limit ${sql.lit(limit)}) as hop)`,
      )
      hopParts.push(sql`select id, ${sql.lit(hops)} as hops from ${sql.table(name)}`)
    }
  }
  ctes.push(
    sql`graph_reach as materialized (select id, min(hops) as hops from (${sql.join(hopParts, sql` union all `)}) as reached group by id)`,
    sql`graph_nodes as materialized (select id, 0 as hops from graph_start union all select id, hops from (select id, hops from graph_reach order by hops, ${byCodePoint(db, 'id')} limit ${sql.lit(limit - 1)}) as nearest)`,
    sql`graph_edges as materialized (select upstream_id, downstream_id, max(case when is_manual then 1 else 0 end) as manual from lineage_edges where upstream_id in (select id from graph_nodes) and downstream_id in (select id from graph_nodes) group by upstream_id, downstream_id)`,
  )
  const edges = postgres
    ? sql`(select json_agg(json_build_array(upstream_id, downstream_id, manual)) from graph_edges)`
    : sql`(select json_group_array(json_array(upstream_id, downstream_id, manual)) from graph_edges)`
  // How many were reached and the edges go on the start's row only.
  const query = sql`with ${sql.join(ctes)} select graph_row.*, graph_nodes.hops as graph_hops, case when graph_nodes.hops = 0 then (select count(*) from graph_reach) end as graph_reach, case when graph_nodes.hops = 0 then ${edges} end as graph_edges from graph_nodes join ${selectResourcesWithLists(db, visible)} as graph_row on graph_row.id = graph_nodes.id`
  return { compile: () => query.compile(db) } as Compilable<GraphRow>
})

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
