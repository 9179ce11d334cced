import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeDatabase,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

// CONTRACT §11: lineage drawn by hand (one stored edge a pair, found from either end), and the graph of a
// resource (bounded, visible nodes only, edges once).

interface Edge {
  id: string
  from_entity: string
  to_entity: string
  direction: string
  is_manual: boolean
  workspace_id: string
}

const MANUAL = '/api/v1/lineage/manual'

for (const { engine, skip } of ENGINES) {
  describe(`lineage on ${engine}`, { skip }, () => {
    let h: Harness
    let schemaId: string
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h)
      schemaId = (await makeVia(h, '/database/schemas', { parent: database.id })).id
    })
    after(() => h?.close())

    const table = async (body: Record<string, unknown> = {}) =>
      (await makeVia(h, '/table/tables', { parent: schemaId, ...body })).id
    const draw = async (from: string, to: string, direction = 'DOWNSTREAM', authorization?: string) => {
      const response = await h.request({
        method: 'POST',
        url: MANUAL,
        body: { from_entity: from, to_entity: to, direction },
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 201, response.body)
      return response.json() as Edge
    }
    const listed = async (query: string, authorization?: string) => {
      const response = await h.request({
        method: 'GET',
        url: `${MANUAL}?${query}`,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json().results as Edge[]
    }
    const graph = async (id: string, query = '', authorization?: string) => {
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/lineage/graph/${id}?${query}`,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json() as {
        nodes: { id: string }[]
        edges: { from: string; to: string; is_manual: boolean }[]
        truncated: boolean
      }
    }

    test('create answers 201 with the edge; get, list from either end, delete', async () => {
      const [a, b] = [await table(), await table()]
      const edge = await draw(a, b)
      assert.deepEqual(Object.keys(edge), [
        'id',
        'created_at',
        'updated_at',
        'from_entity',
        'to_entity',
        'direction',
        'workspace_id',
        'is_manual',
      ])
      assert.equal(edge.is_manual, true)
      assert.equal(edge.workspace_id, h.workspaceId)
      for (const url of [`${MANUAL}/${edge.id}`, `${MANUAL}/${edge.id}/`, `/lineage/manual/${edge.id.toUpperCase()}`]) {
        const got = await h.request({ method: 'GET', url })
        assert.equal(got.statusCode, 200, url)
        assert.deepEqual(got.json(), edge)
      }
      // From the other end, the same edge is drawn from b: b is fed by a.
      const fromB = await listed(`from_entity=${b}`)
      assert.deepEqual(
        fromB.map((e) => [e.id, e.from_entity, e.to_entity, e.direction]),
        [[edge.id, b, a, 'UPSTREAM']],
      )
      assert.deepEqual(
        (await listed(`from_entity_id=${a}`)).map((e) => [e.from_entity, e.direction]),
        [[a, 'DOWNSTREAM']],
      )
      assert.deepEqual(
        (await listed(`to_entity=${a}`)).map((e) => [e.from_entity, e.to_entity, e.direction]),
        [[b, a, 'UPSTREAM']],
      )
      assert.equal((await listed(`from_entity__in=${a},${await table()}`)).length, 1)
      assert.equal((await listed(`to_entity__in=${b.toUpperCase()}`)).length, 1)
      assert.equal((await listed(`from_entity=${a}&is_manual=false`)).length, 0)
      assert.equal((await listed(`from_entity=${a}&integration_type=postgres`)).length, 1)
      assert.equal((await listed(`from_entity=${a}&integration_type=snowflake`)).length, 0)
      const deleted = await h.request({ method: 'DELETE', url: `${MANUAL}/${edge.id}` })
      assert.equal(deleted.statusCode, 204)
      assertErrorBody(await h.request({ method: 'GET', url: `${MANUAL}/${edge.id}` }), 404, 'NOT_FOUND')
      assertErrorBody(await h.request({ method: 'DELETE', url: `${MANUAL}/${edge.id}` }), 404, 'NOT_FOUND')
    })

    test('a list of edges in pages: count on every page, each edge once, a page past the last is 404', async () => {
      const hub = await table()
      const drawn: string[] = []
      for (let i = 0; i < 5; i++) drawn.push((await draw(hub, await table())).id)
      const pages: string[] = []
      for (const page of [1, 2, 3]) {
        const response = await h.request({
          method: 'GET',
          url: `${MANUAL}?from_entity=${hub}&page_size=2&page=${page}`,
        })
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json() as { count: number; total_pages: number; results: Edge[] }
        assert.equal(body.count, 5)
        assert.equal(body.total_pages, 3)
        pages.push(...body.results.map((e) => e.id))
      }
      // Creation order (ties in the same millisecond by id): every edge once across the pages.
      assert.equal(pages.length, 5)
      assert.deepEqual(new Set(pages), new Set(drawn))
      assertErrorBody(
        await h.request({ method: 'GET', url: `${MANUAL}?from_entity=${hub}&page_size=2&page=4` }),
        404,
        'INVALID_PAGE',
      )
      const none = await h.request({ method: 'GET', url: `${MANUAL}?from_entity=${await table()}` })
      assert.equal(none.statusCode, 200)
      assert.deepEqual([none.json().count, none.json().total_pages, none.json().results], [0, 1, []])
    })

    test('one stored edge a pair: the same edge from the other end is 409; a self-edge and a missing end are 400', async () => {
      const [a, b] = [await table(), await table()]
      await draw(a, b, 'DOWNSTREAM')
      const again = await h.request({
        method: 'POST',
        url: MANUAL,
        body: { from_entity: b, to_entity: a, direction: 'UPSTREAM' },
      })
      assertErrorBody(again, 409, 'CONFLICT')
      const same = await h.request({
        method: 'POST',
        url: MANUAL,
        body: { from_entity: a, to_entity: b, direction: 'DOWNSTREAM' },
      })
      assertErrorBody(same, 409, 'CONFLICT')
      // The opposite flow is another edge: real pipelines have cycles.
      await draw(b, a, 'DOWNSTREAM')
      assertFieldError(
        await h.request({ method: 'POST', url: MANUAL, body: { from_entity: a, to_entity: a.toUpperCase() } }),
        'to_entity',
        /another resource/,
      )
      assertFieldError(
        await h.request({
          method: 'POST',
          url: MANUAL,
          body: { from_entity: a, to_entity: '00000000-0000-4000-8000-000000000000' },
        }),
        'to_entity',
        /not a resource/,
      )
      assertFieldError(
        await h.request({ method: 'POST', url: MANUAL, body: { from_entity: a, to_entity: b, direction: 'SIDEWAYS' } }),
        'direction',
      )
      assertFieldError(await h.request({ method: 'POST', url: MANUAL, body: { from_entity: a } }), 'to_entity')
      const badFilter = await h.request({ method: 'GET', url: `${MANUAL}?from_entity__in=${a},nope` })
      assertFieldError(badFilter, 'from_entity__in', /UUIDs/)
      // Deleting an end deletes its edges.
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${b}` })).statusCode, 204)
      assert.equal((await listed(`from_entity=${a}`)).length, 0)
    })

    test('roles: viewers may not draw or delete; nobody sees an edge to a resource it cannot see', async () => {
      const [a, b] = [await table(), await table()]
      const hidden = await table({ teams: [await makeTeam(h)] })
      const draft = await table({ published: false })
      const edge = await draw(a, b)
      const toHidden = await draw(a, hidden)
      const toDraft = await draw(draft, a)
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      const refused = await h.request({
        method: 'POST',
        url: MANUAL,
        body: { from_entity: a, to_entity: b, direction: 'UPSTREAM' },
        headers: { authorization: viewer },
      })
      assertErrorBody(refused, 403, 'PERMISSION_DENIED')
      assertErrorBody(
        await h.request({ method: 'DELETE', url: `${MANUAL}/${edge.id}`, headers: { authorization: viewer } }),
        403,
        'PERMISSION_DENIED',
      )
      assert.deepEqual(
        (await listed(`from_entity=${a}`, viewer)).map((e) => e.id),
        [edge.id],
      )
      assert.deepEqual(
        new Set((await listed(`from_entity=${a}`, editor)).map((e) => e.id)),
        new Set([edge.id, toDraft.id]),
        'an editor sees drafts of its teams, not another team',
      )
      // The same through lists of ends, and both ends at once (each a statement of its own).
      for (const query of [
        `from_entity__in=${a},${hidden},${draft}`,
        `from_entity=${a}&to_entity__in=${b},${hidden}`,
        `from_entity__in=${a},${draft}&to_entity__in=${b},${hidden},${a}`,
      ]) {
        assert.deepEqual(
          (await listed(query, viewer)).map((e) => e.id),
          [edge.id],
          query,
        )
      }
      assert.deepEqual(await listed(`from_entity=${a}&to_entity=${hidden}`, viewer), [])
      assert.deepEqual(
        (await listed(`from_entity=${a}&to_entity=${hidden}`)).map((e) => e.id),
        [toHidden.id],
        'an admin sees it',
      )
      assertErrorBody(
        await h.request({ method: 'GET', url: `${MANUAL}/${toHidden.id}`, headers: { authorization: editor } }),
        404,
        'NOT_FOUND',
      )
      const toInvisible = await h.request({
        method: 'POST',
        url: MANUAL,
        body: { from_entity: b, to_entity: hidden },
        headers: { authorization: editor },
      })
      assertFieldError(toInvisible, 'to_entity', /not a resource of this workspace/)
      // A walk never passes through what the caller may not see: a → hidden → beyond shows a alone to a viewer.
      const beyond = await table()
      await draw(hidden, beyond)
      assert.ok((await graph(a, 'direction=downstream')).nodes.some((n) => n.id === beyond))
      assert.equal(
        (await graph(a, 'direction=downstream', viewer)).nodes.some((n) => n.id === beyond),
        false,
      )
      const viewerGraph = await graph(a, '', viewer)
      assert.deepEqual(new Set(viewerGraph.nodes.map((n) => n.id)), new Set([a, b]))
      assert.deepEqual(viewerGraph.edges, [{ from: a, to: b, is_manual: true }])
    })

    test('the graph walks each way up to depth, through cycles, edges once, and refuses a bad depth', async () => {
      const [s, t1, t2, t3, t4, side] = [
        await table(),
        await table(),
        await table(),
        await table(),
        await table(),
        await table(),
      ]
      // s → t1 → t2 → t3 → t4, t3 → t1 (a cycle), side → t2.
      await draw(s, t1)
      await draw(t1, t2)
      await draw(t3, t2, 'UPSTREAM')
      await draw(t3, t4)
      await draw(t3, t1)
      await draw(t2, side, 'UPSTREAM')
      const ids = (g: { nodes: { id: string }[] }) => new Set(g.nodes.map((n) => n.id))
      assert.deepEqual(ids(await graph(s, 'direction=downstream&depth=2')), new Set([s, t1, t2]))
      const deep = await graph(s, 'direction=downstream&depth=10')
      assert.deepEqual(ids(deep), new Set([s, t1, t2, t3, t4]))
      assert.equal(deep.nodes[0]?.id, s, 'the resource itself first')
      assert.equal(deep.truncated, false)
      assert.deepEqual(ids(await graph(t2, 'direction=upstream&depth=1')), new Set([t2, t1, side]))
      assert.deepEqual(ids(await graph(t2, 'depth=1')), new Set([t2, t1, side, t3]))
      // Exactly the edges among the nodes, each once (the cycle's included; side → t2 leads to no shown node).
      const pairs = deep.edges.map((e) => `${e.from}>${e.to}`)
      assert.deepEqual(
        pairs.sort(),
        [`${s}>${t1}`, `${t1}>${t2}`, `${t2}>${t3}`, `${t3}>${t4}`, `${t3}>${t1}`].sort(),
        'each edge among the nodes, once',
      )
      for (const depth of ['0', '11', 'two', '-1']) {
        const response = await h.request({ method: 'GET', url: `/api/v1/lineage/graph/${s}?depth=${depth}` })
        assertFieldError(response, 'depth')
      }
      assertErrorBody(
        await h.request({ method: 'GET', url: '/api/v1/lineage/graph/00000000-0000-4000-8000-000000000000' }),
        404,
        'NOT_FOUND',
      )
    })
  })
}
