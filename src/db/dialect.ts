import { type Expression, type RawBuilder, sql } from 'kysely'
import type { Engine } from './types.ts'

/**
 * Text folded to lower case, the same on both engines: SQLite's lower() is replaced at connect time by one that
 * folds every letter; on PostgreSQL the database's own locale folds, also for columns stored with collation "C".
 */
export function foldCase(engine: Engine, text: Expression<unknown>): RawBuilder<string> {
  return engine === 'postgres' ? sql<string>`lower(${text} collate "default")` : sql<string>`lower(${text})`
}
