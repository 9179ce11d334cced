import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
} from 'kysely'
import { LRUCache } from 'lru-cache'
import type pg from 'pg'
import { wordsOf } from '../search/words.ts'
import { ADD_TO_SLOT_POSTGRES, addToSlotAndCommit, PREPARE_NOTE_CHANGE } from './change-counter.ts'
import { preparedStatementName, registerDirectReader } from './prepared.ts'
import type { DB, Store } from './types.ts'
import { storeWriter } from './write.ts'

export class StoreError extends Error {}

export interface StoreOptions {
  /** PostgreSQL only: the schema to work in (created when missing). */
  schema?: string | undefined
  poolSize?: number
  /** PostgreSQL only: how long a statement waits for a free connection of the pool (default 5,000 ms). */
  connectTimeoutMs?: number
  /** PostgreSQL only: called after the database of the URL was missing and docent created it. */
  onDatabaseCreated?: (name: string) => void
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Opens `sqlite:<path>` or `postgres://…`; throws StoreError with a message a person can act on. */
export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    return openSqlite(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''))
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgres(url, options)
  }
  throw new StoreError(
    `unsupported DOCENT_DATABASE_URL '${redactUrl(url)}': use sqlite:<file path> or postgres://user@host:port/database`,
  )
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@')
}

function openSqlite(path: string): Store {
  if (path === '') {
    throw new StoreError('DOCENT_DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/docent.db')
  }
  const file = path === ':memory:' ? path : resolve(path)
  let sqlite: SQLite.Database
  try {
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true })
    }
    sqlite = new SQLite(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = FULL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 5000')
    // Reads map the file (up to SQLite's 2 GB limit) instead of copying each page from the OS into SQLite's 16 MB
    // page cache: at 1,000,000 resources, a search that visits 11,000 rows ran 2.5 times faster. Writes still go
    // through the WAL file, as before.
    sqlite.pragma('mmap_size = 2147418112')
    // SQLite's own lower() folds ASCII only; PostgreSQL's folds every letter. This makes them agree.
    sqlite.function('lower', { deterministic: true }, (text: unknown) =>
      typeof text === 'string' ? text.toLowerCase() : text,
    )
    // Whether the caller writes the read-ready forms of what it inserts (migration 0014): set with an argument by a
    // bulk load of new resources (src/catalog/repository/writes.ts), read without one by the list triggers.
    let formsByCaller = 0
    sqlite.function('docent_forms_by_caller', { varargs: true, deterministic: false }, (...set: unknown[]) => {
      if (set.length > 0) formsByCaller = set[0] === 1 ? 1 : 0
      return formsByCaller
    })
    // The search index's triggers split words with this (src/db/migrations/20261204-0005-search.ts).
    sqlite.table('docent_words', {
      columns: ['word'],
      parameters: ['text'],
      *rows(text: unknown) {
        if (typeof text === 'string') for (const word of wordsOf(text)) yield { word }
      },
    })
  } catch (error) {
    throw new StoreError(`cannot open the SQLite file ${file}: ${(error as Error).message}`)
  }
  const database = cachingDatabase(sqlite)
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database }) })
  // Prepared reads (db/prepared.ts) may skip Kysely's connection mutex, but only when no transaction is open on
  // the connection: the read then runs synchronously, start to end, and sees only committed data. While a
  // transaction (a group commit batch, say) is open, they queue for the connection like every other query.
  const readDirectly = (text: string, parameters: readonly unknown[]) => {
    const statement = database.prepare(text)
    // A statement another query is still iterating (Kysely's stream) cannot run again until that query ends.
    return statement.reader && !statement.busy ? (statement.all(parameters) as unknown[]) : undefined
  }
  registerDirectReader(db, (text, parameters) => (sqlite.inTransaction ? undefined : readDirectly(text, parameters)))
  return {
    db,
    engine: 'sqlite',
    file: file === ':memory:' ? undefined : file,
    // A write's own prepared reads run straight on the connection too, inside its transaction (group-commit.ts).
    write: storeWriter(db, 'sqlite', readDirectly),
    close: () => db.destroy(),
  }
}

/** A cached statement, and whether a query is still iterating it. */
type CachedStatement = SqliteStatement & { readonly busy: boolean }

interface CachingDatabase extends SqliteDatabase {
  prepare(sql: string): CachedStatement
}

/**
 * Kysely prepares every statement anew; keeping the prepared statements of the most recent SQL texts roughly
 * doubles read throughput. It also maps JS booleans to 0/1, which better-sqlite3 refuses to bind.
 */
function cachingDatabase(sqlite: SQLite.Database): CachingDatabase {
  const statements = new LRUCache<string, CachedStatement>({ max: 1000 })
  const bind = (parameters: ReadonlyArray<unknown>) =>
    parameters.some((p) => typeof p === 'boolean')
      ? parameters.map((p) => (typeof p === 'boolean' ? Number(p) : p))
      : parameters
  return {
    close: () => sqlite.close(),
    prepare(sql: string): CachedStatement {
      let statement = statements.get(sql)
      if (statement === undefined) {
        const prepared = sqlite.prepare(sql)
        statement = {
          reader: prepared.reader,
          get busy() {
            return prepared.busy
          },
          all: (parameters) => prepared.all(bind(parameters)),
          run: (parameters) => prepared.run(bind(parameters)),
          iterate: (parameters) => prepared.iterate(bind(parameters)),
        }
        statements.set(sql, statement)
      }
      return statement
    },
  }
}

async function openPostgres(url: string, options: StoreOptions): Promise<Store> {
  const schema = options.schema
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StoreError(`DOCENT_DATABASE_SCHEMA '${schema}' must be a lowercase SQL identifier`)
  }
  // Loaded here, not at the top: a server on SQLite never needs it.
  const { default: pg } = await import('pg')
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    options: schema === undefined ? undefined : `-c search_path=${schema}`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  })
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => {})
  // No JIT: docent's statements are short, and a cost estimate inflated by a subquery (search's row addresses,
  // src/catalog/filter.ts) made PostgreSQL spend 295 ms compiling a statement that ran in 75. Set on each new
  // connection, ahead of its first query (a startup option would be refused by PgBouncer); a server without JIT
  // (before PostgreSQL 11) refuses the setting, which changes nothing.
  pool.on('connect', (client) => {
    client.query('set jit = off').catch(() => {})
  })
  const prepare = async () => {
    const client = await pool.connect()
    try {
      if (schema !== undefined) {
        // Created only when missing: `create schema if not exists` needs CREATE on the database even when the
        // schema exists, and a role may well own its schema without being allowed to create others.
        const found = await client.query('select 1 from pg_namespace where nspname = $1', [schema])
        if (found.rowCount === 0) await client.query(`create schema if not exists ${schema}`)
      }
    } finally {
      client.release()
    }
  }
  try {
    try {
      await prepare()
    } catch (error) {
      if ((error as { code?: unknown }).code !== INVALID_CATALOG_NAME) throw error
      await createDatabase(pg, url, options.onDatabaseCreated)
      await prepare()
    }
  } catch (error) {
    await pool.end().catch(() => {})
    if (error instanceof StoreError) throw error
    throw new StoreError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`)
  }
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: namingPool(pool) }) })
  return { db, engine: 'postgres', write: storeWriter(db, 'postgres'), close: () => db.destroy() }
}

const INVALID_CATALOG_NAME = '3D000'
const DUPLICATE_DATABASE = '42P04'

/**
 * Creates the database a PostgreSQL URL names, from a maintenance database of the same server (`postgres`, else
 * `template1`, as `createdb` does); when the role may not, throws StoreError saying what to run instead.
 */
async function createDatabase(pg: typeof import('pg').default, url: string, created?: (name: string) => void) {
  const probe = new pg.Client({ connectionString: url })
  const name = probe.database ?? ''
  let reason = 'no maintenance database to connect to'
  for (const maintenance of ['postgres', 'template1'].filter((m) => m !== name)) {
    const target = new URL(url)
    target.pathname = `/${maintenance}`
    const client = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: 5000 })
    try {
      await client.connect()
    } catch (error) {
      reason = (error as Error).message
      await client.end().catch(() => {})
      continue
    }
    try {
      await client.query(`create database ${client.escapeIdentifier(name)}`)
      created?.(name)
      return
    } catch (error) {
      // Another instance starting at the same time created it first.
      if ((error as { code?: unknown }).code === DUPLICATE_DATABASE) return
      reason = (error as Error).message
      break
    } finally {
      await client.end().catch(() => {})
    }
  }
  const shell = (word: string) => (/^[A-Za-z0-9_.-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)
  const owner = probe.user ?? 'postgres'
  throw new StoreError(
    `the PostgreSQL database ${probe.escapeIdentifier(name)} at ${probe.host}:${probe.port} does not exist and ` +
      `docent could not create it (${reason}). Create it as a role that may, e.g. ` +
      `\`createdb -h ${probe.host} -p ${probe.port} -U postgres -O ${shell(owner)} ${shell(name)}\` or in psql ` +
      `\`CREATE DATABASE ${probe.escapeIdentifier(name)} OWNER ${probe.escapeIdentifier(owner)};\`, ` +
      'then start docent again.',
  )
}

/**
 * The pool as Kysely sees it, but the statements of prepared queries (db/prepared.ts) run as named prepared
 * statements: PostgreSQL then parses each once per connection and can keep its plan, where an unnamed statement
 * is planned on every run (about 1 ms for a resource read with its eleven lists).
 *
 * In a transaction, the change counter's increment (`noteChange`, always a transaction's last write) is held back
 * and sent in one text with the commit, so noting a change costs no round trip. A rollback drops it.
 */
function namingPool(pool: pg.Pool): PostgresPool {
  const notingClients = new WeakSet<pg.PoolClient>()
  return {
    async connect() {
      const client = await pool.connect()
      let inTransaction = false
      let slotAtCommit: number | undefined
      return {
        query: async (text: string, values: unknown[]) => {
          if (text === 'begin' || text.startsWith('start transaction')) {
            inTransaction = true
          } else if (text === ADD_TO_SLOT_POSTGRES && inTransaction) {
            slotAtCommit = values[0] as number
            return { command: 'INSERT', rowCount: 1, rows: [] }
          } else if (text === 'commit' || text === 'rollback') {
            const slot = slotAtCommit
            inTransaction = false
            slotAtCommit = undefined
            if (text === 'commit' && slot !== undefined) {
              if (!notingClients.has(client)) {
                await client.query(PREPARE_NOTE_CHANGE)
                notingClients.add(client)
              }
              // Several statements in one text answer with one result each; the commit's is the last.
              const results = (await client.query(addToSlotAndCommit(slot))) as unknown as pg.QueryResult[]
              return results.at(-1)
            }
          }
          const name = preparedStatementName(text)
          return name === undefined ? client.query(text, values) : client.query({ name, text, values })
        },
        release: (destroy?: boolean | Error) => client.release(destroy),
      } as unknown as PostgresPoolClient
    },
    end: () => pool.end(),
  }
}
