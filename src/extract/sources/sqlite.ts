import { basename, extname, isAbsolute } from 'node:path'
import SQLite from 'better-sqlite3'
import { ExtractError, type SourceColumn, type SourceReader, type SourceSnapshot, type SourceTable } from '../source.ts'
import { allowedSqliteFile, type SourceAccess, SQLITE_REFUSED, sameFile } from '../source-access.ts'
import { viewDependencies } from '../view-lineage.ts'
import { stopIfAborted } from './failure.ts'

interface ColumnRow {
  table_name: string
  name: string
  type: string
  notnull: number
  pk: number
  hidden: number
}

/** Tables and views of the file, not SQLite's own `sqlite_%` tables. */
const userObjects = (alias: string) =>
  `${alias}.type in ('table', 'view') and ${alias}.name not like 'sqlite\\_%' escape '\\'`
const COLUMNS_OF = 'select name, type, "notnull", pk, hidden from pragma_table_xinfo(?) order by cid'

/**
 * Reads one SQLite file as one database (named after the file, without extension) with one schema, `main`.
 * SQLite keeps no comments. A column declared without a type is reported as `ANY`, the word STRICT tables use.
 */
export function sqliteSource(credentials: { path: string }, access: SourceAccess): SourceReader {
  return { read: async (signal) => readSqlite(credentials.path, access, signal) }
}

async function readSqlite(path: string, access: SourceAccess, signal?: AbortSignal): Promise<SourceSnapshot> {
  stopIfAborted(signal)
  if (!isAbsolute(path)) {
    throw new ExtractError(`the SQLite path must be absolute, e.g. /data/app.db; got ${JSON.stringify(path)}`)
  }
  const file = await allowedSqliteFile(path, access)
  let db: SQLite.Database | undefined
  try {
    db = new SQLite(file.path, { readonly: true, fileMustExist: true })
    // A file that is not a database opens fine and fails at its first statement.
    db.prepare('select count(*) from sqlite_schema').get()
  } catch {
    db?.close()
    throw new ExtractError(SQLITE_REFUSED)
  }
  if (!(await sameFile(file.path, file.stats))) {
    db.close()
    throw new ExtractError(SQLITE_REFUSED)
  }
  try {
    return await readFile(db, basename(path, extname(path)), signal)
  } catch (error) {
    if (error instanceof ExtractError) throw error
    throw new ExtractError(`cannot read the SQLite file ${path}: ${(error as Error).message}`)
  } finally {
    db.close()
  }
}

async function readFile(db: SQLite.Database, name: string, signal?: AbortSignal): Promise<SourceSnapshot> {
  const objects = db
    .prepare<[], { name: string; type: string; sql: string | null }>(
      `select name, type, sql from sqlite_schema s where ${userObjects('s')} order by name`,
    )
    .all()
  const problems: string[] = []
  const tables = new Map<string, SourceTable>()
  for (const object of objects) {
    tables.set(object.name, {
      name: object.name,
      nativeType: object.type === 'view' ? 'VIEW' : 'BASE TABLE',
      comment: null,
      rowCount: null,
      byteSize: null,
      columns: [],
    })
  }
  await pause(signal)
  for (const row of readColumns(db, objects, problems)) {
    const table = tables.get(row.table_name)
    // hidden 1 marks a virtual table's hidden columns; 2 and 3 are generated columns, which one does see.
    if (table === undefined || row.hidden === 1) continue
    table.columns.push(toColumn(row, table.columns.length + 1))
  }
  await pause(signal)
  for (const [tableName, rows] of readRowCounts(db)) {
    const table = tables.get(tableName)
    if (table?.nativeType === 'BASE TABLE') table.rowCount = rows
  }
  await pause(signal)
  for (const [tableName, bytes] of readByteSizes(db)) {
    const table = tables.get(tableName)
    if (table?.nativeType === 'BASE TABLE') table.byteSize = bytes
  }
  const schemas = [{ name: 'main', comment: null, tables: [...tables.values()] }]
  const views = objects.flatMap((object) => {
    const table = tables.get(object.name)
    return object.type === 'view' && object.sql !== null && table !== undefined
      ? [{ schema: 'main', table, sql: object.sql }]
      : []
  })
  const { dependencies, unread } = await viewDependencies(name, views, 'sqlite')
  return { databases: [{ name, comment: null, schemas }], dependencies, unreadViews: unread, problems }
}

/** Every column in one statement; when one object cannot be described (a view over a dropped table), each apart. */
function readColumns(db: SQLite.Database, objects: { name: string }[], problems: string[]): ColumnRow[] {
  try {
    return db
      .prepare<[], ColumnRow>(
        `select s.name as table_name, p.name, p.type, p."notnull", p.pk, p.hidden
         from sqlite_schema s join pragma_table_xinfo(s.name) p
         where ${userObjects('s')}
         order by s.name, p.cid`,
      )
      .all()
  } catch {
    const statement = db.prepare<[string], Omit<ColumnRow, 'table_name'>>(COLUMNS_OF)
    return objects.flatMap((object) => {
      try {
        return statement.all(object.name).map((row) => ({ ...row, table_name: object.name }))
      } catch (error) {
        problems.push(`the columns of ${object.name} cannot be read: ${(error as Error).message} — fix or drop it`)
        return []
      }
    })
  }
}

function toColumn(row: ColumnRow, position: number): SourceColumn {
  return {
    name: row.name,
    position,
    dataType: row.type === '' ? 'ANY' : row.type,
    nullable: row.notnull === 0,
    isPk: row.pk > 0,
    comment: null,
  }
}

/** From ANALYZE's sqlite_stat1: the first number of `stat` is the rows of the table or index; the largest wins. */
function readRowCounts(db: SQLite.Database): [string, number][] {
  const present = db.prepare("select 1 from sqlite_schema where type = 'table' and name = 'sqlite_stat1'").get()
  if (present === undefined) return []
  return db
    .prepare<[], [string, number]>('select tbl, max(cast(stat as integer)) from sqlite_stat1 group by tbl')
    .raw()
    .all()
}

/** Pages of a table and its indexes, from the dbstat virtual table when this SQLite has it. */
function readByteSizes(db: SQLite.Database): [string, number][] {
  try {
    return db
      .prepare<[], [string, number]>(
        `select s.tbl_name, sum(d.pgsize)
         from (select name, pgsize from dbstat where aggregate = 1) d join sqlite_schema s on s.name = d.name
         group by s.tbl_name`,
      )
      .raw()
      .all()
  } catch {
    return []
  }
}

/** better-sqlite3 blocks; yielding between statements lets an abort be seen. */
async function pause(signal?: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  stopIfAborted(signal)
}
