import type { Principal } from '../access/principal.ts'
import { requireWrite } from '../access/rules.ts'
import { scopeOf, visibleResources } from '../access/visibility.ts'
import { findResourceRow, findRowsInOrder } from '../catalog/repository/reads.ts'
import type { Resource } from '../catalog/resource-schema.ts'
import { hydrate } from '../catalog/service.ts'
import type { Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { ApiError, fieldError, notFound } from '../errors.ts'
import {
  type Direction,
  deleteEdge,
  type Edge,
  type EdgeFilter,
  edgesAmong,
  findEdge,
  insertEdge,
  listEdges,
  toEdge,
  walk,
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
  filter: Omit<EdgeFilter, 'workspaceId' | 'visible'>,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Edge[] }> {
  const { count, rows } = await listEdges(
    store.db,
    { ...filter, workspaceId: principal.workspaceId, visible: visibleResources(principal) },
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
export const MAX_NODES = 1000

export interface Graph {
  nodes: Resource[]
  edges: { from: string; to: string; is_manual: boolean }[]
  /** More resources are within `depth` than the answer holds (MAX_NODES). */
  truncated: boolean
}

/**
 * CONTRACT §11's graph: the resource, what feeds it (`upstream`), what it feeds (`downstream`) or both, up to
 * `depth` hops, only through and to resources the caller may see, nearest first; every edge between two of them
 * once.
 */
export async function lineageGraph(
  store: Store,
  principal: Principal,
  id: string,
  direction: 'upstream' | 'downstream' | 'both',
  depth: number,
): Promise<Graph> {
  const start = await findResourceRow(store.db, scopeOf(principal, 'row'), id)
  if (start === undefined) throw notFound()
  const visible = visibleResources(principal)
  const ways = direction === 'both' ? (['upstream', 'downstream'] as const) : [direction]
  const hops = new Map<string, number>()
  for (const way of ways) {
    for (const node of await walk(store.db, id, way, depth, visible, MAX_NODES)) {
      hops.set(node.id, Math.min(hops.get(node.id) ?? node.hops, node.hops))
    }
  }
  const found = [...hops.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([node]) => node)
  const ids = [id, ...found.slice(0, MAX_NODES - 1)]
  const rows = await findRowsInOrder(store.db, ids, visible)
  return {
    nodes: await hydrate(store.db, principal, rows),
    edges: await edgesAmong(store.db, ids),
    truncated: found.length > MAX_NODES - 1,
  }
}
