import { type Kysely, PostgresAdapter, sql } from 'kysely'

// PostgreSQL: the path index SQLite got in 0012. Paths (`title_full`, collated "C", so the index orders by bytes
// as a range needs) in order: search and `contains` on a path find a matched title's descendants as a range
// instead of rechecking every row the path's trigram index offers (src/catalog/filter.ts `textIndexed`). A B-tree
// entry holds at most 2,704 bytes and a path can be longer (titles take 1,024 characters), so the index holds each
// path's first 500 characters (2,000 bytes at most): the range on them is a superset, and the comparison decides.

export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
  await sql`create index resources_title_full on resources (left(title_full, 500))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
  await db.schema.dropIndex('resources_title_full').execute()
}
