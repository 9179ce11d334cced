import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { Role } from '../../src/access/principal.ts'
import { visibilityOf } from '../../src/access/visibility.ts'
import { insertResourceRows, newResourceValues } from '../../src/catalog/repository/writes.ts'
import { nowIso } from '../../src/db/values.ts'
import { findGraph, type GraphRow } from '../../src/lineage/repository.ts'
import {
  ENGINES,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  makeWorkspace,
  seededRandom,
  startHarness,
} from '../helpers.ts'

// CONTRACT §11's graph against a breadth-first walk written here: random graphs with cycles, both kinds of edge,
// resources some callers may not see, every direction and depth, and (on the statement itself) node limits small
// enough that hops are capped.

type Way = 'upstream' | 'downstream'

interface Expected {
  nodes: string[]
  edges: { from: string; to: string; is_manual: boolean }[]
  truncated: boolean
}

/** The graph as CONTRACT §11 describes it, by a plain breadth-first walk over `edges` through `visible` only. */
function expectedGraph(
  edges: { up: string; down: string; manual: boolean }[],
  visible: Set<string>,
  start: string,
  ways: Way[],
  depth: number,
  limit: number,
): Expected {
  const hops = new Map<string, number>()
  for (const way of ways) {
    const seen = new Map<string, number>([[start, 0]])
    let frontier = [start]
    for (let hop = 1; hop <= depth; hop++) {
      const next: string[] = []
      for (const node of frontier) {
        for (const edge of edges) {
          const [near, far] = way === 'downstream' ? [edge.up, edge.down] : [edge.down, edge.up]
          if (near !== node || !visible.has(far) || seen.has(far)) continue
          seen.set(far, hop)
          next.push(far)
        }
      }
      frontier = next
    }
    seen.delete(start)
    for (const [id, n] of seen) hops.set(id, Math.min(hops.get(id) ?? n, n))
  }
  const found = [...hops].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id)
  const nodes = [start, ...found.slice(0, limit - 1)]
  const shown = new Set(nodes)
  const pairs = new Map<string, { from: string; to: string; is_manual: boolean }>()
  for (const edge of edges) {
    if (!shown.has(edge.up) || !shown.has(edge.down)) continue
    const key = `${edge.up} ${edge.down}`
    const known = pairs.get(key)
    pairs.set(key, { from: edge.up, to: edge.down, is_manual: (known?.is_manual ?? false) || edge.manual })
  }
  const byEnds = (a: { from: string; to: string }, b: { from: string; to: string }) =>
    a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0
  return { nodes, edges: [...pairs.values()].sort(byEnds), truncated: found.length > limit - 1 }
}

/** A row of `lineage_edges` as data flows: drawn by hand without an integration, else found by that integration. */
function edgeRow(workspaceId: string, up: string, down: string, integration: string | null) {
  return {
    id: randomUUID(),
    workspace_id: workspaceId,
    upstream_id: up,
    downstream_id: down,
    from_id: up,
    to_id: down,
    direction: 'DOWNSTREAM',
    is_manual: integration === null,
    integration_id: integration,
    created_at: nowIso(),
    updated_at: nowIso(),
  }
}

for (const { engine, skip } of ENGINES) {
  describe(`lineage graph on ${engine}, against a breadth-first walk`, { skip }, () => {
    let h: Harness
    const tables: string[] = []
    let schemaId: string
    let edges: { up: string; down: string; manual: boolean }[] = []
    const callers: {
      name: Role
      authorization: string | undefined
      userId: string
      visible: Set<string>
    }[] = []
    const { int, pick, chance } = seededRandom(20261205)

    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h)
      schemaId = (await makeVia(h, '/database/schemas', { parent: database.id })).id
      const elsewhere = await makeTeam(h)
      for (let i = 0; i < 24; i++) {
        const kind = int(20)
        const body = kind < 3 ? { teams: [elsewhere] } : kind < 5 ? { published: false } : {}
        tables.push((await makeVia(h, '/table/tables', { parent: schemaId, ...body })).id)
      }
      // Random edges drawn by hand, and edges "found" by an integration, some on the same pairs as drawn ones.
      const integration = await makeIntegration(h)
      const pairs = new Set<string>()
      const rows: ReturnType<typeof edgeRow>[] = []
      for (let i = 0; i < 60; i++) {
        const up = pick(tables)
        const down = pick(tables)
        const manual = chance(0.6)
        const key = `${up} ${down} ${manual}`
        if (up === down || pairs.has(key)) continue
        pairs.add(key)
        edges.push({ up, down, manual })
        rows.push(edgeRow(h.workspaceId, up, down, manual ? null : integration))
      }
      await h.store.write((trx) =>
        trx
          .insertInto('lineage_edges')
          .values(rows as never)
          .execute(),
      )
      edges = edges.filter((edge) => edge.up !== edge.down)
      const viewerId = await makeUser(h, { role: 'viewer' })
      const editorId = await makeUser(h, { role: 'editor' })
      for (const [name, userId, authorization] of [
        ['admin', h.adminUserId, undefined],
        ['viewer', viewerId, await makeKey(h, viewerId)],
        ['editor', editorId, await makeKey(h, editorId)],
      ] as const) {
        const visible = new Set<string>()
        for (const id of tables) {
          const response = await h.request({
            method: 'GET',
            url: `/api/v1/resource/all/${id}`,
            ...(authorization === undefined ? {} : { headers: { authorization } }),
          })
          if (response.statusCode === 200) visible.add(id)
        }
        callers.push({ name, authorization, userId, visible })
      }
      assert.ok((callers[1]?.visible.size ?? 0) < tables.length, 'the viewer cannot see every table')
    })
    after(() => h?.close())

    test('the graph over HTTP is the breadth-first walk: nodes in order, edges once, truncated', async () => {
      for (let round = 0; round < 60; round++) {
        const caller = pick(callers)
        const start = pick(tables)
        const direction = pick(['upstream', 'downstream', 'both'] as const)
        const depth = 1 + int(10)
        const response = await h.request({
          method: 'GET',
          url: `/api/v1/lineage/graph/${start}?direction=${direction}&depth=${depth}`,
          ...(caller.authorization === undefined ? {} : { headers: { authorization: caller.authorization } }),
        })
        const context = `${caller.name} from ${start} ${direction} ${depth}`
        if (!caller.visible.has(start)) {
          assert.equal(response.statusCode, 404, context)
          continue
        }
        assert.equal(response.statusCode, 200, `${context}: ${response.body}`)
        const graph = response.json() as Omit<Expected, 'nodes'> & { nodes: { id: string }[] }
        const ways: Way[] = direction === 'both' ? ['upstream', 'downstream'] : [direction]
        const expected = expectedGraph(edges, caller.visible, start, ways, depth, 1000)
        assert.deepEqual(
          graph.nodes.map((node) => node.id),
          expected.nodes,
          context,
        )
        assert.deepEqual(graph.edges, expected.edges, context)
        assert.equal(graph.truncated, false, context)
        if (round % 6 === 0) {
          // Each node is the resource as a read by id shows it to the same caller (its lists as that caller sees them).
          for (const node of graph.nodes) {
            const got = await h.request({
              method: 'GET',
              url: `/api/v1/resource/all/${node.id}`,
              ...(caller.authorization === undefined ? {} : { headers: { authorization: caller.authorization } }),
            })
            assert.deepEqual(node, got.json(), `${context}: node ${node.id}`)
          }
        }
      }
    })

    test('a start the caller may not see, or of another workspace, is 404', async () => {
      const other = await makeWorkspace(h)
      const as = { authorization: other.authorization }
      const integration = await h.request({
        method: 'POST',
        url: '/api/v1/integration/integrations',
        body: { name: 'elsewhere', type: 'postgres' },
        headers: as,
      })
      const database = await h.request({
        method: 'POST',
        url: '/api/v1/database/databases',
        body: { title: 'elsewhere', integration: integration.json().id },
        headers: as,
      })
      assert.equal(database.statusCode, 201, database.body)
      const hidden = tables.find((id) => !callers[1]?.visible.has(id))
      assert.ok(hidden !== undefined)
      for (const [start, authorization] of [
        [database.json().id as string, undefined],
        [hidden, callers[1]?.authorization],
      ] as const) {
        const response = await h.request({
          method: 'GET',
          url: `/api/v1/lineage/graph/${start}`,
          ...(authorization === undefined ? {} : { headers: { authorization } }),
        })
        assert.equal(response.statusCode, 404, response.body)
      }
    })

    test('a hub with more neighbours than a graph holds: the 999 lowest ids, truncated, over HTTP', async () => {
      const parent = await h.store.db
        .selectFrom('resources')
        .selectAll()
        .where('id', '=', schemaId)
        .executeTakeFirstOrThrow()
      const rows = Array.from({ length: 1006 }, (_, i) => ({
        ...newResourceValues({
          workspaceId: h.workspaceId,
          entityType: 'table',
          title: `spoke ${i}`,
          parent,
          integrationId: parent.integration_id,
          now: nowIso(),
        }),
        id: randomUUID(),
      }))
      // `beyond` is a table of this test's own: an edge to one of the shared tables would change the graphs the
      // later tests check against their own list of edges.
      const [hub, beyond, ...spokes] = rows.map((row) => row.id) as [string, string, ...string[]]
      const edge = (up: string, down: string) => edgeRow(h.workspaceId, up, down, null)
      await h.store.write(async (trx) => {
        await insertResourceRows(trx, rows, [])
        for (let i = 0; i < spokes.length; i += 200) {
          await trx
            .insertInto('lineage_edges')
            .values(spokes.slice(i, i + 200).map((spoke) => edge(hub, spoke)) as never)
            .execute()
        }
        // One more hop beyond a spoke: never shown, the first hop already holds more than a graph does.
        await trx
          .insertInto('lineage_edges')
          .values(edge(spokes[0] as string, beyond) as never)
          .execute()
      })
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/lineage/graph/${hub}?direction=downstream&depth=5`,
      })
      assert.equal(response.statusCode, 200, response.body)
      const graph = response.json() as { nodes: { id: string }[]; edges: unknown[]; truncated: boolean }
      assert.equal(graph.truncated, true)
      assert.deepEqual(
        graph.nodes.map((node) => node.id),
        [hub, ...[...spokes].sort().slice(0, 999)],
      )
      assert.equal(graph.edges.length, 999)
    })

    test('with a node limit of a few, hops are capped and the nearest nodes are still the right ones', async () => {
      let truncated = 0
      for (let round = 0; round < 150; round++) {
        const caller = pick(callers)
        const start = pick(tables)
        const ways = pick([['upstream'], ['downstream'], ['upstream', 'downstream']] as Way[][])
        const depth = 1 + int(10)
        const limit = 2 + int(6)
        const visibility = visibilityOf({ role: caller.name })
        const rows = await findGraph(
          h.store.db,
          { start, workspaceId: h.workspaceId, userId: caller.userId },
          `${visibility}|${ways.join(',')}|${depth}|${limit}`,
        )
        if (!caller.visible.has(start)) {
          assert.deepEqual(rows, [], `${caller.name} from ${start}: a start it may not see`)
          continue
        }
        const order = (row: GraphRow) => Number(row.graph_hops)
        rows.sort((a, b) => order(a) - order(b) || (a.id < b.id ? -1 : 1))
        const expected = expectedGraph(edges, caller.visible, start, ways, depth, limit)
        const context = `${caller.name} from ${start} ${ways} ${depth}, limit ${limit}`
        assert.deepEqual(
          rows.map((row) => row.id),
          expected.nodes,
          context,
        )
        const reach = Number(rows[0]?.graph_reach)
        assert.equal(reach > limit - 1, expected.truncated, context)
        if (expected.truncated) truncated += 1
      }
      assert.ok(truncated > 20, `only ${truncated} graphs were cut by their limit`)
    })
  })
}
