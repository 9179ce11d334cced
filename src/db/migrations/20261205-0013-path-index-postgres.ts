import { type Kysely, PostgresAdapter } from 'kysely'

// PostgreSQL: the path index SQLite got in 0012. Paths (`title_full`, collated "C", so the index orders by bytes
// as a range needs) in order: search and `contains` on a path find a matched title's descendants as the range
// [path + '.', path + '/') instead of rechecking every row the path's trigram index offers
// (src/catalog/filter.ts `textIndexed`).

export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
  await db.schema.createIndex('resources_title_full').on('resources').column('title_full').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
  await db.schema.dropIndex('resources_title_full').execute()
}
