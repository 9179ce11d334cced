import { type Kysely, Migrator } from 'kysely'
import * as initial from './migrations/20261126-0001-initial.ts'

const migrations = {
  '20261126-0001-initial': initial,
}

/** Brings the store's schema up to date; returns the names of the migrations it applied. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`)
  }
  return (results ?? []).map((r) => r.migrationName)
}
