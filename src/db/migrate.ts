import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely'
import * as initial from './migrations/20261126-0001-initial.ts'
import * as extraction from './migrations/20261126-0002-extraction.ts'
import * as visibility from './migrations/20261129-0003-visibility.ts'
import * as changeCounter from './migrations/20261129-0004-change-counter.ts'
import * as search from './migrations/20261204-0005-search.ts'
import * as keyChanges from './migrations/20261205-0006-key-changes.ts'
import * as searchWordsInline from './migrations/20261205-0007-search-words-inline.ts'
import * as questions from './migrations/20261205-0008-questions.ts'
import * as customProperties from './migrations/20261205-0009-custom-properties.ts'
import * as lineage from './migrations/20261205-0010-lineage.ts'
import * as sessions from './migrations/20261205-0011-sessions.ts'
import * as pathIndex from './migrations/20261205-0012-path-index.ts'
import * as pathIndexPostgres from './migrations/20261205-0013-path-index-postgres.ts'
import * as readForms from './migrations/20261205-0014-read-forms.ts'
import * as lineageOrder from './migrations/20261205-0015-lineage-order.ts'

export type Migrations = Record<string, Migration>

const migrations: Migrations = {
  '20261126-0001-initial': initial,
  '20261126-0002-extraction': extraction,
  '20261129-0003-visibility': visibility,
  '20261129-0004-change-counter': changeCounter,
  '20261204-0005-search': search,
  '20261205-0006-key-changes': keyChanges,
  '20261205-0007-search-words-inline': searchWordsInline,
  '20261205-0008-questions': questions,
  '20261205-0009-custom-properties': customProperties,
  '20261205-0010-lineage': lineage,
  '20261205-0011-sessions': sessions,
  '20261205-0012-path-index': pathIndex,
  '20261205-0013-path-index-postgres': pathIndexPostgres,
  '20261205-0014-read-forms': readForms,
  '20261205-0015-lineage-order': lineageOrder,
}

/** Brings the store's schema up to date; returns the names of the migrations it applied. */
export function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return runMigrations(db, migrations)
}

/**
 * Applies, in name order, the migrations not yet recorded in `kysely_migration` (the table Kysely's Migrator kept,
 * so stores it migrated are recognised), all in one transaction that holds the store's migration lock: a failing
 * migration leaves nothing of that run behind, and the error names it.
 *
 * Kysely's Migrator is not used because it decides whether its tables exist by listing every table of every
 * schema in the database: on PostgreSQL that listing fails when another client drops a schema meanwhile, so a
 * start-up beside other applications (or parallel test runs) failed now and then. This touches only the store's
 * own schema: `current_schema()` on PostgreSQL.
 */
export async function runMigrations(db: Kysely<any>, all: Migrations): Promise<string[]> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  let step = 'bookkeeping'
  try {
    return await db.connection().execute(async (connection) => {
      // SQLite: take the write lock at once, so two processes never both read "not applied" and then race.
      await sql.raw(postgres ? 'begin' : 'begin immediate').execute(connection)
      try {
        if (postgres) {
          // One migration at a time per schema, across every instance starting on the same database.
          await sql`select pg_advisory_xact_lock(hashtext('docent.migrate.' || current_schema()))`.execute(connection)
        }
        await sql`create table if not exists kysely_migration (
          name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(connection)
        const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(connection)
        const done = new Set(rows.map((r) => r.name))
        const applied: string[] = []
        for (const name of Object.keys(all).sort()) {
          if (done.has(name)) continue
          step = name
          const migration = all[name] as Migration
          await migration.up(connection)
          await sql`insert into kysely_migration (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(
            connection,
          )
          applied.push(name)
        }
        step = 'commit'
        await sql.raw('commit').execute(connection)
        return applied
      } catch (error) {
        await sql
          .raw('rollback')
          .execute(connection)
          .catch(() => {})
        throw error
      }
    })
  } catch (error) {
    throw new Error(`migration ${step} failed: ${(error as Error).message}`, { cause: error })
  }
}
