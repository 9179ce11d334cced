import type { Compilable, CompiledQuery, Kysely } from 'kysely'
import { engineOf } from './dialect.ts'
import type { DB, Engine } from './types.ts'

const MARK = '\u0000docent-slot:'

/** Where a prepared query takes a value at run time (see `prepared`). */
export function slot(name: string): string {
  return `${MARK}${name}`
}

/** The SQL texts of prepared queries on PostgreSQL, each with the name it is prepared under on a connection. */
const statementNames = new Map<string, string>()

export function preparedStatementName(sql: string): string | undefined {
  return statementNames.get(sql)
}

/**
 * Runs a reading statement straight on a store's SQLite connection, or returns undefined when it must go through
 * Kysely instead (a transaction is open on the connection, a stream is iterating the statement, or it writes).
 */
export type DirectReader = (sql: string, parameters: readonly unknown[]) => unknown[] | undefined

/** The direct reader of each SQLite store's own Kysely instance (not of its transactions or connections). */
const directReaders = new WeakMap<Kysely<DB>, DirectReader>()

export function registerDirectReader(db: Kysely<DB>, reader: DirectReader): void {
  directReaders.set(db, reader)
}

interface Compiled {
  query: CompiledQuery
  /** For each parameter of the compiled query, the name of its slot, or undefined for a value fixed at build. */
  slots: (string | undefined)[]
}

/**
 * A query that is built and compiled once per engine and variant, then only run. Kysely builds and compiles a
 * query anew on every call, which on a hot path costs several times what SQLite takes to answer it. `build`
 * writes the query with `slot(name)` wherever a value varies; `run` binds each slot's value by name. Values
 * that are not slots are fixed when the query is built, so a variant that changes them needs its own `variant`.
 */
export function prepared<V extends Record<string, unknown>, R>(
  build: (db: Kysely<DB>, variant: string) => Compilable<R>,
): (db: Kysely<DB>, values: V, variant?: string) => Promise<R[]> {
  const compiled = new Map<string, Compiled>()
  return async (db, values, variant = '') => {
    const engine: Engine = engineOf(db)
    const key = `${engine}|${variant}`
    let entry = compiled.get(key)
    if (entry === undefined) {
      const query = build(db, variant).compile()
      const slots = query.parameters.map((p) =>
        typeof p === 'string' && p.startsWith(MARK) ? p.slice(MARK.length) : undefined,
      )
      entry = { query, slots }
      compiled.set(key, entry)
      if (engine === 'postgres' && !statementNames.has(query.sql)) {
        statementNames.set(query.sql, `docent_${statementNames.size + 1}`)
      }
    }
    const { query, slots } = entry
    const parameters = query.parameters.map((fixed, i) => {
      const name = slots[i]
      if (name === undefined) return fixed
      if (!(name in values)) throw new Error(`prepared query: no value for slot ${name}`)
      return values[name]
    })
    // On SQLite, a read outside any transaction runs at once on the connection: going through Kysely (its
    // connection mutex, its promises) costs about as much again as SQLite takes to answer the resource read.
    const direct = directReaders.get(db)?.(query.sql, parameters)
    if (direct !== undefined) return direct as R[]
    const result = await db.executeQuery<R>({ ...query, parameters })
    return result.rows
  }
}
