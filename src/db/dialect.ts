import { type Expression, type Kysely, PostgresAdapter, type RawBuilder, type SqlBool, sql } from 'kysely'
import type { DB, Engine } from './types.ts'

/**
 * Text folded to lower case, the same on both engines: SQLite's lower() is replaced at connect time by one that
 * folds every letter; on PostgreSQL the database's own locale folds, also for columns stored with collation "C".
 */
export function foldCase(engine: Engine, text: Expression<unknown>): RawBuilder<string> {
  return engine === 'postgres' ? sql<string>`lower(${text} collate "default")` : sql<string>`lower(${text})`
}

/** The PostgreSQL array type a list of values is bound as, by what the values are. */
export type ListType = 'text' | 'bigint' | 'boolean' | 'timestamptz' | 'float8'

/**
 * `column in (values)` with the whole list bound as one parameter: a JSON array on SQLite, an array on PostgreSQL.
 * One parameter per element would make the statement's text depend on the list's length (so it is never reused)
 * and, on SQLite, run out of bound variables (32,766) for a filter well within its documented limits; SQLite also
 * builds a list of bound values anew for every statement, which costs more than reading the rows.
 */
export function inList(
  engine: Engine,
  column: Expression<unknown>,
  values: readonly (string | number | boolean)[],
  type: ListType = 'text',
): RawBuilder<SqlBool> {
  return inBoundList(engine, column, listParameter(engine, values), type)
}

/** A list as inList binds it: the array itself on PostgreSQL, its JSON text on SQLite. */
export function listParameter(engine: Engine, values: readonly (string | number | boolean)[]): unknown {
  return engine === 'postgres' ? values : JSON.stringify(values)
}

/** inList over a parameter already in listParameter's form (a prepared query's slot, say). */
export function inBoundList(
  engine: Engine,
  column: Expression<unknown>,
  parameter: unknown,
  type: ListType = 'text',
): RawBuilder<SqlBool> {
  return engine === 'postgres'
    ? sql<SqlBool>`${column} = any(${parameter}::${sql.raw(type)}[])`
    : sql<SqlBool>`${column} in (select value from json_each(${parameter}))`
}

/** `column in (ids)`, the ids bound as one parameter (see inList). */
export function inIds(db: Kysely<DB>, column: Expression<unknown>, ids: readonly string[]): RawBuilder<SqlBool> {
  return inList(engineOf(db), column, ids)
}

/** Which engine a Kysely instance (or transaction) talks to. */
export function engineOf(db: Kysely<DB>): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite'
}

/** A text column ordered by code point on both engines, whatever the PostgreSQL database's locale. */
export function byCodePoint(db: Kysely<DB>, column: string): RawBuilder<string> {
  return engineOf(db) === 'postgres' ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`
}
