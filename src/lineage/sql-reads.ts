import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * What a SQL statement reads, by node-sql-parser (a PEG parser per dialect), parsed in a worker thread: on some
 * inputs the parser backtracks for minutes (a select with 20 unclosed parentheses ran 60 s before failing), so a
 * parse that outlasts its time limit is stopped by terminating the worker, never by blocking the server.
 */

/** The dialects a statement may be written in, by the names clients send, and node-sql-parser's build for each. */
export const DIALECTS: Record<string, string> = {
  postgresql: 'postgresql',
  postgres: 'postgresql',
  redshift: 'redshift',
  mysql: 'mysql',
  // node-sql-parser 5.4's MariaDB build names the tables of qualified columns `[object Object]`; MariaDB's SQL, as
  // far as lineage reads it, is MySQL's.
  mariadb: 'mysql',
  sqlite: 'sqlite',
  bigquery: 'bigquery',
  snowflake: 'snowflake',
  trino: 'trino',
  athena: 'athena',
  hive: 'hive',
  db2: 'db2',
  transactsql: 'transactsql',
  mssql: 'transactsql',
  tsql: 'transactsql',
}

/** A table a statement reads: its schema (or database) as written, when written. */
export interface TableRead {
  schema: string | null
  table: string
}

/** A column a statement reads, with the table it belongs to when the parser can tell (aliases resolved). */
export interface ColumnRead {
  table: string | null
  column: string
}

export interface Reads {
  tables: TableRead[]
  columns: ColumnRead[]
}

/** The statement could not be read: the parser's own words, or that it ran out of time. */
export class SqlReadError extends Error {}

export const MAX_SQL_LENGTH = 100_000
const TIME_LIMIT_MS = 2000
/** Statements waiting for the reader at most; more are refused rather than queued without end. */
const MAX_QUEUE = 64

// The worker's code, plain JavaScript (it runs without a TypeScript loader, also from the bundled dist/).
// `tableList` names every table the statement touches as `<kind>::<schema>::<table>`; the names a WITH clause
// defines are left out, as they are no tables of the database; `columnList` names `<kind>::<table>::<column>`.
const WORKER = `
const { parentPort } = require('node:worker_threads')
const parsers = new Map()
function parserFor(path) {
  let parser = parsers.get(path)
  if (parser === undefined) {
    const { Parser } = require(path)
    parser = new Parser()
    parsers.set(path, parser)
  }
  return parser
}
function withNames(node, names) {
  if (node === null || typeof node !== 'object') return
  if (Array.isArray(node)) { for (const item of node) withNames(item, names); return }
  if (Array.isArray(node.with)) {
    for (const cte of node.with) {
      const name = cte && cte.name && (typeof cte.name === 'string' ? cte.name : cte.name.value)
      if (typeof name === 'string') names.add(name)
    }
  }
  for (const value of Object.values(node)) withNames(value, names)
}
parentPort.on('message', ({ id, path, database, sql }) => {
  try {
    const parser = parserFor(path)
    const options = { database }
    const parsed = parser.parse(sql, options)
    const local = new Set()
    withNames(parsed.ast, local)
    const tables = []
    const seen = new Set()
    for (const entry of parsed.tableList) {
      const [kind, schema, table] = entry.split('::')
      if (kind !== 'select' || local.has(table)) continue
      const key = schema + '\\u0000' + table
      if (seen.has(key)) continue
      seen.add(key)
      tables.push({ schema: schema === 'null' ? null : schema, table })
    }
    const columns = []
    const seenColumns = new Set()
    for (const entry of parsed.columnList) {
      const parts = entry.split('::')
      if (parts[0] !== 'select') continue
      const column = parts[parts.length - 1]
      const table = parts.length >= 3 ? parts[parts.length - 2] : 'null'
      if (column === '(.*)' || column === '*' || local.has(table)) continue
      const key = table + '\\u0000' + column
      if (seenColumns.has(key)) continue
      seenColumns.add(key)
      columns.push({ table: table === 'null' ? null : table, column })
    }
    parentPort.postMessage({ id, reads: { tables, columns } })
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) })
  }
})
`

interface Job {
  id: number
  path: string
  database: string
  sql: string
  resolve: (reads: Reads) => void
  reject: (error: Error) => void
}

const require = createRequire(import.meta.url)

/** One worker, one statement at a time; a statement that outlasts the limit takes the worker down with it. */
class SqlReader {
  #worker: Worker | undefined
  #queue: Job[] = []
  #running: { job: Job; timer: NodeJS.Timeout } | undefined
  #next = 1

  read(sql: string, dialect: string): Promise<Reads> {
    const build = Object.hasOwn(DIALECTS, dialect) ? DIALECTS[dialect] : undefined
    if (build === undefined) throw new SqlReadError(`unknown dialect ${JSON.stringify(dialect)}`)
    if (this.#queue.length >= MAX_QUEUE) {
      throw new SqlReadError('the SQL reader is busy with other statements; try again in a few seconds')
    }
    const path = require.resolve(`node-sql-parser/build/${build}`)
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#next++, path, database: build, sql, resolve, reject })
      this.#pump()
    })
  }

  #pump() {
    if (this.#running !== undefined) return
    const job = this.#queue.shift()
    if (job === undefined) return
    const worker = this.#workerFor()
    const timer = setTimeout(() => {
      this.#running = undefined
      this.#worker = undefined
      void worker.terminate()
      job.reject(new SqlReadError(`the statement could not be read within ${TIME_LIMIT_MS / 1000} s`))
      this.#pump()
    }, TIME_LIMIT_MS)
    this.#running = { job, timer }
    // Kept alive while it works (a `docent sync` waits on it), not while it idles.
    worker.ref()
    worker.postMessage({ id: job.id, path: job.path, database: job.database, sql: job.sql })
  }

  #workerFor(): Worker {
    if (this.#worker !== undefined) return this.#worker
    const worker = new Worker(WORKER, { eval: true })
    // An idle worker does not keep the process alive.
    worker.unref()
    worker.on('message', (message: { id: number; reads?: Reads; error?: string }) => {
      const running = this.#running
      if (running === undefined || running.job.id !== message.id) return
      clearTimeout(running.timer)
      this.#running = undefined
      this.#worker?.unref()
      if (message.reads !== undefined) running.job.resolve(message.reads)
      else running.job.reject(new SqlReadError(message.error ?? 'the statement could not be read'))
      this.#pump()
    })
    worker.on('error', (error) => {
      if (this.#worker !== worker) return
      const running = this.#running
      this.#worker = undefined
      if (running !== undefined) {
        clearTimeout(running.timer)
        this.#running = undefined
        running.job.reject(new SqlReadError(`the statement could not be read (${error.message})`))
      }
      this.#pump()
    })
    this.#worker = worker
    return worker
  }
}

const reader = new SqlReader()

/** The tables and columns `sql` reads, in `dialect` (a key of DIALECTS); SqlReadError says why not. */
export function readsOf(sql: string, dialect: string): Promise<Reads> {
  if (sql.length > MAX_SQL_LENGTH) {
    return Promise.reject(new SqlReadError(`a statement may hold at most ${MAX_SQL_LENGTH} characters`))
  }
  return reader.read(sql, dialect)
}
