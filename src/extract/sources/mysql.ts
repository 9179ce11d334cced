import type { Connection, RowDataPacket } from 'mysql2/promise'
import type { SourceRef } from '../source.ts'
import { ExtractError, type SourceReader, type SourceSchema, type SourceSnapshot, type SourceTable } from '../source.ts'
import { viewDependencies } from '../view-lineage.ts'
import { CONNECT_TIMEOUT_MS, errorParts, networkReason, scrub, stopIfAborted, unlessAborted } from './failure.ts'

const ER_VIEW_INVALID = 1356
const SYSTEM_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys']
// MariaDB reports a system-versioned table as `SYSTEM VERSIONED`; it is an ordinary table. Sequences are left out.
const NATIVE_TYPES: Record<string, string> = {
  'BASE TABLE': 'BASE TABLE',
  'SYSTEM VERSIONED': 'BASE TABLE',
  VIEW: 'VIEW',
  'SYSTEM VIEW': 'SYSTEM VIEW',
}

interface Target {
  host: string
  port: number
  user: string
  password: string
  database: string | undefined
}

/**
 * MySQL and MariaDB have no schemas inside a database, so the server is read as ONE database (named after the
 * URL's database, else the host) whose schemas are the server's databases, system ones excepted. A URL that names
 * a database narrows the read to that database alone, as the only schema.
 */
export function mysqlSource(credentials: { url: string }): SourceReader {
  return { read: (signal) => readMysql(credentials.url, signal) }
}

async function readMysql(url: string, signal?: AbortSignal): Promise<SourceSnapshot> {
  stopIfAborted(signal)
  const target = parseTarget(url)
  const where = `MySQL at ${target.host}:${target.port} as user ${target.user || '(anonymous)'}`
  let connection: Connection
  // Loaded here, not at start-up: a server that never syncs MySQL never pays for the driver.
  const mysql = (await import('mysql2/promise')).default
  try {
    const connecting = mysql.createConnection({ uri: url, connectTimeout: CONNECT_TIMEOUT_MS })
    connection = await unlessAborted(connecting, signal, (late) => late.destroy())
  } catch (error) {
    if (error instanceof ExtractError) throw error
    throw new ExtractError(`cannot connect to ${where}: ${connectReason(error, target)}`)
  }
  // A dropped connection also rejects the pending query, which is where it gets reported.
  connection.on('error', () => {})
  try {
    return await unlessAborted(readServer(connection, target, signal), signal)
  } catch (error) {
    if (error instanceof ExtractError) throw error
    throw new ExtractError(
      `reading information_schema of ${where} failed: ${scrub(errorParts(error).message, target.password)}`,
    )
  } finally {
    // end() would wait for a running query; an abort must not.
    if (signal?.aborted) connection.destroy()
    else await connection.end().catch(() => connection.destroy())
  }
}

function parseTarget(url: string): Target {
  try {
    const parsed = new URL(url)
    return {
      host: parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost',
      port: Number(parsed.port) || 3306,
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
    }
  } catch {
    throw new ExtractError(
      'the MySQL URL is not valid: use mysql://user:password@host:3306/database (database optional)',
    )
  }
}

function connectReason(error: unknown, target: Target): string {
  const network = networkReason(error)
  if (network !== undefined) return network
  const { code, message } = errorParts(error)
  const said = scrub(message, target.password)
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
      return `${said} — check the user name and password`
    case 'ER_BAD_DB_ERROR':
      return `database '${target.database}' does not exist — check the database name in the URL`
    case 'ER_DBACCESS_DENIED_ERROR':
      return `${said} — grant the user access to that database, or fix its name in the URL`
    case 'ER_HOST_NOT_PRIVILEGED':
      return `${said} — allow this user to connect from docent's host`
    case 'ER_CON_COUNT_ERROR':
      return `${said} — the server has no free connection slot; try again later`
  }
  return said
}

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value))
const comment = (value: unknown): string | null => text(value) || null
const count = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
// information_schema sorts by its case-insensitive collation; PostgreSQL and SQLite readers sort by code point.
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
const key = (schema: unknown, table: unknown) => `${text(schema)}\u0000${text(table)}`

async function readServer(connection: Connection, target: Target, signal?: AbortSignal): Promise<SourceSnapshot> {
  const [schemaRows] =
    target.database === undefined
      ? await connection.query<RowDataPacket[]>(
          'select * from information_schema.SCHEMATA where SCHEMA_NAME not in (?) order by SCHEMA_NAME',
          [SYSTEM_DATABASES],
        )
      : await connection.query<RowDataPacket[]>('select * from information_schema.SCHEMATA where SCHEMA_NAME = ?', [
          target.database,
        ])
  stopIfAborted(signal)
  // SCHEMA_COMMENT exists on MariaDB 10.5+ only; `select *` reads it where it is.
  const schemas = new Map<string, SourceSchema>()
  for (const row of schemaRows) {
    schemas.set(String(row.SCHEMA_NAME), {
      name: String(row.SCHEMA_NAME),
      comment: comment(row.SCHEMA_COMMENT),
      tables: [],
    })
  }
  const database = { name: target.database ?? target.host, comment: null, schemas: [...schemas.values()].sort(byName) }
  const problems: string[] = []
  if (schemas.size === 0) {
    return { databases: [database], problems }
  }
  const names = [...schemas.keys()]
  const tables = new Map<string, SourceTable>()
  const [tableRows] = await connection.query<RowDataPacket[]>(
    `select TABLE_SCHEMA as schema_name, TABLE_NAME as name, TABLE_TYPE as type, TABLE_COMMENT as comment,
       TABLE_ROWS as row_count, DATA_LENGTH + INDEX_LENGTH as byte_size
     from information_schema.TABLES where TABLE_SCHEMA in (?) and TABLE_TYPE in (?)
     order by TABLE_SCHEMA, TABLE_NAME`,
    [names, Object.keys(NATIVE_TYPES)],
  )
  stopIfAborted(signal)
  for (const row of tableRows) {
    const nativeType = NATIVE_TYPES[String(row.type)] ?? 'BASE TABLE'
    const isView = nativeType !== 'BASE TABLE'
    // Views take no comment; TABLE_COMMENT says `VIEW` (or, on MySQL, why the view no longer works).
    const remark = isView ? null : comment(row.comment)
    const table: SourceTable = {
      name: String(row.name),
      nativeType,
      comment: remark,
      rowCount: isView ? null : count(row.row_count),
      byteSize: isView ? null : count(row.byte_size),
      columns: [],
    }
    tables.set(key(row.schema_name, row.name), table)
    schemas.get(String(row.schema_name))?.tables.push(table)
  }
  // COLUMN_KEY says PRI for a NOT NULL unique key of a table without a primary key; STATISTICS does not.
  const [keyRows] = await connection.query<RowDataPacket[]>(
    `select TABLE_SCHEMA as schema_name, TABLE_NAME as table_name, COLUMN_NAME as name
     from information_schema.STATISTICS where INDEX_NAME = 'PRIMARY' and TABLE_SCHEMA in (?)`,
    [names],
  )
  stopIfAborted(signal)
  const primary = new Set(keyRows.map((r) => `${key(r.schema_name, r.table_name)}\u0000${text(r.name)?.toLowerCase()}`))
  const [columnRows] = await connection.query<RowDataPacket[]>(
    `select TABLE_SCHEMA as schema_name, TABLE_NAME as table_name, COLUMN_NAME as name, ORDINAL_POSITION as position,
       COLUMN_TYPE as data_type, IS_NULLABLE as nullable, COLUMN_COMMENT as comment
     from information_schema.COLUMNS where TABLE_SCHEMA in (?)
     order by TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    [names],
  )
  // A view whose tables or columns are gone has no rows here, only a warning (1356) that says which it is.
  const [warnings] = await connection.query<RowDataPacket[]>('show warnings')
  for (const warning of warnings) {
    if (Number(warning.Code) === ER_VIEW_INVALID) {
      problems.push(`${text(warning.Message)}: its columns were not read — fix or drop the view`)
    }
  }
  stopIfAborted(signal)
  for (const row of columnRows) {
    const tableKey = key(row.schema_name, row.table_name)
    tables.get(tableKey)?.columns.push({
      name: String(row.name),
      position: Number(row.position),
      dataType: String(row.data_type),
      nullable: row.nullable === 'YES',
      isPk: primary.has(`${tableKey}\u0000${String(row.name).toLowerCase()}`),
      comment: comment(row.comment),
    })
  }
  for (const schema of schemas.values()) schema.tables.sort(byName)
  // VIEW_DEFINITION is the view's SELECT as the server rewrote it (names qualified); empty without SHOW VIEW.
  const [viewRows] = await connection.query<RowDataPacket[]>(
    `select TABLE_SCHEMA as schema_name, TABLE_NAME as name, VIEW_DEFINITION as definition
     from information_schema.VIEWS where TABLE_SCHEMA in (?) order by TABLE_SCHEMA, TABLE_NAME`,
    [names],
  )
  stopIfAborted(signal)
  const hidden: SourceRef[] = []
  const views = viewRows.flatMap((row) => {
    const table = tables.get(key(row.schema_name, row.name))
    const sql = text(row.definition)
    if (table !== undefined && !sql)
      hidden.push({ database: database.name, schema: String(row.schema_name), table: table.name })
    return table === undefined || !sql ? [] : [{ schema: String(row.schema_name), table, sql }]
  })
  const [versionRows] = await connection.query<RowDataPacket[]>('select version() as v')
  const dialect = /mariadb/i.test(String(versionRows[0]?.v)) ? 'mariadb' : 'mysql'
  const { dependencies, unread } = await viewDependencies(database.name, views, dialect)
  return { databases: [database], dependencies, unreadViews: [...hidden, ...unread], problems }
}
