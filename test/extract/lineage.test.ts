import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { ENGINES, type Harness, POSTGRES_URL, startHarness } from '../helpers.ts'

// CONTRACT §11: lineage found by extraction. A PostgreSQL source's views and materialized views become edges from
// what they read (tables, views, columns of the same name), in step with every sync; manual edges stay.

const INTEGRATIONS = '/api/v1/integration/integrations'
const POSTGRES_SKIP = ENGINES.find((e) => e.engine === 'postgres')?.skip ?? false
const random = () => Math.random().toString(36).slice(2, 10)

interface Resource {
  id: string
  title_full: string
  entity_type: string
}

for (const { engine, skip } of ENGINES) {
  describe(`lineage from a PostgreSQL source, into a ${engine} catalog`, { skip: skip || POSTGRES_SKIP }, () => {
    let h: Harness
    let admin: pg.Client
    let source: pg.Client
    let integrationId: string
    const database = `docent_lineage_${random()}`
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${database}`

    before(async () => {
      h = await startHarness(engine)
      admin = new pg.Client({ connectionString: POSTGRES_URL })
      await admin.connect()
      await admin.query(`create database ${database}`)
      source = new pg.Client({ connectionString: url.toString() })
      await source.connect()
      await source.query(`
        create schema sales; create schema reporting;
        create table sales.orders (id integer primary key, customer text, total numeric);
        create table sales.order_lines (order_id integer, qty integer);
        create view sales.big_orders as select id, total from sales.orders where total > 100;
        create view sales.top_orders as select id from sales.big_orders order by total desc limit 10;
        create materialized view sales.order_totals as
          select order_id, sum(qty) as qty from sales.order_lines group by order_id;
        create view reporting.revenue as select customer, sum(total) as revenue from sales.orders group by customer;
      `)
      const created = await h.request({
        method: 'POST',
        url: INTEGRATIONS,
        body: { name: `lineage ${database}`, type: 'postgres', credentials: { url: url.toString() } },
      })
      assert.equal(created.statusCode, 201, created.body)
      integrationId = created.json().id
    })
    after(async () => {
      await source?.end()
      await admin?.query(`drop database if exists ${database} with (force)`)
      await admin?.end()
      await h?.close()
    })

    const sync = async () => {
      const started = await h.request({ method: 'POST', url: `${INTEGRATIONS}/${integrationId}/sync` })
      assert.equal(started.statusCode, 202, started.body)
      const runId = started.json().id
      for (let i = 0; i < 300; i++) {
        const run = (await h.request({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs/${runId}` })).json()
        if (['succeeded', 'failed', 'partial'].includes(run.status)) {
          assert.equal(run.status, 'succeeded', run.error)
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.fail('the sync did not end')
    }
    const byPath = async () => {
      const found = new Map<string, Resource>()
      for (let page = 1; ; page++) {
        const response = await h.request({
          method: 'GET',
          url: `/api/v1/resource/catalog?page=${page}&page_size=1000&filter=${encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'integration_id', value: integrationId }))}`,
        })
        const body = response.json()
        for (const resource of body.results as Resource[])
          found.set(resource.title_full.slice(database.length + 1), resource)
        if (page >= body.total_pages) return found
      }
    }
    /** Every edge of the integration's resources, as `upstream > downstream` paths, with whether it is manual. */
    const edges = async (resources: Map<string, Resource>) => {
      const paths = new Map([...resources.entries()].map(([path, r]) => [r.id, path]))
      const found = new Set<string>()
      for (const resource of resources.values()) {
        const listed = await h.request({
          method: 'GET',
          url: `/api/v1/lineage/manual?from_entity=${resource.id}&page_size=1000`,
        })
        for (const edge of listed.json().results as {
          from_entity: string
          to_entity: string
          direction: string
          is_manual: boolean
        }[]) {
          const [up, down] =
            edge.direction === 'DOWNSTREAM' ? [edge.from_entity, edge.to_entity] : [edge.to_entity, edge.from_entity]
          found.add(`${paths.get(up)} > ${paths.get(down)}${edge.is_manual ? ' (manual)' : ''}`)
        }
      }
      return [...found].sort()
    }

    test('views, a view of a view, a materialized view and a view of another schema become edges, columns too', async () => {
      await sync()
      const resources = await byPath()
      assert.deepEqual(await edges(resources), [
        'sales.big_orders > sales.top_orders',
        'sales.big_orders.id > sales.top_orders.id',
        'sales.order_lines > sales.order_totals',
        'sales.order_lines.order_id > sales.order_totals.order_id',
        'sales.order_lines.qty > sales.order_totals.qty',
        'sales.orders > reporting.revenue',
        'sales.orders > sales.big_orders',
        'sales.orders.customer > reporting.revenue.customer',
        'sales.orders.id > sales.big_orders.id',
        'sales.orders.total > sales.big_orders.total',
      ])
      const graph = await h.request({
        method: 'GET',
        url: `/api/v1/lineage/graph/${resources.get('sales.orders')?.id}?direction=downstream&depth=2`,
      })
      const titles = (graph.json().nodes as Resource[]).map((n) => n.title_full.slice(database.length + 1)).sort()
      assert.deepEqual(titles, ['reporting.revenue', 'sales.big_orders', 'sales.orders', 'sales.top_orders'])
    })

    test('a second sync changes nothing; a dropped view loses its edges on the next sync, manual edges stay', async () => {
      let resources = await byPath()
      const before = await edges(resources)
      await sync()
      assert.deepEqual(await edges(await byPath()), before)
      // A manual edge to the view that goes, and one between two tables that stay.
      const manual = await h.request({
        method: 'POST',
        url: '/api/v1/lineage/manual',
        body: { from_entity: resources.get('sales.top_orders')?.id, to_entity: resources.get('sales.order_lines')?.id },
      })
      assert.equal(manual.statusCode, 201, manual.body)
      const refused = await h.request({
        method: 'DELETE',
        url: `/api/v1/lineage/manual/${
          (
            await h.request({
              method: 'GET',
              url: `/api/v1/lineage/manual?from_entity=${resources.get('sales.orders')?.id}&is_manual=false`,
            })
          ).json().results[0].id
        }`,
      })
      assert.equal(refused.statusCode, 400, 'an extracted edge is not deleted by hand')
      await source.query('drop view sales.top_orders; drop view reporting.revenue')
      await sync()
      resources = await byPath()
      assert.deepEqual(await edges(resources), [
        'sales.order_lines > sales.order_totals',
        'sales.order_lines.order_id > sales.order_totals.order_id',
        'sales.order_lines.qty > sales.order_totals.qty',
        'sales.orders > sales.big_orders',
        'sales.orders.id > sales.big_orders.id',
        'sales.orders.total > sales.big_orders.total',
        'sales.top_orders > sales.order_lines (manual)',
      ])
      // The view is kept, marked stale, as every dropped object is.
      const stale = await h.request({
        method: 'GET',
        url: `/api/v1/resource/all/${resources.get('sales.top_orders')?.id}`,
      })
      assert.equal(stale.json().stale, true)
      // It comes back, and so do its edges.
      await source.query('create view sales.top_orders as select id from sales.big_orders')
      await sync()
      assert.ok((await edges(await byPath())).includes('sales.big_orders > sales.top_orders'))
    })
  })
}
