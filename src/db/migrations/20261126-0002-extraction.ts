import { type Kysely, PostgresAdapter, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const ts = pg ? sql`timestamptz(3)` : sql`text`
  const flag = pg ? sql`boolean` : sql`integer`
  const falsy = pg ? sql`false` : sql`0`

  // What extraction reads about a column, and whether a person wrote the description (then a sync leaves it).
  await db.schema.alterTable('resources').addColumn('data_type', 'text').execute()
  await db.schema.alterTable('resources').addColumn('sort_order', 'integer').execute()
  await db.schema.alterTable('resources').addColumn('is_pk', flag).execute()
  await db.schema.alterTable('resources').addColumn('is_nullable', flag).execute()
  await db.schema
    .alterTable('resources')
    .addColumn('description_by_person', flag, (c) => c.notNull().defaultTo(falsy))
    .execute()
  await db.schema
    .createIndex('resources_integration_databuilder')
    .on('resources')
    .columns(['integration_id', 'databuilder_id'])
    .execute()

  await db.schema
    .createTable('sync_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', ts)
    .addColumn('finished_at', ts)
    .addColumn('heartbeat_at', ts)
    .addColumn('created_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unchanged_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('staled_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('sync_runs_integration')
    .on('sync_runs')
    .columns(['integration_id', 'created_at'])
    .execute()
  // One run at a time per integration, whichever instance starts it.
  await db.schema
    .createIndex('sync_runs_one_active')
    .on('sync_runs')
    .column('integration_id')
    .unique()
    .where(sql.ref('status'), 'in', ['queued', 'running'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sync_runs').execute()
  await db.schema.dropIndex('resources_integration_databuilder').execute()
  for (const column of ['description_by_person', 'is_nullable', 'is_pk', 'sort_order', 'data_type']) {
    await db.schema.alterTable('resources').dropColumn(column).execute()
  }
}
