import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeKey,
  makeUser,
  makeVia,
  multipartBody,
  startHarness,
} from '../helpers.ts'

// Issue 15: a custom integration's resources.jsonl and lineage.jsonl (test/fixtures/jsonl, provenance beside them):
// an upsert by databuilder_id, all or nothing, with a report line by line.

const FIXTURE = new URL('../fixtures/jsonl/', import.meta.url)
const RESOURCES = readFileSync(new URL('resources.jsonl', FIXTURE), 'utf8')
const LINEAGE = readFileSync(new URL('lineage.jsonl', FIXTURE), 'utf8')

for (const { engine, skip } of ENGINES) {
  describe(`JSONL metadata into a ${engine} catalog`, { skip }, () => {
    let h: Harness
    let orders: { id: string }
    let total: { id: string }
    before(async () => {
      h = await startHarness(engine)
      // The external table and column the lineage file names: read by some other integration.
      const warehouse = (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: 'warehouse', type: 'snowflake' },
        })
      ).json().id
      const database = await makeVia(h, '/database/databases', { title: 'warehouse', integration: warehouse })
      const schema = await makeVia(h, '/database/schemas', { title: 'raw', parent: database.id })
      orders = await makeVia(h, '/table/tables', { title: 'orders', parent: schema.id })
      total = await makeVia(h, '/table/columns', { title: 'total', parent: orders.id })
    })
    after(() => h?.close())

    const custom = async (type = 'custom') =>
      (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: `c ${Math.random()}`, type },
        })
      ).json().id as string
    const upload = (id: string, files: Record<string, string>, authorization?: string) => {
      const { payload, headers } = multipartBody(
        Object.entries(files).map(([name, text]) => ({ field: 'file', filename: `${name}.jsonl`, text })),
      )
      return h.request({
        method: 'POST',
        url: `/api/v1/integration/integrations/${id}/import_jsonl_metadata`,
        payload,
        headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) },
      })
    }
    const byKey = async (id: string) => {
      const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'integration_id', value: id }))
      const listed = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?page_size=1000&filter=${filter}` })
      return new Map(
        (
          listed.json().results as {
            databuilder_id: string
            id: string
            updated_at: string
            description: string
            title_full: string
            parent: string
          }[]
        ).map((r) => [r.databuilder_id, r]),
      )
    }

    test('an import creates the resources under their parents and the edges, and says so line by line', async () => {
      const id = await custom()
      const response = await upload(id, { resources: RESOURCES, lineage: LINEAGE })
      assert.equal(response.statusCode, 200, response.body)
      const report = response.json()
      assert.equal(report.created, 7)
      assert.deepEqual(report.lineage, { added: 3, removed: 0 })
      assert.deepEqual(
        report.lines
          .filter((l: { file: string }) => l.file === 'resources')
          .map((l: { line: number; outcome: string }) => [l.line, l.outcome]),
        [
          [1, 'created'],
          [2, 'created'],
          [3, 'created'],
          [4, 'created'],
          [5, 'created'],
          [7, 'created'],
          [8, 'created'],
        ],
      )
      const made = await byKey(id)
      assert.equal(made.get('shopdb.public.order')?.title_full, 'shopdb.public.order')
      assert.equal(made.get('shopdb.public.order.amount')?.description, 'In cents')
      assert.equal(
        made.get('dashboard.revenue_2026_forecast.yoy_growth')?.parent,
        made.get('dashboard.revenue_2026_forecast')?.id,
      )
      const graph = await h.request({
        method: 'GET',
        url: `/api/v1/lineage/graph/${made.get('shopdb.public.order')?.id}?depth=1`,
      })
      const titles = graph
        .json()
        .nodes.map((n: { title: string }) => n.title)
        .sort()
      assert.deepEqual(titles, ['YoY Growth', 'order', 'orders'])
      const columnEdges = await h.request({ method: 'GET', url: `/api/v1/lineage/manual?from_entity=${total.id}` })
      assert.equal(columnEdges.json().results[0].to_entity, made.get('shopdb.public.order.amount')?.id)

      // The same files again (with a byte-order mark, as some editors write): nothing changes.
      const again = await upload(id, { resources: `\uFEFF${RESOURCES}`, lineage: LINEAGE })
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.json().created, 0)
      assert.equal(again.json().updated, 0)
      assert.equal(again.json().unchanged, 7)
      assert.deepEqual(again.json().lineage, { added: 0, removed: 0 })
      const after = await byKey(id)
      for (const [key, resource] of made) assert.equal(after.get(key)?.updated_at, resource.updated_at, key)

      // A changed description updates; a lineage line left out removes its edge.
      const changed = RESOURCES.replace('Orders from the web shop', 'Orders from the shop and the app')
      const third = await upload(id, { resources: changed, lineage: LINEAGE.split('\n').slice(0, 2).join('\n') })
      assert.equal(third.statusCode, 200, third.body)
      assert.equal(third.json().updated, 1)
      assert.deepEqual(third.json().lineage, { added: 0, removed: 1 })
      assert.equal((await byKey(id)).get('shopdb.public.order')?.description, 'Orders from the shop and the app')
      // Moving a known resource to another parent is refused.
      const moved = RESOURCES.replace(
        '"parent_databuilder_id": "shopdb.public.order", "title": "amount"',
        '"parent_databuilder_id": "shopdb.public", "title": "amount"',
      )
      assertFieldError(await upload(id, { resources: moved }), 'resources.jsonl:5', /another parent/)
      void orders
    })

    test('a malformed line refuses the whole import, naming every refused line; nothing is written', async () => {
      const id = await custom()
      const lines = RESOURCES.split('\n')
      lines[2] = '{"entity_type": "table", "databuilder_id": "shopdb.public.order", '
      lines.push('{"entity_type": "view", "databuilder_id": "x"}')
      const response = await upload(id, { resources: lines.join('\n'), lineage: LINEAGE })
      const body = assertFieldError(response, 'resources.jsonl:3', /not valid JSON/)
      assert.ok(
        body.errors?.some((e) => e.field === `resources.jsonl:${lines.length}` && /entity_type/.test(e.message)),
      )
      assert.equal((await byKey(id)).size, 0)
      // A parent that is nowhere, found only inside the transaction: still nothing written.
      const orphan = `${RESOURCES}\n{"entity_type": "column", "databuilder_id": "a.b.c.d", "parent_databuilder_id": "nowhere"}`
      assertFieldError(
        await upload(id, { resources: orphan }),
        `resources.jsonl:${orphan.split('\n').length}`,
        /names no resource/,
      )
      assert.equal((await byKey(id)).size, 0)
      const edge = `{"from_identifier": {"type": "external_table", "database": "a", "schema": "b", "table": "c"}, "to_identifier": {"type": "external_table", "database": "a", "schema": "b", "table": "d"}}`
      assertFieldError(
        await upload(id, { resources: RESOURCES, lineage: edge }),
        'lineage.jsonl:1',
        /internal_resource/,
      )
      assert.equal((await byKey(id)).size, 0)
    })

    test('only admins import, and only into a custom integration', async () => {
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assertErrorBody(await upload(await custom(), { resources: RESOURCES }, editor), 403, 'PERMISSION_DENIED')
      const synced = await upload(await custom('postgres'), { resources: RESOURCES })
      assert.match(assertErrorBody(synced, 400, 'BAD_REQUEST').detail, /kept in step by its syncs/)
      assertFieldError(await upload(await custom(), {}), 'resources', /is required/)
    })
  })
}
