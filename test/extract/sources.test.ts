import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import SQLite from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { ExtractError, type SourceSchema, type SourceSnapshot, type SourceTable } from '../../src/extract/source.ts'
import { SQLITE_REFUSED, sourceAccess } from '../../src/extract/source-access.ts'
import { checkCredentials, openSource } from '../../src/extract/sources/index.ts'
import { mysqlSource } from '../../src/extract/sources/mysql.ts'
import { postgresSource } from '../../src/extract/sources/postgres.ts'
import { sqliteSource } from '../../src/extract/sources/sqlite.ts'
import { ENGINES, MYSQL_URL, mysqlSkip, POSTGRES_URL } from '../helpers.ts'

const MYSQL_SKIP = await mysqlSkip()

const SECRET = 'Sup3r-secret-pw'

const POSTGRES_SKIP = ENGINES.find((e) => e.engine === 'postgres')?.skip ?? 'PostgreSQL not selected'

/** What `docent sync` may read when the operator set no folders or hosts: anything but a store (none here). */
const ANYWHERE = sourceAccess(undefined, { sqliteDirs: undefined, allowedHosts: undefined })

const random = () => Math.random().toString(36).slice(2, 10)

/** `base` with another database path and, when given, another user and password. */
function urlWith(base: string, changes: { database?: string; user?: string; password?: string }): string {
  const url = new URL(base)
  if (changes.database !== undefined) url.pathname = `/${changes.database}`
  if (changes.user !== undefined) url.username = changes.user
  if (changes.password !== undefined) url.password = changes.password
  return url.toString()
}

function schemaOf(snapshot: SourceSnapshot, name: string): SourceSchema {
  const schema = snapshot.databases[0]?.schemas.find((s) => s.name === name)
  assert.ok(schema, `schema ${name} in ${snapshot.databases[0]?.schemas.map((s) => s.name)}`)
  return schema
}

function tableOf(schema: SourceSchema, name: string): SourceTable {
  const table = schema.tables.find((t) => t.name === name)
  assert.ok(table, `table ${name} in ${schema.tables.map((t) => t.name)}`)
  return table
}

/** name, position, dataType, nullable, isPk, comment of each column. */
const columnsOf = (table: SourceTable) =>
  table.columns.map((c) => [c.name, c.position, c.dataType, c.nullable, c.isPk, c.comment])

async function assertExtractError(read: Promise<unknown>, message: RegExp): Promise<ExtractError> {
  const error = await read.then(
    () => assert.fail('expected the read to fail'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof ExtractError, `an ExtractError, got ${error}`)
  assert.match(error.message, message)
  assert.ok(!error.message.includes(SECRET), `no password in: ${error.message}`)
  return error
}

/** A TCP server that accepts connections and never answers, to exercise connect timeouts. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return {
    port: address.port,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

describe('postgresSource', { skip: POSTGRES_SKIP }, () => {
  const database = `docent_src_${random()}`
  const role = `docent_src_role_${random()}`
  const url = urlWith(POSTGRES_URL, { database })
  let admin: pg.Client

  before(async () => {
    admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`create database ${database}`)
    await admin.query(`create role ${role} login`)
    const source = new pg.Client({ connectionString: url })
    await source.connect()
    try {
      await source.query(`
        comment on database ${database} is 'Source for tests';
        create schema sales; comment on schema sales is 'Orders and their lines';
        create schema hr;
        create schema vault;
        create table sales.orders (id integer primary key, customer varchar(40) not null, note text,
          total numeric(10,2));
        comment on table sales.orders is 'One row per order';
        comment on column sales.orders.customer is 'Who placed the order';
        create table sales.order_lines (order_id integer not null references sales.orders, line_no smallint,
          qty bigint, primary key (order_id, line_no));
        create view sales.big_orders as select id, total from sales.orders where total > 100;
        comment on view sales.big_orders is 'Orders over 100';
        create table sales.events (id integer not null, at date not null) partition by range (at);
        create table sales.events_2024 partition of sales.events for values from ('2024-01-01') to ('2025-01-01');
        create table hr.people (id bigint generated always as identity primary key, name text not null,
          dropped integer, born date);
        alter table hr.people drop column dropped;
        create table vault.keys (k text);
        insert into sales.orders select g, 'c' || g, null, g * 10 from generate_series(1, 30) g;
        insert into sales.order_lines select o, l, o * l from generate_series(1, 30) o, generate_series(1, 3) l;
        insert into sales.events select g, date '2024-01-01' + g from generate_series(1, 50) g;
        insert into hr.people (name) values ('Ada'), ('Grace');
        create materialized view sales.order_totals as
          select order_id, sum(qty) as qty from sales.order_lines group by order_id;
        grant usage on schema sales, hr to ${role};
        revoke all on schema vault from public;
        analyze;
      `)
    } finally {
      await source.end()
    }
  })

  after(async () => {
    await admin.query(`drop database if exists ${database} with (force)`)
    await admin.query(`drop role if exists ${role}`)
    await admin.end()
  })

  it('reads the database, its schemas, tables, views and columns with their comments', async () => {
    const snapshot = await postgresSource({ url }, ANYWHERE).read()
    assert.deepEqual(snapshot.problems, [])
    assert.equal(snapshot.databases.length, 1)
    assert.equal(snapshot.databases[0]?.name, database)
    assert.equal(snapshot.databases[0]?.comment, 'Source for tests')
    assert.deepEqual(
      snapshot.databases[0]?.schemas.map((s) => s.name),
      ['hr', 'public', 'sales', 'vault'],
    )
    const sales = schemaOf(snapshot, 'sales')
    assert.equal(sales.comment, 'Orders and their lines')
    assert.equal(schemaOf(snapshot, 'hr').comment, null)
    assert.deepEqual(
      sales.tables.map((t) => [t.name, t.nativeType, t.comment]),
      [
        ['big_orders', 'VIEW', 'Orders over 100'],
        ['events', 'BASE TABLE', null],
        ['events_2024', 'BASE TABLE', null],
        ['order_lines', 'BASE TABLE', null],
        ['order_totals', 'MATERIALIZED VIEW', null],
        ['orders', 'BASE TABLE', 'One row per order'],
      ],
    )
    assert.deepEqual(columnsOf(tableOf(sales, 'orders')), [
      ['id', 1, 'integer', false, true, null],
      ['customer', 2, 'character varying(40)', false, false, 'Who placed the order'],
      ['note', 3, 'text', true, false, null],
      ['total', 4, 'numeric(10,2)', true, false, null],
    ])
    assert.deepEqual(columnsOf(tableOf(sales, 'order_lines')), [
      ['order_id', 1, 'integer', false, true, null],
      ['line_no', 2, 'smallint', false, true, null],
      ['qty', 3, 'bigint', true, false, null],
    ])
    assert.deepEqual(columnsOf(tableOf(sales, 'big_orders')), [
      ['id', 1, 'integer', true, false, null],
      ['total', 2, 'numeric(10,2)', true, false, null],
    ])
  })

  it('numbers positions among the columns one sees, skipping dropped ones', async () => {
    const snapshot = await postgresSource({ url }, ANYWHERE).read()
    assert.deepEqual(columnsOf(tableOf(schemaOf(snapshot, 'hr'), 'people')), [
      ['id', 1, 'bigint', false, true, null],
      ['name', 2, 'text', false, false, null],
      ['born', 3, 'date', true, false, null],
    ])
  })

  it('gives row estimates and sizes for tables, sums a partitioned table over its partitions, none for views', async () => {
    const sales = schemaOf(await postgresSource({ url }, ANYWHERE).read(), 'sales')
    const figures = (name: string) => {
      const table = tableOf(sales, name)
      return [table.rowCount, table.byteSize === null ? null : table.byteSize > 0]
    }
    assert.deepEqual(figures('orders'), [30, true])
    assert.deepEqual(figures('order_lines'), [90, true])
    assert.deepEqual(figures('events'), [50, true])
    assert.deepEqual(figures('events_2024'), [50, true])
    assert.deepEqual(figures('order_totals'), [30, true])
    assert.deepEqual(figures('big_orders'), [null, null])
    assert.equal(tableOf(sales, 'events').byteSize, tableOf(sales, 'events_2024').byteSize)
  })

  it('reports a schema without USAGE as a problem and reads the others', async () => {
    const snapshot = await postgresSource({ url: urlWith(url, { user: role }) }, ANYWHERE).read()
    assert.equal(snapshot.problems.length, 1)
    assert.match(
      snapshot.problems[0] ?? '',
      new RegExp(`schema "vault".*USAGE.*GRANT USAGE ON SCHEMA "vault" TO "${role}"`),
    )
    assert.deepEqual(
      snapshot.databases[0]?.schemas.map((s) => s.name),
      ['hr', 'public', 'sales'],
    )
    assert.equal(tableOf(schemaOf(snapshot, 'sales'), 'orders').columns.length, 4)
  })

  it('fails with an actionable ExtractError, without the password, on an unreachable port', async () => {
    const unreachable = urlWith(POSTGRES_URL, { password: SECRET }).replace(/@[^/]+/, '@127.0.0.1:1')
    await assertExtractError(
      postgresSource({ url: unreachable }, ANYWHERE).read(),
      /127\.0\.0\.1:1 .*connection refused/,
    )
  })

  it('fails with an ExtractError naming an unknown database', async () => {
    const missing = urlWith(POSTGRES_URL, { database: `docent_src_missing_${random()}`, password: SECRET })
    await assertExtractError(
      postgresSource({ url: missing }, ANYWHERE).read(),
      /database "docent_src_missing_\w+" does not exist/,
    )
  })

  it('gives up after the connect timeout on a server that never answers', async () => {
    const server = await silentServer()
    try {
      const silent = `postgres://someone:${SECRET}@127.0.0.1:${server.port}/x`
      await assertExtractError(postgresSource({ url: silent }, ANYWHERE).read(), /no answer within 5 s/)
    } finally {
      await server.close()
    }
  })

  it('stops with ExtractError "stopped" when the signal aborts', async () => {
    const server = await silentServer()
    try {
      const silent = `postgres://someone@127.0.0.1:${server.port}/x`
      await assertExtractError(postgresSource({ url: silent }, ANYWHERE).read(AbortSignal.timeout(100)), /^stopped$/)
      await assertExtractError(postgresSource({ url }, ANYWHERE).read(AbortSignal.abort()), /^stopped$/)
    } finally {
      await server.close()
    }
  })
})

describe('mysqlSource', { skip: MYSQL_SKIP }, () => {
  const sales = `docent_src_${random()}`
  const hr = `${sales}_hr`
  const user = `docent_src_user_${random()}`
  let admin: mysql.Connection
  let mariadb = false

  before(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true })
    const [rows] = await admin.query<mysql.RowDataPacket[]>('select version() as v')
    mariadb = /mariadb/i.test(String(rows[0]?.v))
    await admin.query(`
      create database ${sales} ${mariadb ? "comment 'Orders and their lines'" : ''};
      create database ${hr};
      create table ${sales}.orders (id int primary key, customer varchar(40) not null comment 'Who placed the order',
        note text, total decimal(10,2)) comment 'One row per order';
      create table ${sales}.order_lines (order_id int not null, line_no smallint not null, qty bigint,
        primary key (order_id, line_no));
      create table ${sales}.codes (code varchar(10) not null unique, label text);
      create view ${sales}.big_orders as select id, total from ${sales}.orders where total > 100;
      create table ${hr}.people (id bigint auto_increment primary key, name text not null, born date);
      insert into ${sales}.orders with recursive g(n) as (select 1 union all select n + 1 from g where n < 30)
        select n, concat('c', n), null, n * 10 from g;
      insert into ${sales}.order_lines with recursive g(n) as (select 1 union all select n + 1 from g where n < 30)
        select n, l.l, n * l.l from g, (select 1 as l union all select 2 union all select 3) l;
      insert into ${sales}.codes values ('a', 'A'), ('b', 'B');
      insert into ${hr}.people (name) values ('Ada'), ('Grace');
      analyze table ${sales}.orders, ${sales}.order_lines, ${sales}.codes, ${hr}.people;
      create user '${user}'@'%' identified by '${SECRET}';
      grant select, show view on ${sales}.* to '${user}'@'%';
    `)
  })

  after(async () => {
    await admin.query(
      `drop database if exists ${sales}; drop database if exists ${hr}; drop user if exists '${user}'@'%'`,
    )
    await admin.end()
  })

  /** MariaDB spells `int(11)`; MySQL 8 dropped the display width of integer types. */
  const spelled = (type: string) => (mariadb ? type : type.replace(/^(\w*int)\(\d+\)/, '$1'))

  it('reads the server as one database named after the host, its databases as schemas', async () => {
    const snapshot = await mysqlSource({ url: MYSQL_URL }).read()
    // The whole server is read, with what other test files have on it at the moment (one of them leaves a broken
    // view for a while): only this test's own databases must read without a problem.
    const ours = snapshot.problems.filter((problem) => problem.includes(sales) || problem.includes(hr))
    assert.deepEqual(ours, [])
    assert.equal(snapshot.databases.length, 1)
    assert.equal(snapshot.databases[0]?.name, new URL(MYSQL_URL).hostname)
    const names = snapshot.databases[0]?.schemas.map((s) => s.name) ?? []
    assert.ok(names.includes(sales) && names.includes(hr), `${names}`)
    for (const system of ['mysql', 'information_schema', 'performance_schema', 'sys']) {
      assert.ok(!names.includes(system), `${system} is not read`)
    }
    assert.equal(schemaOf(snapshot, sales).comment, mariadb ? 'Orders and their lines' : null)
    assert.equal(schemaOf(snapshot, hr).comment, null)
    assert.deepEqual(columnsOf(tableOf(schemaOf(snapshot, hr), 'people')), [
      ['id', 1, spelled('bigint(20)'), false, true, null],
      ['name', 2, 'text', false, false, null],
      ['born', 3, 'date', true, false, null],
    ])
  })

  it('reads tables, views, columns, comments and composite keys', async () => {
    const schema = schemaOf(await mysqlSource({ url: MYSQL_URL }).read(), sales)
    assert.deepEqual(
      schema.tables.map((t) => [t.name, t.nativeType, t.comment]),
      [
        ['big_orders', 'VIEW', null],
        ['codes', 'BASE TABLE', null],
        ['order_lines', 'BASE TABLE', null],
        ['orders', 'BASE TABLE', 'One row per order'],
      ],
    )
    assert.deepEqual(columnsOf(tableOf(schema, 'orders')), [
      ['id', 1, spelled('int(11)'), false, true, null],
      ['customer', 2, 'varchar(40)', false, false, 'Who placed the order'],
      ['note', 3, 'text', true, false, null],
      ['total', 4, 'decimal(10,2)', true, false, null],
    ])
    assert.deepEqual(columnsOf(tableOf(schema, 'order_lines')), [
      ['order_id', 1, spelled('int(11)'), false, true, null],
      ['line_no', 2, spelled('smallint(6)'), false, true, null],
      ['qty', 3, spelled('bigint(20)'), true, false, null],
    ])
    // information_schema says COLUMN_KEY = 'PRI' for this NOT NULL unique column; it is no primary key.
    assert.deepEqual(
      tableOf(schema, 'codes').columns.map((c) => [c.name, c.isPk]),
      [
        ['code', false],
        ['label', false],
      ],
    )
    assert.deepEqual(
      tableOf(schema, 'big_orders').columns.map((c) => [c.name, c.position, c.isPk]),
      [
        ['id', 1, false],
        ['total', 2, false],
      ],
    )
  })

  it('gives row estimates and sizes for tables and none for views', async () => {
    const schema = schemaOf(await mysqlSource({ url: MYSQL_URL }).read(), sales)
    for (const name of ['orders', 'order_lines', 'codes']) {
      const table = tableOf(schema, name)
      assert.equal(typeof table.rowCount, 'number', name)
      assert.ok((table.byteSize ?? 0) > 0, name)
    }
    assert.equal(tableOf(schema, 'orders').rowCount, 30)
    const view = tableOf(schema, 'big_orders')
    assert.deepEqual([view.rowCount, view.byteSize], [null, null])
  })

  it('reads only the database the URL names, as the one schema of a database named after it', async () => {
    const snapshot = await mysqlSource({ url: urlWith(MYSQL_URL, { user, password: SECRET, database: sales }) }).read()
    assert.deepEqual(snapshot.problems, [])
    assert.equal(snapshot.databases[0]?.name, sales)
    assert.deepEqual(
      snapshot.databases[0]?.schemas.map((s) => s.name),
      [sales],
    )
    assert.equal(tableOf(schemaOf(snapshot, sales), 'order_lines').columns.filter((c) => c.isPk).length, 2)
  })

  it('reports a view whose table is gone and still reads the rest', async () => {
    await admin.query(`create table ${hr}.gone (x int); create view ${hr}.broken as select x from ${hr}.gone;
      drop table ${hr}.gone`)
    try {
      const snapshot = await mysqlSource({ url: urlWith(MYSQL_URL, { database: hr }) }).read()
      assert.equal(snapshot.problems.length, 1)
      assert.match(snapshot.problems[0] ?? '', /broken.*fix or drop the view/)
      assert.deepEqual(tableOf(schemaOf(snapshot, hr), 'broken').columns, [])
      assert.equal(tableOf(schemaOf(snapshot, hr), 'people').columns.length, 3)
    } finally {
      await admin.query(`drop view ${hr}.broken`)
    }
  })

  it('fails on a wrong password with an ExtractError that holds no password', async () => {
    const wrong = urlWith(MYSQL_URL, { user, password: `${SECRET}-wrong`, database: sales })
    await assertExtractError(mysqlSource({ url: wrong }).read(), /Access denied .*check the user name and password/)
  })

  it('fails with an ExtractError on an unreachable port and on an unknown database', async () => {
    const unreachable = urlWith(MYSQL_URL, { password: SECRET }).replace(/@[^/]+/, '@127.0.0.1:1')
    await assertExtractError(mysqlSource({ url: unreachable }).read(), /127\.0\.0\.1:1 .*connection refused/)
    const missing = urlWith(MYSQL_URL, { database: `docent_src_missing_${random()}` })
    await assertExtractError(mysqlSource({ url: missing }).read(), /database 'docent_src_missing_\w+' does not exist/)
  })

  it('gives up after the connect timeout, and stops at once when the signal aborts', async () => {
    const server = await silentServer()
    try {
      const silent = `mysql://someone:${SECRET}@127.0.0.1:${server.port}/x`
      await assertExtractError(mysqlSource({ url: silent }).read(), /no answer within 5 s/)
      const started = Date.now()
      await assertExtractError(mysqlSource({ url: silent }).read(AbortSignal.timeout(100)), /^stopped$/)
      assert.ok(Date.now() - started < 2000)
    } finally {
      await server.close()
    }
  })
})

describe('sqliteSource', () => {
  let dir: string
  let path: string

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'docent-src-'))
    path = join(dir, 'shop.db')
    const db = new SQLite(path)
    db.exec(`
      create table orders (id integer primary key, customer varchar(40) not null, note text, total numeric(10,2),
        total_cents integer generated always as (total * 100) virtual);
      create table order_lines (order_id integer not null, line_no integer not null, qty,
        primary key (order_id, line_no));
      create view big_orders as select id, total from orders where total > 100;
      create virtual table docs using fts5(body);
      with recursive g(n) as (select 1 union all select n + 1 from g where n < 30)
        insert into orders (id, customer, total) select n, 'c' || n, n * 10 from g;
      insert into order_lines select o.id, l.value, o.id * l.value from orders o, json_each('[1,2,3]') l;
      insert into docs values ('hello');
      analyze;
    `)
    db.close()
  })

  after(() => rmSync(dir, { recursive: true, force: true }))

  it('reads one database named after the file with one schema, main, of tables and views', async () => {
    const snapshot = await sqliteSource({ path }, ANYWHERE).read()
    assert.deepEqual(snapshot.problems, [])
    assert.deepEqual(
      snapshot.databases.map((d) => [d.name, d.comment, d.schemas.map((s) => [s.name, s.comment])]),
      [['shop', null, [['main', null]]]],
    )
    const main = schemaOf(snapshot, 'main')
    const kinds = new Map(main.tables.map((t) => [t.name, t.nativeType]))
    assert.equal(kinds.get('orders'), 'BASE TABLE')
    assert.equal(kinds.get('order_lines'), 'BASE TABLE')
    assert.equal(kinds.get('docs'), 'BASE TABLE')
    assert.equal(kinds.get('big_orders'), 'VIEW')
    assert.ok(![...kinds.keys()].some((name) => name.startsWith('sqlite_')), 'no sqlite_ internal tables')
    assert.ok(main.tables.every((t) => t.comment === null))
  })

  it('reads columns as the pragma reports them: declared types, ANY when none, composite keys', async () => {
    const main = schemaOf(await sqliteSource({ path }, ANYWHERE).read(), 'main')
    // SQLite spells its own type names in capitals (INTEGER) and keeps other declarations as written.
    // An INTEGER PRIMARY KEY is not declared NOT NULL, so the pragma calls it nullable.
    assert.deepEqual(columnsOf(tableOf(main, 'orders')), [
      ['id', 1, 'INTEGER', true, true, null],
      ['customer', 2, 'varchar(40)', false, false, null],
      ['note', 3, 'TEXT', true, false, null],
      ['total', 4, 'numeric(10,2)', true, false, null],
      ['total_cents', 5, 'INTEGER', true, false, null],
    ])
    assert.deepEqual(columnsOf(tableOf(main, 'order_lines')), [
      ['order_id', 1, 'INTEGER', false, true, null],
      ['line_no', 2, 'INTEGER', false, true, null],
      ['qty', 3, 'ANY', true, false, null],
    ])
    assert.deepEqual(columnsOf(tableOf(main, 'docs')), [['body', 1, 'ANY', true, false, null]])
    assert.deepEqual(
      tableOf(main, 'big_orders').columns.map((c) => [c.name, c.position, c.dataType]),
      [
        ['id', 1, 'INTEGER'],
        ['total', 2, 'numeric(10,2)'],
      ],
    )
  })

  it('takes row counts from sqlite_stat1 and sizes from dbstat, none for views', async () => {
    const main = schemaOf(await sqliteSource({ path }, ANYWHERE).read(), 'main')
    assert.equal(tableOf(main, 'orders').rowCount, 30)
    assert.equal(tableOf(main, 'order_lines').rowCount, 90)
    assert.ok((tableOf(main, 'orders').byteSize ?? 0) > 0)
    assert.ok((tableOf(main, 'order_lines').byteSize ?? 0) > 0)
    const view = tableOf(main, 'big_orders')
    assert.deepEqual([view.rowCount, view.byteSize], [null, null])
  })

  it('reports a view over a dropped table as a problem, reads the rest, and has no counts before ANALYZE', async () => {
    const other = join(dir, 'broken.sqlite3')
    const db = new SQLite(other)
    db.exec(`create table kept (a integer primary key, b text); create table gone (x);
      create view broken as select x from gone; drop table gone`)
    db.close()
    const snapshot = await sqliteSource({ path: other }, ANYWHERE).read()
    assert.equal(snapshot.databases[0]?.name, 'broken')
    assert.equal(snapshot.problems.length, 1)
    assert.match(snapshot.problems[0] ?? '', /broken.*no such table/)
    const main = schemaOf(snapshot, 'main')
    assert.equal(tableOf(main, 'kept').columns.length, 2)
    assert.equal(tableOf(main, 'kept').rowCount, null)
  })

  it('fails with one ExtractError that names no path for a missing file, a folder, a FIFO or a file that is no database', async () => {
    const junk = join(dir, 'junk.db')
    writeFileSync(junk, 'this is not a database file at all, not even close'.repeat(20))
    const fifo = join(dir, 'fifo.db')
    execFileSync('mkfifo', [fifo])
    for (const refused of [join(dir, 'missing.db'), junk, dir, fifo, join(dir, 'missing', '..', 'junk.db')]) {
      const error = await assertExtractError(sqliteSource({ path: refused }, ANYWHERE).read(), /SQLite/)
      assert.equal(error.message, SQLITE_REFUSED, refused)
    }
    await assertExtractError(sqliteSource({ path: 'shop.db' }, ANYWHERE).read(), /must be absolute.*"shop\.db"/)
  })

  it('stops with ExtractError "stopped" when the signal is aborted', async () => {
    await assertExtractError(sqliteSource({ path }, ANYWHERE).read(AbortSignal.abort()), /^stopped$/)
  })
})

/** A server that asks for a cleartext password, as a PostgreSQL server may, and keeps what each client sends. */
async function passwordTrap(): Promise<{ port: number; passwords: (string | undefined)[]; close(): Promise<void> }> {
  const passwords: (string | undefined)[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let answered = false
    let received = Buffer.alloc(0)
    let password: string | undefined
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (!answered && received.length >= 4 && received.length >= received.readInt32BE(0)) {
        answered = true
        received = received.subarray(received.readInt32BE(0))
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])) // AuthenticationCleartextPassword
      }
      if (answered && received[0] === 0x70 && received.length >= 5 && received.length >= 1 + received.readInt32BE(1)) {
        password = received.subarray(5, received.readInt32BE(1)).toString()
        socket.destroy()
      }
    })
    socket.on('close', () => passwords.push(password))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return {
    port: address.port,
    passwords,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

describe("postgresSource and the server's own PostgreSQL credentials", () => {
  it("sends only the URL's password: never PGPASSWORD from docent's environment", async () => {
    const trap = await passwordTrap()
    const saved = process.env.PGPASSWORD
    process.env.PGPASSWORD = SECRET
    try {
      await assertExtractError(
        postgresSource({ url: `postgres://someone@127.0.0.1:${trap.port}/x` }, ANYWHERE).read(),
        /asks for a password and the URL has none/,
      )
      await postgresSource({ url: `postgres://someone:given-pw@127.0.0.1:${trap.port}/x` }, ANYWHERE)
        .read()
        .catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.deepEqual(trap.passwords, [undefined, 'given-pw'])
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD
      else process.env.PGPASSWORD = saved
      await trap.close()
    }
  })
})

describe('openSource and checkCredentials', () => {
  it('accept the three shapes', () => {
    assert.equal(checkCredentials('postgres', { url: 'postgres://u:p@h:5432/d' }), undefined)
    assert.equal(checkCredentials('postgres', { url: 'postgresql://h/d' }), undefined)
    assert.equal(checkCredentials('mysql', { url: 'mysql://u@h' }), undefined)
    assert.equal(checkCredentials('sqlite', { path: '/data/app.db' }), undefined)
    assert.equal(typeof openSource('sqlite', { path: '/data/app.db' }, ANYWHERE).read, 'function')
  })

  it('say what to fix, without repeating a URL', () => {
    const cases: [string, unknown, RegExp][] = [
      ['postgres', undefined, /postgres credentials must be \{"url": "postgres:\/\/user:password@host/],
      ['postgres', { url: 42 }, /postgres credentials must be/],
      ['postgres', { url: `mysql://u:${SECRET}@h/d` }, /must start with postgres:\/\/ or postgresql:\/\//],
      ['postgres', { url: `not a url ${SECRET}` }, /not a valid URL/],
      ['mysql', { url: `postgres://u:${SECRET}@h/d` }, /must start with mysql:\/\//],
      ['mysql', ['mysql://h'], /mysql credentials must be/],
      ['sqlite', { url: 'sqlite:/x.db' }, /sqlite credentials must be \{"path"/],
      ['sqlite', { path: 'data/app.db' }, /must be absolute/],
    ]
    for (const [type, credentials, message] of cases) {
      const problem = checkCredentials(type, credentials)
      assert.match(problem ?? '', message, `${type} ${JSON.stringify(credentials)}`)
      assert.ok(!problem?.includes(SECRET))
      assert.throws(
        () => openSource(type, credentials, ANYWHERE),
        (e) => e instanceof ExtractError && e.message === problem,
      )
    }
  })

  it('refuse URL parameters that would make a driver read a local file or reach another host or socket', () => {
    const cases: [string, string, RegExp][] = [
      ['postgres', 'postgres://u@h/d?sslrootcert=/etc/passwd', /only the parameters .*not 'sslrootcert'/],
      ['postgres', 'postgres://u@h/d?sslcert=/x&sslkey=/y', /not 'sslcert'/],
      ['postgres', 'postgres://u@h/d?host=/var/run/postgresql', /not 'host'/],
      ['postgres', 'postgres://u@%2Fvar%2Frun%2Fpostgresql/d', /must name the server's host/],
      ['postgres', 'postgres:///d', /must name the server's host/],
      ['mysql', 'mysql://u@h/d?socketPath=/run/mysqld/mysqld.sock', /not 'socketPath'/],
      ['mysql', 'mysql://u@h/d?infileStreamFactory=x', /not 'infileStreamFactory'/],
    ]
    for (const [type, url, message] of cases) {
      assert.match(checkCredentials(type, { url }) ?? '', message, url)
    }
    assert.equal(
      checkCredentials('postgres', { url: 'postgres://u@h/d?sslmode=require&application_name=x' }),
      undefined,
    )
    assert.equal(checkCredentials('mysql', { url: 'mysql://u@h/d?charset=utf8mb4' }), undefined)
  })

  it('leave other integration types alone, and openSource refuses them', () => {
    assert.equal(checkCredentials('snowflake', { anything: true }), undefined)
    assert.throws(
      () => openSource('snowflake', {}, ANYWHERE),
      (e) => e instanceof ExtractError && /cannot be synced/.test(e.message),
    )
  })
})
