import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import SQLite from 'better-sqlite3'
import mysql from 'mysql2/promise'
import type { SourceSnapshot } from '../../src/extract/source.ts'
import { sourceAccess } from '../../src/extract/source-access.ts'
import { mysqlSource } from '../../src/extract/sources/mysql.ts'
import { sqliteSource } from '../../src/extract/sources/sqlite.ts'
import { ENGINES, MYSQL_URL, mysqlSkip, startHarness } from '../helpers.ts'

// CONTRACT §11: MySQL/MariaDB and SQLite record no dependencies of their views; docent reads them from each view's
// definition with a SQL parser.

const ANYWHERE = sourceAccess(undefined, { sqliteDirs: undefined, allowedHosts: undefined })
const MYSQL_SKIP = await mysqlSkip()
const DIR = mkdtempSync(join(tmpdir(), 'docent-view-lineage-'))
after(() => rmSync(DIR, { recursive: true, force: true }))
const random = () => Math.random().toString(36).slice(2, 10)

/** The snapshot's dependencies as `schema.table[.column] > schema.table[.column]`, sorted. */
function edgesOf(snapshot: SourceSnapshot): string[] {
  const name = (ref: { schema: string; table: string; column?: string }) =>
    [ref.schema, ref.table, ...(ref.column === undefined ? [] : [ref.column])].join('.')
  return (snapshot.dependencies ?? []).map((d) => `${name(d.from)} > ${name(d.to)}`).sort()
}

function makeSqliteSource(): string {
  const path = join(DIR, `shop-${random()}.db`)
  const db = new SQLite(path)
  db.exec(`
    create table orders (id integer primary key, customer integer, total real);
    create table customers (id integer primary key, name text);
    create view big_orders as select id, total from orders where total > 100;
    create view top_customers as select c.name, b.total from big_orders b join customers c on c.id = b.id;
    create view odd as select upper(name) as shout from customers;
  `)
  db.close()
  return path
}

describe('view lineage from a SQLite source', () => {
  test('each view reads the tables and views its definition names, and columns of the same name', async () => {
    const snapshot = await sqliteSource({ path: makeSqliteSource() }, ANYWHERE).read()
    assert.deepEqual(edgesOf(snapshot), [
      'main.big_orders > main.top_customers',
      'main.big_orders.total > main.top_customers.total',
      'main.customers > main.odd',
      'main.customers > main.top_customers',
      'main.customers.name > main.top_customers.name',
      'main.orders > main.big_orders',
      'main.orders.id > main.big_orders.id',
      'main.orders.total > main.big_orders.total',
    ])
  })

  for (const { engine, skip } of ENGINES) {
    test(`a sync into a ${engine} catalog draws the edges`, { skip }, async () => {
      const h = await startHarness(engine, { syncSqliteDirs: [DIR] })
      try {
        const path = makeSqliteSource()
        const created = await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: 'shop file', type: 'sqlite', credentials: { path } },
        })
        const integration = created.json().id
        const started = await h.request({ method: 'POST', url: `/api/v1/integration/integrations/${integration}/sync` })
        assert.equal(started.statusCode, 202, started.body)
        let status = 'queued'
        for (let i = 0; i < 200 && (status === 'queued' || status === 'running'); i++) {
          const run = await h.request({
            method: 'GET',
            url: `/api/v1/integration/integrations/${integration}/runs/${started.json().id}`,
          })
          status = run.json().status
          if (status === 'queued' || status === 'running') await new Promise((resolve) => setTimeout(resolve, 50))
        }
        assert.equal(status, 'succeeded')
        const orders = await h.request({
          method: 'GET',
          url: `/api/v1/table/tables?integration_id=${integration}&title=orders`,
        })
        const id = orders.json().results[0].id
        const graph = await h.request({ method: 'GET', url: `/api/v1/lineage/graph/${id}?direction=downstream` })
        const titles = graph
          .json()
          .nodes.map((n: { title: string }) => n.title)
          .sort()
        assert.deepEqual(titles, ['big_orders', 'orders', 'top_customers'])
      } finally {
        await h.close()
      }
    })
  }
})

describe('view lineage from a MySQL or MariaDB source', { skip: MYSQL_SKIP }, () => {
  test('views read through their rewritten definitions, across databases of the server', async () => {
    const shop = `docent_views_${random()}`
    const reports = `docent_reports_${random()}`
    const admin = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true })
    try {
      await admin.query(`
        create database ${shop}; create database ${reports};
        create table ${shop}.orders (id int primary key, customer varchar(40), total decimal(10,2));
        create view ${shop}.big_orders as select id, total from ${shop}.orders where total > 100;
        create view ${reports}.revenue as select customer, sum(total) as total from ${shop}.orders group by customer;
      `)
      const url = new URL(MYSQL_URL)
      const snapshot = await mysqlSource({ url: url.toString() }).read()
      const mine = edgesOf(snapshot).filter((edge) => edge.includes(shop) || edge.includes(reports))
      assert.deepEqual(mine, [
        `${shop}.orders > ${reports}.revenue`,
        `${shop}.orders > ${shop}.big_orders`,
        `${shop}.orders.customer > ${reports}.revenue.customer`,
        `${shop}.orders.id > ${shop}.big_orders.id`,
        `${shop}.orders.total > ${reports}.revenue.total`,
        `${shop}.orders.total > ${shop}.big_orders.total`,
      ])
    } finally {
      await admin.query(`drop database if exists ${shop}; drop database if exists ${reports}`)
      await admin.end()
    }
  })
})

for (const { engine, skip } of ENGINES) {
  describe(`a view whose definition could not be read keeps its edges, on ${engine}`, { skip }, () => {
    test('until a sync reads it again', async () => {
      const h = await startHarness(engine)
      try {
        const { syncSnapshot } = await import('../../src/extract/sync.ts')
        const integration = (
          await h.request({
            method: 'POST',
            url: '/api/v1/integration/integrations',
            body: { name: 'v', type: 'sqlite' },
          })
        ).json().id
        const table = (name: string, nativeType = 'BASE TABLE') => ({
          name,
          nativeType,
          comment: null,
          rowCount: null,
          byteSize: null,
          columns: [{ name: 'id', position: 1, dataType: 'int', nullable: false, isPk: true, comment: null }],
        })
        const databases = [
          {
            name: 'db',
            comment: null,
            schemas: [{ name: 'main', comment: null, tables: [table('t'), table('v', 'VIEW')] }],
          },
        ]
        const reads = {
          from: { database: 'db', schema: 'main', table: 't' },
          to: { database: 'db', schema: 'main', table: 'v' },
        }
        const target = { integrationId: integration, workspaceId: h.workspaceId, teamIds: [h.defaultTeamId] }
        const edges = async () =>
          Number(
            (
              await h.store.db
                .selectFrom('lineage_edges')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('integration_id', '=', integration)
                .executeTakeFirstOrThrow()
            ).n,
          )
        await syncSnapshot(h.store, target, { databases, dependencies: [reads], problems: [] })
        assert.equal(await edges(), 1)
        const unreadViews = [{ database: 'db', schema: 'main', table: 'v' }]
        await syncSnapshot(h.store, target, { databases, dependencies: [], unreadViews, problems: [] })
        assert.equal(await edges(), 1, 'kept while the view cannot be read')
        await syncSnapshot(h.store, target, { databases, dependencies: [], problems: [] })
        assert.equal(await edges(), 0, 'removed once a sync reads that it reads nothing')
      } finally {
        await h.close()
      }
    })
  })
}
