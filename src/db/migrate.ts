import { type Kysely, Migrator, PostgresAdapter, sql } from 'kysely'
import * as initial from './migrations/20261126-0001-initial.ts'
import * as extraction from './migrations/20261126-0002-extraction.ts'
import * as visibility from './migrations/20261129-0003-visibility.ts'

const migrations = {
  '20261126-0001-initial': initial,
  '20261126-0002-extraction': extraction,
  '20261129-0003-visibility': visibility,
}

/** Brings the store's schema up to date; returns the names of the migrations it applied. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: name ours, so another
  // schema of the same PostgreSQL database (another docent, another app) is never mistaken for this one.
  let migrationTableSchema: string | undefined
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
    migrationTableSchema = rows[0]?.schema
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`)
  }
  return (results ?? []).map((r) => r.migrationName)
}
