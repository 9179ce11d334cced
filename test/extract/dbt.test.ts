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
  multipartBody,
  startHarness,
} from '../helpers.ts'

// Issue 15: dbt artifacts. The fixture is a real dbt 1.7.2 build of jaffle_shop (test/fixtures/dbt/jaffle_shop,
// provenance beside it): 5 models, 3 seeds, 20 tests and the run's results.

const FIXTURE = new URL('../fixtures/dbt/jaffle_shop/', import.meta.url)
const MANIFEST = readFileSync(new URL('manifest.json', FIXTURE), 'utf8')
const RUN_RESULTS = readFileSync(new URL('run_results.json', FIXTURE), 'utf8')

interface Resource {
  id: string
  title: string
  title_full: string
  entity_type: string
  description: string
  updated_at: string
  display_metadata: { dbt_tests?: { name: string; column: string | null; status: string | null }[] }
}

for (const { engine, skip } of ENGINES) {
  describe(`dbt artifacts into a ${engine} catalog`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const integration = async (type = 'dbt') =>
      (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: `${type} ${Math.random()}`, type },
        })
      ).json().id as string
    const upload = (id: string, files: Record<string, string>, authorization?: string) => {
      const { payload, headers } = multipartBody(
        Object.entries(files).map(([name, text]) => ({ field: name, filename: `${name}.json`, text })),
      )
      return h.request({
        method: 'POST',
        url: `/api/v1/integration/dbt/${id}/upload_artifacts`,
        payload,
        headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) },
      })
    }
    const resourcesOf = async (id: string) => {
      const filter = JSON.stringify({ operator: 'exact', field: 'integration_id', value: id })
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/resource/catalog?page_size=1000&filter=${encodeURIComponent(filter)}`,
      })
      return new Map((response.json().results as Resource[]).map((r) => [r.title_full, r]))
    }
    const upstreamOf = async (id: string) => {
      const graph = await h.request({ method: 'GET', url: `/api/v1/lineage/graph/${id}?direction=upstream&depth=1` })
      return (graph.json().nodes as Resource[])
        .slice(1)
        .map((n) => n.title)
        .sort()
    }

    test('a manifest with its run results becomes resources, descriptions, lineage and tests', async () => {
      const id = await integration()
      const response = await upload(id, { manifest: MANIFEST, run_results: RUN_RESULTS })
      assert.equal(response.statusCode, 200, response.body)
      const report = response.json()
      const resources = await resourcesOf(id)
      assert.equal(report.created, resources.size)
      assert.equal(report.tests, 20)
      assert.deepEqual(report.lineage, { added: 8, removed: 0 })
      const tables = [...resources.values()]
        .filter((r) => r.entity_type === 'table')
        .map((r) => r.title_full)
        .sort()
      assert.deepEqual(tables, [
        'tutorial.main.customers',
        'tutorial.main.orders',
        'tutorial.main.raw_customers',
        'tutorial.main.raw_orders',
        'tutorial.main.raw_payments',
        'tutorial.main.stg_customers',
        'tutorial.main.stg_orders',
        'tutorial.main.stg_payments',
      ])
      const customers = resources.get('tutorial.main.customers') as Resource
      assert.match(customers.description, /basic information about a customer/)
      assert.match(
        (resources.get('tutorial.main.customers.customer_id') as Resource).description,
        /unique identifier for a customer/,
      )
      assert.deepEqual(await upstreamOf(customers.id), ['stg_customers', 'stg_orders', 'stg_payments'])
      assert.deepEqual(await upstreamOf((resources.get('tutorial.main.stg_orders') as Resource).id), ['raw_orders'])
      const read = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${customers.id}` })).json() as Resource
      const tests = read.display_metadata.dbt_tests ?? []
      assert.deepEqual(tests.map((t) => [t.name, t.column, t.status]).sort(), [
        ['not_null_customers_customer_id', 'customer_id', 'pass'],
        ['unique_customers_customer_id', 'customer_id', 'pass'],
      ])

      // The same upload again changes nothing.
      const again = await upload(id, { manifest: MANIFEST, run_results: RUN_RESULTS })
      assert.equal(again.statusCode, 200, again.body)
      assert.deepEqual(again.json(), {
        created: 0,
        matched: 0,
        described: 0,
        columns_described: 0,
        lineage: { added: 0, removed: 0 },
        tests: 20,
      })
      const after = await resourcesOf(id)
      for (const [path, resource] of resources) assert.equal(after.get(path)?.updated_at, resource.updated_at, path)
      // Deleting the integration deletes what it made, and its edges.
      assert.equal(
        (await h.request({ method: 'DELETE', url: `/api/v1/integration/integrations/${id}` })).statusCode,
        204,
      )
      const edges = await h.request({ method: 'GET', url: `/api/v1/lineage/manual?from_entity=${customers.id}` })
      assert.equal(edges.json().count, 0)
    })

    test("tables a sync read are matched, not made twice; empty descriptions are filled, a person's kept", async () => {
      const warehouse = await integration('duckdb')
      const make = async (path: string, body: Record<string, unknown>) => {
        const response = await h.request({ method: 'POST', url: `/api/v1${path}`, body })
        assert.equal(response.statusCode, 201, response.body)
        return response.json() as Resource
      }
      const database = await make('/database/databases', { title: 'tutorial', integration: warehouse })
      const schema = await make('/database/schemas', { title: 'main', parent: database.id })
      const orders = await make('/table/tables', { title: 'orders', parent: schema.id })
      const status = await make('/table/columns', {
        title: 'status',
        parent: orders.id,
        description: 'Written by a person',
      })
      const amount = await make('/table/columns', { title: 'amount', parent: orders.id })
      const dbt = await integration()
      const response = await h.request({
        method: 'POST',
        url: `/api/v1/integration/dbt/${dbt}/upload_artifacts`,
        body: { manifest: JSON.parse(MANIFEST) },
      })
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().matched, 1)
      assert.equal(
        (await resourcesOf(dbt)).has('tutorial.main.orders'),
        false,
        'not made again under the dbt integration',
      )
      const get = async (id: string) =>
        (await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })).json() as Resource
      assert.match((await get(orders.id)).description, /basic information about orders/)
      assert.equal((await get(status.id)).description, 'Written by a person')
      assert.match((await get(amount.id)).description, /Total amount/)
      assert.deepEqual(await upstreamOf(orders.id), ['stg_orders', 'stg_payments'])
      assert.ok(((await get(orders.id)).display_metadata.dbt_tests ?? []).length > 0)
      // Artifacts go to a dbt integration, never into one a sync keeps in step.
      const into = await h.request({
        method: 'POST',
        url: `/api/v1/integration/dbt/${warehouse}/upload_artifacts`,
        body: { manifest: JSON.parse(MANIFEST) },
      })
      assert.match(assertErrorBody(into, 400, 'BAD_REQUEST').detail, /type "dbt"/)
      // Deleting the dbt integration takes its tests off the warehouse's table.
      assert.equal(
        (await h.request({ method: 'DELETE', url: `/api/v1/integration/integrations/${dbt}` })).statusCode,
        204,
      )
      assert.equal((await get(orders.id)).display_metadata.dbt_tests, undefined)
    })

    test('a malformed manifest writes nothing and names the place; only admins upload', async () => {
      const id = await integration()
      const manifest = JSON.parse(MANIFEST)
      manifest.nodes['model.jaffle_shop.orders'].schema = 42
      const refused = await upload(id, { manifest: JSON.stringify(manifest) })
      assertFieldError(refused, 'manifest.nodes["model.jaffle_shop.orders"].schema', /must be a string/)
      assert.equal((await resourcesOf(id)).size, 0)
      assertFieldError(await upload(id, { manifest: '{"nodes": ' }), 'manifest', /not valid JSON/)
      assertFieldError(await upload(id, { run_results: RUN_RESULTS }), 'manifest', /is required/)
      assertFieldError(await upload(id, { manifest: '[]' }), 'manifest', /dbt manifest/)
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assertErrorBody(await upload(id, { manifest: MANIFEST }, editor), 403, 'PERMISSION_DENIED')
      assertErrorBody(await upload('00000000-0000-4000-8000-000000000000', { manifest: MANIFEST }), 404, 'NOT_FOUND')
      const noBoundary = await h.request({
        method: 'POST',
        url: `/api/v1/integration/dbt/${id}/upload_artifacts`,
        payload: 'x',
        headers: { 'content-type': 'multipart/form-data' },
      })
      assertErrorBody(noBoundary, 400, 'BAD_REQUEST')
      const long = JSON.parse(MANIFEST)
      long.nodes['model.jaffle_shop.orders'].alias = 'x'.repeat(2000)
      assertFieldError(
        await upload(id, { manifest: JSON.stringify(long) }),
        'manifest.nodes["model.jaffle_shop.orders"].name',
        /1 to 1,024/,
      )
      assert.equal((await resourcesOf(id)).size, 0)
    })
  })
}
