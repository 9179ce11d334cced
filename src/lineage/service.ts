import { type Principal, permissionsFor } from '../access/principal.ts'
import { requireWrite } from '../access/rules.ts'
import { scopeOf, visibilityOf, visibleResources } from '../access/visibility.ts'
import { findResourceRow, type Loaded, loadRows } from '../catalog/repository/reads.ts'
import { toResource } from '../catalog/repository/rows.ts'
import type { Resource } from '../catalog/resource-schema.ts'
import type { Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { ApiError, fieldError, notFound } from '../errors.ts'
import {
  type Direction,
  deleteEdge,
  type Edge,
  type EdgeFilter,
  findEdge,
  findGraph,
  type GraphRow,
  insertEdge,
  listEdges,
  toEdge,
  type Way,
} from './repository.ts'

/** Lineage drawn by hand and the graph of what feeds what (CONTRACT §11). */

const CLASH =
  'These two resources are already joined by an edge drawn by hand the same way (from one end or the other); the opposite flow is another edge.'

export interface EdgeCreate {
  from_entity: string
  to_entity: string
  direction?: Direction | undefined
}

/**
 * A manual edge: both ends resources the caller may write (CONTRACT §11), never one resource to itself; an edge
 * already drawn between the same two resources the same way (from either end) is 409.
 */
export async function createEdge(store: Store, principal: Principal, body: EdgeCreate): Promise<Edge> {
  requireWrite(principal)
  const from = body.from_entity.toLowerCase()
  const to = body.to_entity.toLowerCase()
  if (from === to) {
    throw fieldError('to_entity', 'must be another resource than from_entity: an edge joins two resources')
  }
  const direction = body.direction ?? 'DOWNSTREAM'
  return store.write(
    async (trx) => {
      const scope = scopeOf(principal, 'row')
      for (const [field, id] of [
        ['from_entity', from],
        ['to_entity', to],
      ] as const) {
        // A resource the caller may not see reads as one that does not exist (CONTRACT §7).
        if ((await findResourceRow(trx, scope, id, undefined, 'share')) === undefined) {
          throw fieldError(field, `refers to ${id}, which is not a resource of this workspace`)
        }
      }
      const row = await insertEdge(trx, {
        workspaceId: principal.workspaceId,
        from,
        to,
        direction,
        isManual: true,
        integrationId: null,
        now: nowIso(),
      })
      return toEdge(row)
    },
    { clash: CLASH },
  )
}

export async function listEdgesFor(
  store: Store,
  principal: Principal,
  filter: Omit<EdgeFilter, 'workspaceId' | 'visibility' | 'userId'>,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Edge[] }> {
  const { count, rows } = await listEdges(
    store.db,
    { ...filter, workspaceId: principal.workspaceId, visibility: visibilityOf(principal), userId: principal.userId },
    page,
  )
  // Drawn from the end the caller asked for, when it asked for one end only.
  const from = filter.from?.length === 1 ? filter.from[0] : undefined
  const to = filter.to?.length === 1 ? filter.to[0] : undefined
  return { count, results: rows.map((row) => toEdge(row, { from, to })) }
}

export async function getEdge(store: Store, principal: Principal, id: string): Promise<Edge> {
  const row = await findEdge(store.db, principal.workspaceId, id, visibleResources(principal, 'row'))
  if (row === undefined) throw notFound()
  return toEdge(row)
}

/** Deletes a manual edge; one found by extraction follows its source and is refused. */
export async function removeEdge(store: Store, principal: Principal, id: string): Promise<void> {
  const row = await findEdge(store.db, principal.workspaceId, id, visibleResources(principal, 'row'))
  if (row === undefined) throw notFound()
  requireWrite(principal)
  if (!row.is_manual) {
    throw new ApiError(
      'BAD_REQUEST',
      'This edge was found by extraction and follows its source: the next sync removes it when the dependency is gone.',
    )
  }
  const deleted = await store.write((trx) => deleteEdge(trx, principal.workspaceId, id))
  if (!deleted) throw notFound()
}

export const MAX_DEPTH = 10
/** At most this many nodes in a graph, the start included. */
export const MAX_NODES = 1000

export interface Graph {
  nodes: Resource[]
  edges: { from: string; to: string; is_manual: boolean }[]
  /** More resources are within `depth` than the answer holds (MAX_NODES). */
  truncated: boolean
}

/**
 * CONTRACT §11's graph: the resource, what feeds it (`upstream`), what it feeds (`downstream`) or both, up to
 * `depth` hops, only through and to resources the caller may see, nearest first (then by id); every edge between
 * two of them once. One statement (`findGraph`) reads it all.
 */
export async function lineageGraph(
  store: Store,
  principal: Principal,
  id: string,
  direction: Way | 'both',
  depth: number,
): Promise<Graph> {
  const ways = direction === 'both' ? 'upstream,downstream' : direction
  const rows = await findGraph(
    store.db,
    { start: id, workspaceId: principal.workspaceId, userId: principal.userId },
    `${visibilityOf(principal)}|${ways}|${depth}|${MAX_NODES}`,
  )
  const hops = (row: GraphRow) => Number(row.graph_hops)
  const first = rows.find((row) => hops(row) === 0)
  // No start row: the start is not a resource of the workspace the caller sees.
  if (first === undefined) throw notFound()
  rows.sort((a, b) => hops(a) - hops(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const loaded = await loadRows(store.db, rows, visibleResources(principal, 'row'))
  const permissions = permissionsFor(principal)
  const edges = typeof first.graph_edges === 'string' ? JSON.parse(first.graph_edges) : (first.graph_edges ?? [])
  return {
    nodes: rows.map((row, i) => {
      const { relations, custom } = loaded[i] as Loaded
      return toResource(row, relations, permissions, custom)
    }),
    edges: (edges as [string, string, number][])
      .map(([from, to, manual]) => ({ from, to, is_manual: Number(manual) > 0 }))
      .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0)),
    truncated: Number(first.graph_reach) > MAX_NODES - 1,
  }
}
