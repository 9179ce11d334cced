import type pg from 'pg'
import {
  ExtractError,
  type SourceDependency,
  type SourceReader,
  type SourceSchema,
  type SourceSnapshot,
  type SourceTable,
} from '../source.ts'
import { IDENTITY_SQL, POSTGRES_STORE_REFUSED, type SourceAccess } from '../source-access.ts'
import { CONNECT_TIMEOUT_MS, errorParts, networkReason, scrub, stopIfAborted, unlessAborted } from './failure.ts'

const NATIVE_TYPES: Record<string, string> = {
  r: 'BASE TABLE',
  p: 'BASE TABLE',
  v: 'VIEW',
  m: 'MATERIALIZED VIEW',
  f: 'FOREIGN TABLE',
}
const RELKINDS = "('r', 'p', 'v', 'm', 'f')"

/** Reads `current_database()`: its schemas, tables, views and columns, in four catalog queries. */
export function postgresSource(credentials: { url: string }, access: SourceAccess): SourceReader {
  return { read: (signal) => readPostgres(credentials.url, access, signal) }
}

async function readPostgres(url: string, access: SourceAccess, signal?: AbortSignal): Promise<SourceSnapshot> {
  stopIfAborted(signal)
  let client: pg.Client
  // Loaded here, not at start-up, as mysql2 is: reading a PostgreSQL source is rare.
  const { Client } = (await import('pg')).default
  try {
    client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  } catch {
    throw new ExtractError('the PostgreSQL URL is not valid: use postgres://user:password@host:5432/database')
  }
  // Only the URL's password: pg would otherwise send the server's own PGPASSWORD or ~/.pgpass entry to any host.
  const password = new URL(url).password === '' ? undefined : (client.password as string)
  ;(client as unknown as { password: () => string }).password = () => {
    if (password === undefined) throw new Error('no password')
    return password
  }
  const target = `PostgreSQL at ${client.host}:${client.port} as user ${client.user ?? '(default)'}`
  // A dropped connection also rejects the pending query, which is where it gets reported.
  client.on('error', () => {})
  try {
    try {
      await unlessAborted(client.connect(), signal)
    } catch (error) {
      if (error instanceof ExtractError) throw error
      throw new ExtractError(`cannot connect to ${target}: ${connectReason(error, client.database, password)}`)
    }
    if (access.storeDatabase !== undefined) {
      const [source, store] = await Promise.all([
        client.query<{ id: string }>(IDENTITY_SQL).then((result) => String(result.rows[0]?.id)),
        access.storeDatabase(),
      ])
      if (source === store) throw new ExtractError(POSTGRES_STORE_REFUSED)
    }
    return await unlessAborted(readCatalog(client, signal), signal)
  } catch (error) {
    if (error instanceof ExtractError) throw error
    const reason = scrub(errorParts(error).message, password)
    throw new ExtractError(`reading the catalog of ${target} failed: ${reason}`)
  } finally {
    // Also ends a query still running after an abort: pg destroys the socket under an active query.
    await client.end().catch(() => {})
  }
}

function connectReason(error: unknown, database: string | undefined, password: string | undefined): string {
  const network = networkReason(error)
  if (network !== undefined) return network
  const { code, message } = errorParts(error)
  const said = scrub(message, password)
  switch (code) {
    case '28P01':
      return `${said} — check the user name and password`
    case '28000':
      return `${said} — check the user name, and that pg_hba.conf lets this host and user in`
    case '3D000':
      return `database "${database}" does not exist — check the database name in the URL`
    case '53300':
      return `${said} — the server has no free connection slot; try again later`
  }
  if (/terminated unexpectedly/i.test(message)) {
    return 'the server hung up before answering — check that host and port are those of a PostgreSQL server'
  }
  if (/password must be a string|no password/i.test(message)) {
    return 'the server asks for a password and the URL has none — add it to the URL'
  }
  return said
}

interface SchemaRow {
  oid: string
  name: string
  comment: string | null
  usable: boolean
}

async function readCatalog(client: pg.Client, signal?: AbortSignal): Promise<SourceSnapshot> {
  // One snapshot for every query, so a table created meanwhile cannot appear without its columns.
  await client.query('begin isolation level repeatable read read only')
  const database = await client.query<{ name: string; comment: string | null; user_name: string }>(
    `select current_database() as name, current_user as user_name,
       shobj_description((select oid from pg_database where datname = current_database()), 'pg_database') as comment`,
  )
  stopIfAborted(signal)
  const {
    name,
    comment,
    user_name: user,
  } = database.rows[0] as { name: string; comment: string | null; user_name: string }
  const schemaRows = await client.query<SchemaRow>(
    `select n.oid::text as oid, n.nspname as name, d.description as comment,
       has_schema_privilege(n.oid, 'USAGE') as usable
     from pg_namespace n
     left join pg_description d on d.objoid = n.oid and d.classoid = 'pg_namespace'::regclass and d.objsubid = 0
     where n.nspname not in ('pg_catalog', 'information_schema')
       and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
     order by n.nspname collate "C"`,
  )
  stopIfAborted(signal)
  const problems: string[] = []
  const schemas = new Map<string, SourceSchema>()
  for (const row of schemaRows.rows) {
    if (row.usable) {
      schemas.set(row.oid, { name: row.name, comment: row.comment, tables: [] })
    } else {
      problems.push(
        `schema "${row.name}" was not read: user "${user}" has no USAGE privilege on it — ` +
          `run GRANT USAGE ON SCHEMA "${row.name}" TO "${user}" to include it`,
      )
    }
  }
  const schemaOids = [...schemas.keys()]
  const tables = await readTables(client, schemaOids, schemas)
  stopIfAborted(signal)
  await readColumns(client, schemaOids, tables)
  stopIfAborted(signal)
  const dependencies = await readDependencies(client, name, schemaOids, tables)
  stopIfAborted(signal)
  await client.query('commit')
  return { databases: [{ name, comment, schemas: [...schemas.values()] }], dependencies, problems }
}

interface DependencyRow {
  view_oid: string
  view_schema: string
  view_name: string
  source_schema: string
  source_name: string
  source_column: string | null
}

/**
 * What each view and materialized view reads, from the dependencies PostgreSQL records for its rewrite rule (the
 * tables, views and columns its query names), within the schemas read. PostgreSQL records which columns of a
 * source a view reads, not which of its own columns each feeds: a source column feeds the view's column of the
 * same name, when the view has one (`select id, name from customers`); a renamed or computed column gets no
 * column edge, only its table's.
 */
async function readDependencies(
  client: pg.Client,
  database: string,
  schemaOids: string[],
  tables: Map<string, SourceTable>,
): Promise<SourceDependency[]> {
  const result = await client.query<DependencyRow>(
    `select distinct v.oid::text as view_oid, vn.nspname as view_schema, v.relname as view_name,
       tn.nspname as source_schema, t.relname as source_name,
       case when d.refobjsubid > 0 then a.attname end as source_column
     from pg_depend d
     join pg_rewrite r on r.oid = d.objid
     join pg_class v on v.oid = r.ev_class
     join pg_namespace vn on vn.oid = v.relnamespace
     join pg_class t on t.oid = d.refobjid
     join pg_namespace tn on tn.oid = t.relnamespace
     left join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid and not a.attisdropped
     where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and d.deptype = 'n'
       and v.relkind in ('v', 'm') and t.oid <> v.oid and t.relkind in ${RELKINDS}
       and v.relnamespace = any($1::oid[]) and t.relnamespace = any($1::oid[])
     order by 1, 4, 5, 6`,
    [schemaOids],
  )
  const dependencies: SourceDependency[] = []
  const tableEdges = new Set<string>()
  for (const row of result.rows) {
    const from = { database, schema: row.source_schema, table: row.source_name }
    const to = { database, schema: row.view_schema, table: row.view_name }
    const pair = JSON.stringify([from, to])
    if (!tableEdges.has(pair)) {
      tableEdges.add(pair)
      dependencies.push({ from, to })
    }
    const column = row.source_column
    if (column !== null && tables.get(row.view_oid)?.columns.some((c) => c.name === column)) {
      dependencies.push({ from: { ...from, column }, to: { ...to, column } })
    }
  }
  return dependencies
}

interface TableRow {
  oid: string
  schema_oid: string
  name: string
  kind: string
  comment: string | null
  row_count: number | string | null
  byte_size: number | string | null
}

async function readTables(client: pg.Client, schemaOids: string[], schemas: Map<string, SourceSchema>) {
  // A partitioned table holds no rows itself (reltuples -1, size 0): its figures are the sums over its leaves.
  const result = await client.query<TableRow>(
    `with recursive parts(root, relid) as (
       select c.oid, c.oid from pg_class c where c.relkind = 'p' and c.relnamespace = any($1::oid[])
       union all
       select p.root, i.inhrelid from parts p join pg_inherits i on i.inhparent = p.relid
     ), leaves as (
       select p.root, sum(pg_total_relation_size(k.oid)) as bytes,
         sum(k.reltuples) filter (where k.reltuples >= 0) as tuples
       from parts p join pg_class k on k.oid = p.relid and k.relkind = 'r'
       group by p.root
     )
     select c.oid::text as oid, c.relnamespace::text as schema_oid, c.relname as name, c.relkind as kind,
       d.description as comment,
       case when c.relkind = 'p' then l.tuples
            when c.relkind in ('r', 'm', 'f') and c.reltuples >= 0 then c.reltuples end as row_count,
       case when c.relkind = 'p' then l.bytes
            when c.relkind in ('r', 'm') then pg_total_relation_size(c.oid) end as byte_size
     from pg_class c
     left join leaves l on l.root = c.oid
     left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
     where c.relkind in ${RELKINDS} and c.relnamespace = any($1::oid[])
     order by c.relname collate "C"`,
    [schemaOids],
  )
  const tables = new Map<string, SourceTable>()
  for (const row of result.rows) {
    const table: SourceTable = {
      name: row.name,
      nativeType: NATIVE_TYPES[row.kind] ?? 'BASE TABLE',
      comment: row.comment,
      rowCount: row.row_count === null ? null : Math.round(Number(row.row_count)),
      byteSize: row.byte_size === null ? null : Number(row.byte_size),
      columns: [],
    }
    tables.set(row.oid, table)
    schemas.get(row.schema_oid)?.tables.push(table)
  }
  return tables
}

interface ColumnRow {
  table_oid: string
  name: string
  data_type: string
  not_null: boolean
  is_pk: boolean
  comment: string | null
}

async function readColumns(client: pg.Client, schemaOids: string[], tables: Map<string, SourceTable>) {
  const result = await client.query<ColumnRow>(
    `select a.attrelid::text as table_oid, a.attname as name, format_type(a.atttypid, a.atttypmod) as data_type,
       a.attnotnull as not_null, coalesce(a.attnum = any(i.indkey), false) as is_pk, d.description as comment
     from pg_attribute a
     join pg_class c on c.oid = a.attrelid
     left join pg_index i on i.indrelid = a.attrelid and i.indisprimary
     left join pg_description d
       on d.objoid = a.attrelid and d.classoid = 'pg_class'::regclass and d.objsubid = a.attnum
     where c.relkind in ${RELKINDS} and c.relnamespace = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
     order by a.attrelid, a.attnum`,
    [schemaOids],
  )
  for (const row of result.rows) {
    const table = tables.get(row.table_oid)
    if (table === undefined) continue
    // attnum keeps the gaps that dropped columns leave; position is the rank among the columns one sees.
    table.columns.push({
      name: row.name,
      position: table.columns.length + 1,
      dataType: row.data_type,
      nullable: !row.not_null,
      isPk: row.is_pk,
      comment: row.comment,
    })
  }
}
