import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import SQLite from 'better-sqlite3'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { buildApp } from '../../src/app.ts'
import type { Resource } from '../../src/catalog/resource-schema.ts'
import { openStore } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { nowIso } from '../../src/db/values.ts'
import { insertIntegration } from '../../src/directory/integrations/repository.ts'
import { generateApiKey } from '../../src/directory/keys/repository.ts'
import { createWorkspace } from '../../src/directory/workspaces/repository.ts'
import { finishRun, insertRun, type SyncRun } from '../../src/extract/runs.ts'
import { SQLITE_REFUSED } from '../../src/extract/source-access.ts'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  MYSQL_URL,
  makeKey,
  makeTag,
  makeTeam,
  makeUser,
  makeWorkspace,
  mysqlSkip,
  POSTGRES_URL,
  runDocent,
  startHarness,
} from '../helpers.ts'

const MYSQL_SKIP = await mysqlSkip()

const SECRET = 'Sync-s3cret-pw'
const INTEGRATIONS = '/api/v1/integration/integrations'
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const POLL_MS = 25
const RUN_TIMEOUT_MS = 20_000
const FINAL = ['succeeded', 'partial', 'failed']

const POSTGRES_SKIP = ENGINES.find((e) => e.engine === 'postgres')?.skip ?? 'PostgreSQL not selected'

const random = () => Math.random().toString(36).slice(2, 10)
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The one folder the apps of these tests let a sync read SQLite files in (DOCENT_SYNC_SQLITE_DIRS). */
const SOURCES_DIR = mkdtempSync(join(tmpdir(), 'docent-sync-sources-'))
after(() => rmSync(SOURCES_DIR, { recursive: true, force: true }))

/** `base` with another database path and, when given, another user and password. */
function urlWith(base: string, changes: { database?: string; user?: string; password?: string }): string {
  const url = new URL(base)
  if (changes.database !== undefined) url.pathname = `/${changes.database}`
  if (changes.user !== undefined) url.username = changes.user
  if (changes.password !== undefined) url.password = changes.password
  return url.toString()
}

/** A column as the catalog should hold it: title, sort_order, type, is_nullable, is_pk. */
type ColumnRow = [string, number, string, boolean, boolean]
type TableName = 'orders' | 'order_lines' | 'big_orders' | 'people'

/**
 * One source database made for a test: `orders` (commented, with a commented column), `order_lines` (a composite
 * primary key), the view `big_orders`, and `people`, which the tests drop and recreate.
 */
interface Source {
  type: 'postgres' | 'mysql' | 'sqlite'
  credentials: Record<string, string>
  /** A part of the credentials that no answer may hold. */
  secret: string
  database: string
  /** The schema of orders, order_lines and big_orders; people's; and every schema the source has. */
  schema: string
  peopleSchema: string
  schemas: string[]
  columns: Record<TableName, ColumnRow[]>
  /** Descriptions by title_full, where a comment gives one; every other resource has ''. */
  descriptions: Record<string, string>
  /** Row estimates of orders, order_lines and people after the ANALYZE the setup runs. */
  rowCounts: Record<Exclude<TableName, 'big_orders'>, number>
  run(sql: string): Promise<void>
  /** Changes the comments on orders, orders.customer, order_lines and order_lines.qty; null without comments. */
  changeComments: string | null
  dropPeople: string
  createPeople: string
  /** Adds the column `extra varchar(10)` to orders, and drops it. */
  addExtra: string
  dropExtra: string
  /** Creates and drops a table named `order_lines.qty` (one column, x), a name that holds a dot. */
  createDotted: string
  dropDotted: string
  /** Makes part of the source unreadable (for other credentials, when given), and what the run must say; `fix` undoes it. */
  problem: { make: string; credentials?: Record<string, string>; message: RegExp; fix: string }
  /** Credentials that cannot work, and what the failed run must say. */
  broken: { credentials: Record<string, string>; message: RegExp }[]
  close(): Promise<void>
}

const ROWS = `(1, 'ada', null, 50), (2, 'bob', 'rush', 150), (3, 'cy', null, 250), (4, 'di', null, 20), (5, 'ed', null, 500)`
const LINES =
  '(1, 1, 2), (1, 2, 1), (2, 1, 5), (2, 2, 1), (3, 1, 1), (3, 2, 2), (3, 3, 3), (4, 1, 1), (5, 1, 9), (5, 2, 4)'

async function makePostgresSource(): Promise<Source> {
  const database = `docent_sync_src_${random()}`
  const base = new URL(POSTGRES_URL)
  // The server trusts local connections; a password in the URL is then never asked for, only carried along.
  const password = base.password === '' ? SECRET : decodeURIComponent(base.password)
  const url = urlWith(POSTGRES_URL, { database, password })
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${database}`)
  } finally {
    await admin.end()
  }
  const run = async (text: string) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query(text)
    } finally {
      await client.end()
    }
  }
  const createPeople = 'create table hr.people (id integer primary key, name text not null)'
  await run(`
    comment on database ${database} is 'Source for tests';
    comment on schema public is 'The default schema';
    create schema sales; comment on schema sales is 'Orders and their lines';
    create schema hr;
    create table sales.orders (id integer primary key, customer varchar(40) not null, note text, total numeric(10,2));
    comment on table sales.orders is 'One row per order';
    comment on column sales.orders.customer is 'Who placed the order';
    create table sales.order_lines (order_id integer not null references sales.orders, line_no smallint not null,
      qty bigint, primary key (order_id, line_no));
    create view sales.big_orders as select id, total from sales.orders where total > 100;
    comment on view sales.big_orders is 'Orders over 100';
    ${createPeople};
    insert into sales.orders values ${ROWS};
    insert into sales.order_lines values ${LINES};
    insert into hr.people values (1, 'Ada'), (2, 'Grace');
    analyze;
  `)
  const role = `docent_sync_role_${random()}`
  const unreachable = urlWith(POSTGRES_URL, { password }).replace(/@[^/]+/, '@127.0.0.1:1')
  const missing = `docent_sync_missing_${random()}`
  return {
    type: 'postgres',
    credentials: { url },
    secret: password,
    database,
    schema: 'sales',
    peopleSchema: 'hr',
    schemas: ['hr', 'public', 'sales'],
    columns: {
      orders: [
        ['id', 1, 'integer', false, true],
        ['customer', 2, 'character varying(40)', false, false],
        ['note', 3, 'text', true, false],
        ['total', 4, 'numeric(10,2)', true, false],
      ],
      order_lines: [
        ['order_id', 1, 'integer', false, true],
        ['line_no', 2, 'smallint', false, true],
        ['qty', 3, 'bigint', true, false],
      ],
      big_orders: [
        ['id', 1, 'integer', true, false],
        ['total', 2, 'numeric(10,2)', true, false],
      ],
      people: [
        ['id', 1, 'integer', false, true],
        ['name', 2, 'text', false, false],
      ],
    },
    descriptions: {
      [database]: 'Source for tests',
      [`${database}.public`]: 'The default schema',
      [`${database}.sales`]: 'Orders and their lines',
      [`${database}.sales.orders`]: 'One row per order',
      [`${database}.sales.orders.customer`]: 'Who placed the order',
      [`${database}.sales.big_orders`]: 'Orders over 100',
    },
    rowCounts: { orders: 5, order_lines: 10, people: 2 },
    run,
    changeComments: `
      comment on table sales.orders is 'Changed in the source';
      comment on column sales.orders.customer is 'Changed in the source';
      comment on table sales.order_lines is 'Lines of an order';
      comment on column sales.order_lines.qty is 'How many'`,
    dropPeople: 'drop table hr.people',
    createPeople,
    addExtra: 'alter table sales.orders add column extra varchar(10)',
    dropExtra: 'alter table sales.orders drop column extra',
    createDotted: 'create table sales."order_lines.qty" (x integer)',
    dropDotted: 'drop table sales."order_lines.qty"',
    problem: {
      make: `create schema vault; create table vault.keys (k text); revoke all on schema vault from public;
        create role ${role} login; grant usage on schema sales, hr to ${role}`,
      credentials: { url: urlWith(url, { user: role }) },
      message: new RegExp(`schema "vault" was not read: user "${role}" has no USAGE privilege on it`),
      fix: `drop schema vault cascade; drop owned by ${role}; drop role ${role}`,
    },
    broken: [
      { credentials: { url: unreachable }, message: /127\.0\.0\.1:1 .*connection refused/ },
      {
        credentials: { url: urlWith(POSTGRES_URL, { database: missing, password }) },
        message: new RegExp(`database "${missing}" does not exist`),
      },
    ],
    async close() {
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${database} with (force)`)
        await client.query(`drop role if exists ${role}`)
      } finally {
        await client.end()
      }
    },
  }
}

async function makeMysqlSource(): Promise<Source> {
  const database = `docent_sync_src_${random()}`
  const user = `docent_sync_${random()}`
  const admin = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true })
  const [rows] = await admin.query<mysql.RowDataPacket[]>('select version() as v')
  const mariadb = /mariadb/i.test(String(rows[0]?.v))
  // MariaDB spells `int(11)`; MySQL 8 dropped the display width of integer types.
  const spelled = (type: string) => (mariadb ? type : type.replace(/^(\w*int)\(\d+\)/, '$1'))
  const createPeople = 'create table people (id int primary key, name text not null)'
  await admin.query(`
    create database ${database} ${mariadb ? "comment 'Orders and their lines'" : ''};
    use ${database};
    create table orders (id int primary key, customer varchar(40) not null comment 'Who placed the order',
      note text, total decimal(10,2)) comment 'One row per order';
    create table order_lines (order_id int not null, line_no smallint not null, qty bigint,
      primary key (order_id, line_no));
    create view big_orders as select id, total from orders where total > 100;
    ${createPeople};
    insert into orders values ${ROWS};
    insert into order_lines values ${LINES};
    insert into people values (1, 'Ada'), (2, 'Grace');
    analyze table orders, order_lines, people;
    create user '${user}'@'%' identified by '${SECRET}';
    grant select, show view on ${database}.* to '${user}'@'%';
  `)
  const url = urlWith(MYSQL_URL, { user, password: SECRET, database })
  return {
    type: 'mysql',
    credentials: { url },
    secret: SECRET,
    database,
    schema: database,
    peopleSchema: database,
    schemas: [database],
    columns: {
      orders: [
        ['id', 1, spelled('int(11)'), false, true],
        ['customer', 2, 'varchar(40)', false, false],
        ['note', 3, 'text', true, false],
        ['total', 4, 'decimal(10,2)', true, false],
      ],
      order_lines: [
        ['order_id', 1, spelled('int(11)'), false, true],
        ['line_no', 2, spelled('smallint(6)'), false, true],
        ['qty', 3, spelled('bigint(20)'), true, false],
      ],
      // A view's column keeps its table column's nullability.
      big_orders: [
        ['id', 1, spelled('int(11)'), false, false],
        ['total', 2, 'decimal(10,2)', true, false],
      ],
      people: [
        ['id', 1, spelled('int(11)'), false, true],
        ['name', 2, 'text', false, false],
      ],
    },
    descriptions: {
      ...(mariadb ? { [`${database}.${database}`]: 'Orders and their lines' } : {}),
      [`${database}.${database}.orders`]: 'One row per order',
      [`${database}.${database}.orders.customer`]: 'Who placed the order',
    },
    rowCounts: { orders: 5, order_lines: 10, people: 2 },
    run: async (sql) => {
      await admin.query(sql)
    },
    changeComments: `
      alter table orders comment = 'Changed in the source',
        modify customer varchar(40) not null comment 'Changed in the source';
      alter table order_lines comment = 'Lines of an order', modify qty bigint comment 'How many'`,
    dropPeople: 'drop table people',
    createPeople,
    addExtra: 'alter table orders add column extra varchar(10)',
    dropExtra: 'alter table orders drop column extra',
    createDotted: 'create table `order_lines.qty` (x int)',
    dropDotted: 'drop table `order_lines.qty`',
    problem: {
      make: 'create table gone (x int); create view broken as select x from gone; drop table gone',
      message: /broken.*fix or drop the view/,
      fix: 'drop view broken',
    },
    broken: [
      {
        credentials: { url: urlWith(url, { password: `${SECRET}-wrong` }) },
        message: /Access denied .*check the user name and password/,
      },
      {
        credentials: { url: url.replace(/@[^/]+/, '@127.0.0.1:1') },
        message: /127\.0\.0\.1:1 .*connection refused/,
      },
    ],
    async close() {
      await admin.query(`drop database if exists ${database}; drop user if exists '${user}'@'%'`)
      await admin.end()
    },
  }
}

async function makeSqliteSource(): Promise<Source> {
  const dir = mkdtempSync(join(SOURCES_DIR, 'src-'))
  const database = `shop_${random()}`
  const path = join(dir, `${database}.db`)
  const run = async (sql: string) => {
    const db = new SQLite(path)
    try {
      db.exec(sql)
    } finally {
      db.close()
    }
  }
  const createPeople = 'create table people (id integer not null primary key, name text not null)'
  await run(`
    create table orders (id integer not null primary key, customer varchar(40) not null, note text,
      total numeric(10,2));
    create table order_lines (order_id integer not null, line_no integer not null, qty bigint,
      primary key (order_id, line_no));
    create view big_orders as select id, total from orders where total > 100;
    ${createPeople};
    insert into orders values ${ROWS};
    insert into order_lines values ${LINES};
    insert into people values (1, 'Ada'), (2, 'Grace');
    analyze;
  `)
  const missing = join(dir, 'missing.db')
  return {
    type: 'sqlite',
    credentials: { path },
    secret: path,
    database,
    schema: 'main',
    peopleSchema: 'main',
    schemas: ['main'],
    columns: {
      orders: [
        ['id', 1, 'INTEGER', false, true],
        ['customer', 2, 'varchar(40)', false, false],
        ['note', 3, 'TEXT', true, false],
        ['total', 4, 'numeric(10,2)', true, false],
      ],
      order_lines: [
        ['order_id', 1, 'INTEGER', false, true],
        ['line_no', 2, 'INTEGER', false, true],
        ['qty', 3, 'bigint', true, false],
      ],
      big_orders: [
        ['id', 1, 'INTEGER', true, false],
        ['total', 2, 'numeric(10,2)', true, false],
      ],
      people: [
        ['id', 1, 'INTEGER', false, true],
        ['name', 2, 'TEXT', false, false],
      ],
    },
    descriptions: {},
    rowCounts: { orders: 5, order_lines: 10, people: 2 },
    run,
    changeComments: null,
    dropPeople: 'drop table people',
    createPeople,
    addExtra: 'alter table orders add column extra varchar(10)',
    dropExtra: 'alter table orders drop column extra',
    createDotted: 'create table "order_lines.qty" (x integer)',
    dropDotted: 'drop table "order_lines.qty"',
    problem: {
      make: 'create table gone (x); create view broken as select x from gone; drop table gone',
      message: /the columns of broken cannot be read: .*no such table.* fix or drop it/,
      fix: 'drop view broken',
    },
    broken: [{ credentials: { path: missing }, message: new RegExp(`^${literally(SQLITE_REFUSED)}$`) }],
    async close() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const SOURCE_KINDS: { type: Source['type']; skip: string | false; make(): Promise<Source> }[] = [
  { type: 'postgres', skip: POSTGRES_SKIP, make: makePostgresSource },
  { type: 'mysql', skip: MYSQL_SKIP, make: makeMysqlSource },
  { type: 'sqlite', skip: false, make: makeSqliteSource },
]

type Call = (options: InjectOptions & { body?: unknown }) => Promise<LightMyRequestResponse>

/** Every page of a list route. */
async function listAll(call: Call, url: string): Promise<Resource[]> {
  const results: Resource[] = []
  for (let page = 1; ; page += 1) {
    const response = await call({
      method: 'GET',
      url: `${url}${url.includes('?') ? '&' : '?'}page=${page}&page_size=100`,
    })
    assert.equal(response.statusCode, 200, response.body)
    const body = response.json()
    results.push(...body.results)
    if (body.meta.next_page === null) return results
  }
}

/** Every resource of an integration through List Resources, by id. */
async function catalogOf(call: Call, integrationId: string): Promise<Map<string, Resource>> {
  const filter = encodeURIComponent(
    JSON.stringify({ operator: 'exact', field: 'integration_id', value: integrationId }),
  )
  const resources = await listAll(call, `/api/v1/resource/catalog?filter=${filter}`)
  return new Map(resources.map((r) => [r.id, r]))
}

const byTitleFull = (resources: Map<string, Resource>) => new Map([...resources.values()].map((r) => [r.title_full, r]))

function get<T>(map: Map<string, T>, key: string): T {
  const found = map.get(key)
  assert.ok(found !== undefined, `${key} in ${[...map.keys()].join(', ')}`)
  return found
}

/** Polls a run (every POLL_MS, at most RUN_TIMEOUT_MS) until it ends. */
async function waitForRun(call: Call, integrationId: string, runId: string): Promise<SyncRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS
  for (;;) {
    const response = await call({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs/${runId}` })
    assert.equal(response.statusCode, 200, response.body)
    const run = response.json() as SyncRun
    if (FINAL.includes(run.status)) return run
    assert.ok(Date.now() < deadline, `run ${runId} still ${run.status} after ${RUN_TIMEOUT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** POST /sync (202 queued), then the run once it ended. */
async function sync(call: Call, integrationId: string): Promise<SyncRun> {
  const started = await call({ method: 'POST', url: `${INTEGRATIONS}/${integrationId}/sync` })
  assert.equal(started.statusCode, 202, started.body)
  const body = started.json()
  assert.deepEqual(Object.keys(body).sort(), ['id', 'status'])
  assert.equal(body.status, 'queued')
  return waitForRun(call, integrationId, body.id)
}

function assertFinished(run: SyncRun, status: SyncRun['status'], integrationId: string) {
  assert.equal(run.status, status, `run ${run.status}: ${run.error}`)
  assert.equal(run.integration, integrationId)
  assert.match(run.started_at ?? '', ISO_MS)
  assert.match(run.finished_at ?? '', ISO_MS)
  assert.ok((run.started_at ?? '') <= (run.finished_at ?? ''))
  if (status === 'succeeded') assert.equal(run.error, null)
}

const ZERO = { created: 0, updated: 0, unchanged: 0, staled: 0 }

for (const { engine, skip } of ENGINES) {
  describe(`sync into a ${engine} catalog`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine, { syncSqliteDirs: [SOURCES_DIR] })
    })
    after(() => h?.close())

    describe('POST /integration/integrations with source credentials', () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['sqlite', { path: 'relative.db' }, /must be absolute/],
        ['sqlite', { url: 'sqlite:/x.db' }, /sqlite credentials must be \{"path"/],
        ['postgres', { url: `mysql://u:${SECRET}@127.0.0.1/d` }, /must start with postgres:\/\/ or postgresql:\/\//],
        ['postgres', { path: '/x.db' }, /postgres credentials must be \{"url"/],
        ['mysql', { url: `postgres://u:${SECRET}@127.0.0.1/d` }, /must start with mysql:\/\//],
        ['mysql', { url: `not a url ${SECRET}` }, /not a valid URL/],
      ]

      test('answers 400 naming credentials for credentials of the wrong shape, and writes nothing', async () => {
        const count = async () => (await h.request({ method: 'GET', url: INTEGRATIONS })).json().count
        const before = await count()
        for (const [type, credentials, message] of cases) {
          const response = await h.request({
            method: 'POST',
            url: INTEGRATIONS,
            body: { name: 'Bad', type, credentials },
          })
          assertFieldError(response, 'credentials', message)
          assert.ok(!response.body.includes(SECRET), `the secret leaked: ${response.body}`)
        }
        assert.equal(await count(), before)
      })

      const sqliteIntegration = async () => {
        const created = await h.request({
          method: 'POST',
          url: INTEGRATIONS,
          body: { name: 'Shape', type: 'sqlite', credentials: { path: join(SOURCES_DIR, 'shape.db') } },
        })
        assert.equal(created.statusCode, 201, created.body)
        return created.json().id as string
      }

      test('answers 400 naming credentials when PATCH gives credentials of the wrong shape', async () => {
        const id = await sqliteIntegration()
        for (const [type, credentials, message] of cases) {
          const response = await h.request({
            method: 'PATCH',
            url: `${INTEGRATIONS}/${id}`,
            body: { type, credentials },
          })
          assertFieldError(response, 'credentials', message)
          assert.ok(!response.body.includes(SECRET), `the secret leaked: ${response.body}`)
        }
        const relative = await h.request({
          method: 'PATCH',
          url: `${INTEGRATIONS}/${id}`,
          body: { credentials: { path: 'relative.db' } },
        })
        assertFieldError(relative, 'credentials', /must be absolute/)
      })

      test('answers 400 naming credentials when PATCH changes the type to one the stored credentials do not fit', async () => {
        const id = await sqliteIntegration()
        const response = await h.request({ method: 'PATCH', url: `${INTEGRATIONS}/${id}`, body: { type: 'postgres' } })
        assertFieldError(response, 'credentials', /postgres credentials must be/)
        assert.equal((await h.request({ method: 'GET', url: `${INTEGRATIONS}/${id}` })).json().type, 'sqlite')
      })
    })

    describe('POST /integration/integrations/{id}/sync: who may', () => {
      let integrationId: string
      before(async () => {
        const created = await h.request({
          method: 'POST',
          url: INTEGRATIONS,
          body: { name: 'Access', type: 'sqlite', credentials: { path: join(SOURCES_DIR, 'nowhere', 'access.db') } },
        })
        assert.equal(created.statusCode, 201, created.body)
        integrationId = created.json().id
      })

      const runsOf = async () =>
        (await h.request({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs` })).json().count

      test('answers 403 to editors and viewers, and queues nothing', async () => {
        for (const role of ['editor', 'viewer'] as const) {
          const authorization = await makeKey(h, await makeUser(h, { role }))
          const response = await h.request({
            method: 'POST',
            url: `${INTEGRATIONS}/${integrationId}/sync`,
            headers: { authorization },
          })
          assertErrorBody(response, 403, 'PERMISSION_DENIED')
        }
        assert.equal(await runsOf(), 0)
      })

      test('answers 404 for an integration of another workspace, on sync and on its runs', async () => {
        const other = await makeWorkspace(h)
        const headers = { authorization: other.authorization }
        const posted = await h.request({ method: 'POST', url: `${INTEGRATIONS}/${integrationId}/sync`, headers })
        assertErrorBody(posted, 404, 'NOT_FOUND')
        assertErrorBody(
          await h.request({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs`, headers }),
          404,
          'NOT_FOUND',
        )
        assert.equal(await runsOf(), 0)
      })

      test('answers 404 for an unknown integration or run id', async () => {
        for (const id of [randomUUID(), 'not-a-uuid']) {
          assertErrorBody(await h.request({ method: 'POST', url: `${INTEGRATIONS}/${id}/sync` }), 404, 'NOT_FOUND')
          assertErrorBody(
            await h.request({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs/${id}` }),
            404,
            'NOT_FOUND',
          )
        }
      })

      test('ends the run failed, without saying why nor naming the file, when the SQLite file does not exist', async () => {
        const run = await sync(h.request, integrationId)
        assertFinished(run, 'failed', integrationId)
        assert.equal(run.error, SQLITE_REFUSED)
        assert.deepEqual(run.counts, ZERO)
      })

      test('ends the run failed for an integration of a type docent cannot read', async () => {
        const created = await h.request({
          method: 'POST',
          url: INTEGRATIONS,
          body: { name: 'Other', type: 'snowflake' },
        })
        const id = created.json().id
        const run = await sync(h.request, id)
        assertFinished(run, 'failed', id)
        assert.match(run.error ?? '', /type 'snowflake' cannot be synced/)
      })
    })

    for (const kind of SOURCE_KINDS) {
      describe(`a ${kind.type} source`, { skip: kind.skip }, () => {
        let source: Source
        let integrationId: string
        let teamId: string
        /** Every answer of this source's tests, to check that none held the credentials. */
        const bodies: string[] = []
        const call: Call = async (options) => {
          const response = await h.request(options)
          bodies.push(response.body)
          return response
        }
        let first: SyncRun
        let catalog: Map<string, Resource>
        let paths: Map<string, Resource>
        const path = (...parts: string[]) => [source.database, ...parts].join('.')

        before(async () => {
          source = await kind.make()
          teamId = await makeTeam(h)
          const created = await call({
            method: 'POST',
            url: INTEGRATIONS,
            body: { name: `${kind.type} source`, type: source.type, credentials: source.credentials, teams: [teamId] },
          })
          assert.equal(created.statusCode, 201, created.body)
          assert.equal(created.json().credentials, undefined)
          integrationId = created.json().id
        })
        after(() => source?.close())

        test('POST /sync answers 202 queued, and the run ends succeeded having created every object', async () => {
          first = await sync(call, integrationId)
          assertFinished(first, 'succeeded', integrationId)
          catalog = await catalogOf(call, integrationId)
          paths = byTitleFull(catalog)
          assert.deepEqual(first.counts, { ...ZERO, created: catalog.size })
          const columns = Object.values(source.columns).reduce((n, c) => n + c.length, 0)
          assert.equal(catalog.size, 1 + source.schemas.length + 4 + columns)
        })

        test('GET /runs lists the run, newest first, as GET /runs/{id} gives it', async () => {
          const response = await call({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs` })
          assert.equal(response.statusCode, 200, response.body)
          const body = response.json()
          assert.equal(body.count, 1)
          assert.deepEqual(body.results, [first])
          for (const field of ['id', 'status', 'started_at', 'finished_at', 'counts', 'error']) {
            assert.ok(field in first, field)
          }
        })

        test('reads the database and its schemas into the hierarchy', async () => {
          const databases = [...catalog.values()].filter((r) => r.entity_type === 'database')
          assert.deepEqual(
            databases.map((d) => [d.title, d.title_full, d.parent, d.native_type]),
            [[source.database, source.database, null, 'database']],
          )
          const database = databases[0] as Resource
          assert.deepEqual(database.search_metadata, { database: source.database, schema: null, type: 'database' })
          const schemas = [...catalog.values()].filter((r) => r.entity_type === 'schema')
          assert.deepEqual(schemas.map((s) => s.title).sort(), source.schemas)
          for (const schema of schemas) {
            assert.equal(schema.parent, database.id)
            assert.equal(schema.title_full, path(schema.title))
            assert.equal(schema.native_type, 'schema')
            assert.deepEqual(schema.search_metadata, {
              database: source.database,
              schema: schema.title,
              type: 'schema',
            })
          }
          const listed = await listAll(call, `/api/v1/database/schemas?integration_id=${integrationId}`)
          assert.deepEqual(listed.map((s) => s.id).sort(), schemas.map((s) => s.id).sort())
        })

        test('reads tables and views under their schema, with native_type, row_count and byte_size', async () => {
          const schema = get(paths, path(source.schema))
          const listed = await listAll(
            call,
            `/api/v1/table/tables?integration_id=${integrationId}&parent_id=${schema.id}`,
          )
          const expected = [
            'big_orders',
            'order_lines',
            'orders',
            ...(source.peopleSchema === source.schema ? ['people'] : []),
          ]
          assert.deepEqual(listed.map((t) => t.title).sort(), expected)
          for (const name of ['orders', 'order_lines', 'big_orders', 'people'] as const) {
            const schemaName = name === 'people' ? source.peopleSchema : source.schema
            const table = get(paths, path(schemaName, name))
            assert.equal(table.entity_type, 'table')
            assert.equal(table.parent, get(paths, path(schemaName)).id)
            assert.equal(table.native_type, name === 'big_orders' ? 'VIEW' : 'BASE TABLE', name)
            assert.equal(table.database, source.database)
            assert.equal(table.schema, schemaName)
            assert.deepEqual(table.search_metadata, { database: source.database, schema: schemaName, type: 'table' })
            if (name === 'big_orders') {
              assert.deepEqual([table.row_count, table.byte_size], [null, null], name)
            } else {
              assert.equal(table.row_count, source.rowCounts[name], name)
              assert.ok((table.byte_size ?? 0) > 0, `${name} byte_size ${table.byte_size}`)
            }
          }
        })

        test('makes what it read searchable in the sync itself: a table by its name, a misspelling, its path', async () => {
          const orderLines = get(paths, path(source.schema, 'order_lines'))
          // Every source of these tests has an order_lines table: this integration's only.
          const filter = encodeURIComponent(
            JSON.stringify({ operator: 'exact', field: 'integration_id', value: integrationId }),
          )
          for (const term of ['order_lines', 'ordr_lines', `${source.schema}.order_lines`]) {
            const response = await call({
              method: 'GET',
              url: `/api/v1/resource/catalog?search_term=${encodeURIComponent(term)}&entity_type=table&filter=${filter}`,
            })
            assert.equal(response.statusCode, 200, response.body)
            const found = response.json().results.map((r: Resource) => r.id)
            assert.equal(found[0], orderLines.id, term)
          }
        })

        test('reads columns with type, sort_order, is_nullable and is_pk, the composite key on both its columns', async () => {
          for (const [name, expected] of Object.entries(source.columns)) {
            const schemaName = name === 'people' ? source.peopleSchema : source.schema
            const table = get(paths, path(schemaName, name))
            const columns = await listAll(call, `/api/v1/table/columns?parent_id=${table.id}`)
            columns.sort((a, b) => (a.sort_order ?? 0) - (b.sort_order ?? 0))
            assert.deepEqual(
              columns.map((c) => [c.title, c.sort_order, c.type, c.is_nullable, c.is_pk]),
              expected,
              name,
            )
            for (const column of columns) {
              assert.equal(column.entity_type, 'column')
              assert.equal(column.parent, table.id)
              assert.equal(column.native_type, column.type)
              assert.equal(column.title_full, path(schemaName, name, column.title))
              assert.equal(column.database, source.database)
              assert.equal(column.schema, schemaName)
              assert.deepEqual(column.search_metadata, {
                database: source.database,
                schema: schemaName,
                type: 'column',
              })
              assert.deepEqual([column.row_count, column.byte_size], [null, null])
            }
          }
          const lines = get(paths, path(source.schema, 'order_lines'))
          assert.equal(lines.children_count, 3)
        })

        test('makes comments descriptions, and leaves the other descriptions empty', () => {
          for (const resource of catalog.values()) {
            assert.equal(resource.description, source.descriptions[resource.title_full] ?? '', resource.title_full)
          }
          for (const key of Object.keys(source.descriptions)) get(paths, key)
        })

        test("gives every resource a databuilder_id, the integration and the integration's teams", () => {
          const ids = new Set<string>()
          for (const resource of catalog.values()) {
            assert.equal(typeof resource.databuilder_id, 'string', resource.title_full)
            assert.ok(resource.databuilder_id !== '' && !ids.has(resource.databuilder_id as string))
            ids.add(resource.databuilder_id as string)
            assert.equal(resource.integration, integrationId)
            assert.deepEqual(resource.teams, [teamId], resource.title_full)
            assert.deepEqual([resource.stale, resource.stale_at], [false, null])
          }
        })

        test('a second sync reports everything unchanged and moves no updated_at', async () => {
          const run = await sync(call, integrationId)
          assertFinished(run, 'succeeded', integrationId)
          assert.deepEqual(run.counts, { ...ZERO, unchanged: catalog.size })
          const again = await catalogOf(call, integrationId)
          assert.deepEqual(again, catalog)
        })

        test('a second POST /sync while a run is queued answers 409, and is accepted once it ended', async () => {
          const queued = await insertRun(h.store.db, { workspaceId: h.workspaceId, integrationId })
          assert.ok(queued !== undefined)
          try {
            const refused = await call({ method: 'POST', url: `${INTEGRATIONS}/${integrationId}/sync` })
            assertErrorBody(refused, 409, 'CONFLICT')
            const runs = (await call({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs` })).json()
            assert.deepEqual(
              [runs.results[0].id, runs.results[0].status, runs.results[0].started_at],
              [queued.id, 'queued', null],
            )
          } finally {
            await finishRun(h.store.db, queued.id, { status: 'failed', counts: ZERO, error: 'ended by the test' })
          }
          const run = await sync(call, integrationId)
          assertFinished(run, 'succeeded', integrationId)
          assert.deepEqual(run.counts, { ...ZERO, unchanged: catalog.size })
        })

        test("keeps a person's description and curated fields through re-syncs, even after the source comment changed", async () => {
          const orders = get(paths, path(source.schema, 'orders'))
          const customer = get(paths, path(source.schema, 'orders', 'customer'))
          const tag = await makeTag(h)
          const curated = {
            description: 'by a person',
            owners: [h.adminUserId],
            tags: [tag],
            teams: [teamId, h.defaultTeamId],
            verified: true,
            pii: true,
            published: false,
            definition: 'select * from orders',
          }
          const patched = await call({ method: 'PATCH', url: `/api/v1/resource/all/${orders.id}`, body: curated })
          assert.equal(patched.statusCode, 200, patched.body)
          const onColumn = await call({
            method: 'PATCH',
            url: `/api/v1/resource/all/${customer.id}`,
            body: { description: 'by a person too' },
          })
          assert.equal(onColumn.statusCode, 200, onColumn.body)

          const unchanged = await sync(call, integrationId)
          assertFinished(unchanged, 'succeeded', integrationId)
          assert.deepEqual(unchanged.counts, { ...ZERO, unchanged: catalog.size })

          if (source.changeComments !== null) {
            await source.run(source.changeComments)
            const run = await sync(call, integrationId)
            assertFinished(run, 'succeeded', integrationId)
            assert.equal(run.counts.created + run.counts.staled, 0)
            assert.ok(run.counts.updated >= 2, JSON.stringify(run.counts))
          }
          const after = byTitleFull(await catalogOf(call, integrationId))
          const kept = get(after, orders.title_full)
          assert.deepEqual(
            {
              description: kept.description,
              owners: kept.owners,
              tags: kept.tags,
              teams: kept.teams,
              verified: kept.verified,
              pii: kept.pii,
              published: kept.published,
              definition: kept.definition,
            },
            curated,
          )
          assert.equal(get(after, customer.title_full).description, 'by a person too')
          if (source.changeComments !== null) {
            assert.equal(get(after, path(source.schema, 'order_lines')).description, 'Lines of an order')
            assert.equal(get(after, path(source.schema, 'order_lines', 'qty')).description, 'How many')
          }
        })

        test('marks a dropped table and its columns stale without deleting them, and unmarks them, same ids, when it returns', async () => {
          const people = get(paths, path(source.peopleSchema, 'people'))
          const columns = [...catalog.values()].filter((r) => r.parent === people.id)
          const ids = [people.id, ...columns.map((c) => c.id)].sort()
          assert.equal(columns.length, 2)

          await source.run(source.dropPeople)
          const dropped = await sync(call, integrationId)
          assertFinished(dropped, 'succeeded', integrationId)
          assert.deepEqual([dropped.counts.created, dropped.counts.staled], [0, 3])
          const stale = await catalogOf(call, integrationId)
          assert.equal(stale.size, catalog.size, 'nothing deleted')
          const marked = [...stale.values()].filter((r) => r.stale)
          assert.deepEqual(marked.map((r) => r.id).sort(), ids)
          for (const resource of marked) assert.match(resource.stale_at ?? '', ISO_MS)
          const filter = encodeURIComponent(
            JSON.stringify({
              operator: 'and',
              operands: [
                { operator: 'exact', field: 'integration_id', value: integrationId },
                { operator: 'exact', field: 'stale', value: true },
              ],
            }),
          )
          const listed = await listAll(call, `/api/v1/resource/catalog?filter=${filter}`)
          assert.deepEqual(listed.map((r) => r.id).sort(), ids)

          const still = await sync(call, integrationId)
          assertFinished(still, 'succeeded', integrationId)
          assert.deepEqual(still.counts, { ...ZERO, unchanged: catalog.size - 3 })
          assert.deepEqual(await catalogOf(call, integrationId), stale, 'a second sync leaves stale_at as it was')

          await source.run(source.createPeople)
          const back = await sync(call, integrationId)
          assertFinished(back, 'succeeded', integrationId)
          assert.deepEqual([back.counts.created, back.counts.staled], [0, 0])
          assert.ok(back.counts.updated >= 3, JSON.stringify(back.counts))
          const returned = await catalogOf(call, integrationId)
          assert.equal(returned.size, catalog.size)
          for (const id of ids) {
            const resource = get(returned, id)
            assert.deepEqual([resource.stale, resource.stale_at], [false, null], resource.title_full)
          }
          assert.deepEqual(
            [...returned.values()].filter((r) => r.stale),
            [],
          )
        })

        test("creates a column added in the source in the integration's present teams, and stales it once dropped", async () => {
          const setTeams = async (teams: string[]) => {
            const response = await call({ method: 'PATCH', url: `${INTEGRATIONS}/${integrationId}`, body: { teams } })
            assert.equal(response.statusCode, 200, response.body)
          }
          const orders = get(paths, path(source.schema, 'orders'))
          await setTeams([h.defaultTeamId])
          try {
            await source.run(source.addExtra)
            const added = await sync(call, integrationId)
            assertFinished(added, 'succeeded', integrationId)
            assert.deepEqual([added.counts.created, added.counts.staled], [1, 0])
            const after = byTitleFull(await catalogOf(call, integrationId))
            const extra = get(after, path(source.schema, 'orders', 'extra'))
            assert.deepEqual(
              [extra.parent, extra.sort_order, extra.is_nullable, extra.is_pk, extra.stale],
              [orders.id, 5, true, false, false],
            )
            assert.match(extra.type ?? '', /^(varchar|character varying)\(10\)$/)
            assert.deepEqual(extra.teams, [h.defaultTeamId])
            assert.deepEqual(get(after, path(source.schema, 'order_lines')).teams, [teamId], 'teams of others kept')

            await source.run(source.dropExtra)
            const dropped = await sync(call, integrationId)
            assertFinished(dropped, 'succeeded', integrationId)
            assert.deepEqual([dropped.counts.created, dropped.counts.staled], [0, 1])
            const gone = get(await catalogOf(call, integrationId), extra.id)
            assert.equal(gone.stale, true)
            assert.match(gone.stale_at ?? '', ISO_MS)
          } finally {
            await setTeams([teamId])
          }
        })

        test('ends the run partial when part of the source cannot be read, naming it, and marks nothing stale', async () => {
          const before = await catalogOf(call, integrationId)
          const people = get(byTitleFull(before), path(source.peopleSchema, 'people'))
          const { problem } = source
          const setCredentials = async (credentials: Record<string, string>) => {
            const response = await call({
              method: 'PATCH',
              url: `${INTEGRATIONS}/${integrationId}`,
              body: { credentials },
            })
            assert.equal(response.statusCode, 200, response.body)
          }
          await source.run(problem.make)
          await source.run(source.dropPeople)
          try {
            if (problem.credentials !== undefined) await setCredentials(problem.credentials)
            const run = await sync(call, integrationId)
            assertFinished(run, 'partial', integrationId)
            assert.match(run.error ?? '', problem.message)
            assert.match(run.error ?? '', /nothing was marked stale/)
            assert.ok(!(run.error ?? '').includes(SECRET), `the password leaked: ${run.error}`)
            assert.equal(run.counts.staled, 0)
            const after = await catalogOf(call, integrationId)
            for (const [id, resource] of before) {
              assert.deepEqual(
                [get(after, id).stale, get(after, id).stale_at],
                [resource.stale, resource.stale_at],
                resource.title_full,
              )
            }
          } finally {
            if (problem.credentials !== undefined) await setCredentials(source.credentials)
            await source.run(problem.fix)
            await source.run(source.createPeople)
          }
          const run = await sync(call, integrationId)
          assertFinished(run, 'succeeded', integrationId)
          const after = await catalogOf(call, integrationId)
          // What only the partial run saw (a broken view) has left the source since.
          const extra = [...after.values()].filter((r) => !before.has(r.id))
          assert.equal(run.counts.staled, extra.length)
          assert.ok(extra.every((r) => r.stale))
          assert.equal(get(after, people.id).stale, false)
        })

        test('keeps a table whose name holds a dot apart from the column its name spells', async () => {
          const before = byTitleFull(await catalogOf(call, integrationId))
          const schema = get(before, path(source.schema))
          const qty = get(before, path(source.schema, 'order_lines', 'qty'))
          await source.run(source.createDotted)
          let run: SyncRun
          let again: SyncRun
          let after: Map<string, Resource>
          try {
            run = await sync(call, integrationId)
            after = await catalogOf(call, integrationId)
            again = await sync(call, integrationId)
          } finally {
            // Whatever happened, the next tests start from a source and a catalog without that table.
            await source.run(source.dropDotted)
            assertFinished(await sync(call, integrationId), 'succeeded', integrationId)
          }
          assertFinished(run, 'succeeded', integrationId)
          assert.deepEqual(get(after, qty.id), qty, 'the column qty is untouched')
          // By id: the new table's title_full is the column's (titles are joined with dots).
          const beforeIds = new Set([...before.values()].map((r) => r.id))
          const made = [...after.values()].filter((r) => !beforeIds.has(r.id))
          const table = made.find((r) => r.entity_type === 'table')
          assert.deepEqual(
            [table?.title, table?.parent, table?.native_type],
            ['order_lines.qty', schema.id, 'BASE TABLE'],
          )
          assert.deepEqual(
            made.filter((r) => r.entity_type === 'column').map((r) => [r.title, r.parent]),
            [['x', table?.id]],
          )
          assert.deepEqual([run.counts.created, run.counts.updated, run.counts.staled], [2, 0, 0])
          assert.deepEqual([again.counts.created, again.counts.updated, again.counts.staled], [0, 0, 0])
        })

        test('never marks stale a resource a person made under a synced schema', async () => {
          const schema = get(paths, path(source.schema))
          const made = await call({
            method: 'POST',
            url: '/api/v1/table/tables',
            body: { title: 'made by hand', parent: schema.id },
          })
          assert.equal(made.statusCode, 201, made.body)
          const id = made.json().id
          try {
            assert.equal(made.json().integration, integrationId)
            const run = await sync(call, integrationId)
            assertFinished(run, 'succeeded', integrationId)
            assert.equal(run.counts.staled, 0)
            const after = get(await catalogOf(call, integrationId), id)
            assert.deepEqual([after.stale, after.updated_at], [false, made.json().updated_at])
          } finally {
            const deleted = await call({ method: 'DELETE', url: `/api/v1/resource/all/${id}` })
            assert.equal(deleted.statusCode, 204, deleted.body)
          }
        })

        test('ends the run failed with a clear message and no password on bad credentials, and keeps the catalog', async () => {
          const before = await catalogOf(call, integrationId)
          for (const broken of source.broken) {
            const patched = await call({
              method: 'PATCH',
              url: `${INTEGRATIONS}/${integrationId}`,
              body: { credentials: broken.credentials },
            })
            assert.equal(patched.statusCode, 200, patched.body)
            const run = await sync(call, integrationId)
            assertFinished(run, 'failed', integrationId)
            assert.match(run.error ?? '', broken.message)
            assert.ok(!(run.error ?? '').includes(SECRET), `the password leaked: ${run.error}`)
            assert.deepEqual(run.counts, ZERO)
            assert.deepEqual(await catalogOf(call, integrationId), before)
          }
          const restored = await call({
            method: 'PATCH',
            url: `${INTEGRATIONS}/${integrationId}`,
            body: { credentials: source.credentials },
          })
          assert.equal(restored.statusCode, 200, restored.body)
          const run = await sync(call, integrationId)
          assertFinished(run, 'succeeded', integrationId)
          const present = [...before.values()].filter((r) => !r.stale).length
          assert.deepEqual(run.counts, { ...ZERO, unchanged: present })
        })

        test('no answer held the credentials', () => {
          assert.ok(bodies.length > 20)
          for (const body of bodies) {
            assert.ok(!body.includes(source.secret), `the credentials leaked: ${body.slice(0, 300)}`)
            assert.ok(!body.includes(SECRET), `the password leaked: ${body.slice(0, 300)}`)
            assert.ok(!body.includes('"credentials"'), `credentials answered: ${body.slice(0, 300)}`)
          }
        })
      })
    }
  })
}

describe('docent sync <integration id>', () => {
  let dir: string
  let source: Source
  let storeUrl: string
  let store: Awaited<ReturnType<typeof openStore>>
  let app: Awaited<ReturnType<typeof buildApp>>
  let workspace: { workspaceId: string; defaultTeamId: string }
  let adminKey: string
  let integrationId: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'docent-sync-cli-'))
    source = await makeSqliteSource()
    storeUrl = `sqlite:${join(dir, 'docent.db')}`
    store = await openStore(storeUrl)
    await migrateToLatest(store.db)
    adminKey = generateApiKey()
    workspace = await store.write((trx) =>
      createWorkspace(trx, { name: 'CLI', adminEmail: 'admin@example.com', adminKey }),
    )
    integrationId = await insertIntegration(
      store.db,
      workspace.workspaceId,
      { name: 'Shop', type: 'sqlite', credentials: source.credentials },
      [workspace.defaultTeamId],
      nowIso(),
    )
    app = await buildApp({ store, syncSqliteDirs: [SOURCES_DIR] })
  })
  after(async () => {
    await app?.close()
    await store?.close()
    await source?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const call: Call = ({ body, ...options }) =>
    app.inject({
      ...options,
      headers: { authorization: `Bearer ${adminKey}` },
      ...(body === undefined ? {} : { payload: body as object }),
    })
  const docent = (...args: string[]) =>
    runDocent(['sync', ...args], { env: { DOCENT_DATABASE_URL: storeUrl }, cwd: dir })
  const SUMMARY = /^docent: sync [0-9a-f-]{36} (\w+): (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) staled$/m

  test('exits 0, prints the counts on stdout, and the resources exist after', async () => {
    const result = await docent(integrationId)
    assert.equal(result.code, 0, result.stderr)
    const summary = SUMMARY.exec(result.stdout)
    assert.ok(summary !== null, `no summary line: ${result.stdout}`)
    const catalog = byTitleFull(await catalogOf(call, integrationId))
    assert.deepEqual(summary.slice(1).map(String), ['succeeded', String(catalog.size), '0', '0', '0'])
    assert.equal(catalog.size, 1 + 1 + 4 + 11)
    const lines = get(catalog, `${source.database}.main.order_lines`)
    assert.equal(lines.native_type, 'BASE TABLE')
    assert.equal(get(catalog, `${source.database}.main.order_lines.line_no`).is_pk, true)
    const runs = (await call({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs` })).json()
    assert.deepEqual(
      runs.results.map((r: SyncRun) => [r.status, r.counts.created]),
      [['succeeded', catalog.size]],
    )
  })

  test('a second run reports everything unchanged', async () => {
    const before = await catalogOf(call, integrationId)
    const result = await docent(integrationId)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(SUMMARY.exec(result.stdout)?.slice(1), ['succeeded', '0', '0', String(before.size), '0'])
    assert.deepEqual(await catalogOf(call, integrationId), before)
  })

  test('exits non-zero with the message on stderr when the source cannot be read', async () => {
    const missing = join(dir, 'missing.db')
    const broken = await insertIntegration(
      store.db,
      workspace.workspaceId,
      { name: 'Broken', type: 'sqlite', credentials: { path: missing } },
      [workspace.defaultTeamId],
      nowIso(),
    )
    const result = await docent(broken)
    assert.notEqual(result.code, 0)
    assert.equal(SUMMARY.exec(result.stdout)?.[1], 'failed')
    assert.ok(result.stderr.includes(`docent: ${SQLITE_REFUSED}\n`), result.stderr)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })

  test('refuses the store it syncs into, and a link to it, though the shell may read any other file', async () => {
    const file = storeUrl.slice('sqlite:'.length)
    const link = join(SOURCES_DIR, `store-link-${random()}.db`)
    symlinkSync(file, link)
    for (const path of [file, link]) {
      const own = await insertIntegration(
        store.db,
        workspace.workspaceId,
        { name: 'Own store', type: 'sqlite', credentials: { path } },
        [workspace.defaultTeamId],
        nowIso(),
      )
      const result = await docent(own)
      assert.notEqual(result.code, 0)
      assert.equal(SUMMARY.exec(result.stdout)?.[1], 'failed')
      assert.ok(result.stderr.includes(`docent: ${SQLITE_REFUSED}\n`), result.stderr)
    }
  })

  test('with DOCENT_SYNC_SQLITE_DIRS set, reads SQLite files only inside those folders', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'docent-sync-elsewhere-'))
    try {
      const env = { DOCENT_DATABASE_URL: storeUrl, DOCENT_SYNC_SQLITE_DIRS: elsewhere }
      const result = await runDocent(['sync', integrationId], { env, cwd: dir })
      assert.notEqual(result.code, 0)
      assert.ok(result.stderr.includes(`docent: ${SQLITE_REFUSED}\n`), result.stderr)
      const allowed = await runDocent(['sync', integrationId], {
        env: { ...env, DOCENT_SYNC_SQLITE_DIRS: `${elsewhere}:${SOURCES_DIR}` },
        cwd: dir,
      })
      assert.equal(allowed.code, 0, allowed.stderr)
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  test('exits non-zero naming an unknown integration id', async () => {
    const id = randomUUID()
    const result = await docent(id)
    assert.equal(result.code, 1)
    assert.ok(result.stderr.includes(`docent: no integration has the id ${id}`), result.stderr)
  })
})
