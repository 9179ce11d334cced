import { type Kysely, PostgresAdapter } from 'kysely'

// SQLite: paths (`title_full`) in order, so that the resources under a given path are one range of an index
// (src/catalog/filter.ts `textIndexed`): `contains` on a path and search find a matched title's descendants by
// the range [path + '.', path + '/') instead of walking the hierarchy one level at a time. PostgreSQL finds paths
// through its trigram index and needs none.

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return
  await db.schema.createIndex('resources_title_full').on('resources').column('title_full').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return
  await db.schema.dropIndex('resources_title_full').execute()
}
