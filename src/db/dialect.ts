import { type Expression, type Kysely, PostgresAdapter, type RawBuilder, type SqlBool, sql } from 'kysely'
import type { DB, Engine } from './types.ts'

/**
 * Text folded to lower case, the same on both engines: SQLite's lower() is replaced at connect time by one that
 * folds every letter; on PostgreSQL the database's own locale folds, also for columns stored with collation "C".
 */
export function foldCase(engine: Engine, text: Expression<unknown>): RawBuilder<string> {
  return engine === 'postgres' ? sql<string>`lower(${text} collate "default")` : sql<string>`lower(${text})`
}

/**
 * `column in (ids)` with the ids bound as one parameter: SQLite builds a list of 50 bound values anew for every
 * statement, which costs more than reading the rows; a JSON array (SQLite) or a text array (PostgreSQL) does not.
 */
export function inIds(db: Kysely<DB>, column: Expression<unknown>, ids: readonly string[]): RawBuilder<SqlBool> {
  return engineOf(db) === 'postgres'
    ? sql<SqlBool>`${column} = any(${ids}::text[])`
    : sql<SqlBool>`${column} in (select value from json_each(${JSON.stringify(ids)}))`
}

/** Which engine a Kysely instance (or transaction) talks to. */
export function engineOf(db: Kysely<DB>): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite'
}

/** A text column ordered by code point on both engines, whatever the PostgreSQL database's locale. */
export function byCodePoint(db: Kysely<DB>, column: string): RawBuilder<string> {
  return engineOf(db) === 'postgres' ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`
}
