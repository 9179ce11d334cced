import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertFieldError,
  ENGINES,
  type Harness,
  makeDatabase,
  makeKey,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

// CONTRACT §11: /lineage/lineage_from_query names the tables (and columns) a statement reads, matched to the
// catalog by their path; the parser runs in a worker with a time limit.

interface Answer {
  sql: string
  source_tables: { id: string | null; title: string; schema_name: string | null; database_name: string | null }[]
  column_lineages: { id: string | null; table: string | null; column: string; table_id: string | null }[]
}

for (const { engine, skip } of ENGINES) {
  describe(`lineage_from_query on ${engine}`, { skip }, () => {
    let h: Harness
    const ids: Record<string, string> = {}
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h, { title: 'shop' })
      for (const schema of ['sales', 'archive']) {
        const s = await makeVia(h, '/database/schemas', { title: schema, parent: database.id })
        for (const [table, columns] of Object.entries({
          orders: ['id', 'customer', 'total'],
          customers: ['id', 'name'],
        })) {
          if (schema === 'archive' && table === 'customers') continue
          const t = await makeVia(h, '/table/tables', { title: table, parent: s.id })
          ids[`${schema}.${table}`] = t.id
          for (const column of columns) {
            ids[`${schema}.${table}.${column}`] = (
              await makeVia(h, '/table/columns', { title: column, parent: t.id })
            ).id
          }
        }
      }
      const draftSchema = await makeVia(h, '/database/schemas', { title: 'secret', parent: database.id })
      ids['secret.payroll'] = (
        await makeVia(h, '/table/tables', { title: 'payroll', parent: draftSchema.id, published: false })
      ).id
    })
    after(() => h?.close())

    const ask = async (params: Record<string, string>, authorization?: string) => {
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/lineage/lineage_from_query?${new URLSearchParams(params)}`,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json() as Answer
    }

    test('names the tables and columns a join reads, aliases resolved, matched by schema and title', async () => {
      const sql =
        'select o.id, c.name from sales.orders o join sales.customers c on c.id = o.customer where o.total > 10'
      const answer = await ask({ sql, dialect: 'postgresql' })
      assert.equal(answer.sql, sql)
      assert.deepEqual(
        answer.source_tables.map((t) => [t.id, t.title, t.schema_name, t.database_name]),
        [
          [ids['sales.orders'], 'orders', 'sales', 'shop'],
          [ids['sales.customers'], 'customers', 'sales', 'shop'],
        ],
      )
      const columns = new Map(answer.column_lineages.map((c) => [`${c.table}.${c.column}`, c.id]))
      assert.equal(columns.get('orders.id'), ids['sales.orders.id'])
      assert.equal(columns.get('orders.total'), ids['sales.orders.total'])
      assert.equal(columns.get('orders.customer'), ids['sales.orders.customer'])
      assert.equal(columns.get('customers.name'), ids['sales.customers.name'])
    })

    test('an unqualified name is looked for in the default schema; a WITH name is no table; unknown tables have no id', async () => {
      const archived = await ask({ sql: 'select id from orders', schema: 'archive', database: 'shop' })
      assert.deepEqual(
        archived.source_tables.map((t) => t.id),
        [ids['archive.orders']],
      )
      assert.equal(archived.column_lineages[0]?.id, ids['archive.orders.id'])
      const cte = await ask({
        sql: 'with recent as (select id from sales.orders) select * from recent join nowhere.things t on true',
      })
      assert.deepEqual(
        cte.source_tables.map((t) => [t.id, t.title]),
        [
          [ids['sales.orders'], 'orders'],
          [null, 'things'],
        ],
      )
      const mysql = await ask({
        sql: 'select `orders`.`id` from `sales`.`orders` join `sales`.`customers`',
        dialect: 'mysql',
      })
      assert.deepEqual(
        mysql.source_tables.map((t) => t.id),
        [ids['sales.orders'], ids['sales.customers']],
      )
      const posted = await h.request({
        method: 'POST',
        url: '/api/v1/lineage/lineage_from_query',
        body: { sql: 'select * from "sales"."customers"' },
      })
      assert.equal(posted.statusCode, 200, posted.body)
      assert.deepEqual(
        posted.json().source_tables.map((t: { id: string }) => t.id),
        [ids['sales.customers']],
      )
    })

    test('a viewer gets no match for a table it may not see', async () => {
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      const answer = await ask({ sql: 'select * from secret.payroll' }, viewer)
      assert.deepEqual(
        answer.source_tables.map((t) => t.id),
        [null],
      )
      assert.deepEqual(
        (await ask({ sql: 'select * from secret.payroll' })).source_tables.map((t) => t.id),
        [ids['secret.payroll']],
      )
    })

    test('a statement that is not SQL, an unknown dialect, and a statement the parser would take minutes on are 400', async () => {
      const get = (params: Record<string, string>) =>
        h.request({ method: 'GET', url: `/api/v1/lineage/lineage_from_query?${new URLSearchParams(params)}` })
      assertFieldError(await get({ sql: 'selec id frm orders' }), 'sql', /could not be read as postgresql/)
      assertFieldError(await get({ sql: 'select 1', dialect: 'cobol' }), 'dialect', /must be one of/)
      assertFieldError(await get({ sql: 'select 1', dialect: 'constructor' }), 'dialect', /must be one of/)
      assertFieldError(await get({ sql: '   ' }), 'sql', /is required/)
      const started = performance.now()
      const slow = await get({ sql: `select ${'('.repeat(20)}1 from t` })
      assertFieldError(slow, 'sql', /within 2 s/)
      assert.ok(performance.now() - started < 10_000)
      // The reader works again after its worker was stopped.
      assert.equal((await ask({ sql: 'select id from sales.orders' })).source_tables[0]?.id, ids['sales.orders'])
    })
  })
}
