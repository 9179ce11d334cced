import { type Kysely, PostgresAdapter, sql } from 'kysely'

/** The slots of the counter (src/db/change-counter.ts picks among as many); writers upsert, readers sum every row. */
const SLOTS = 16

export async function up(db: Kysely<any>): Promise<void> {
  const big = db.getExecutor().adapter instanceof PostgresAdapter ? sql`bigint` : sql`integer`
  // docent's own change counter: every write transaction that can change what a list shows adds one to a slot.
  await db.schema
    .createTable('change_counter')
    .addColumn('slot', 'integer', (c) => c.primaryKey())
    .addColumn('changes', big, (c) => c.notNull())
    .execute()
  await db
    .insertInto('change_counter')
    .values(Array.from({ length: SLOTS }, (_, slot) => ({ slot, changes: 0 })))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('change_counter').execute()
}
