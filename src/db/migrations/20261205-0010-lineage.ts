import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Lineage (CONTRACT §11): one row an edge, stored the way data flows (`upstream_id` feeds `downstream_id`), with
// the ends and direction it was created with kept for the answer. An edge is drawn by hand (`is_manual`) or found
// by extraction, which then names the integration whose syncs keep it in step (a manual edge names none). A pair
// has at most one manual edge and one edge of each integration; deleting either end, or the integration that found
// it, deletes the edge.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const ts = pg ? sql`timestamptz(3)` : sql`text`
  const flag = pg ? sql`boolean` : sql`integer`
  await db.schema
    .createTable('lineage_edges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('upstream_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('downstream_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('from_id', 'text', (c) => c.notNull())
    .addColumn('to_id', 'text', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('is_manual', flag, (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.references('integrations.id').onDelete('cascade'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
  // One manual edge a pair, and one a pair per integration that finds it (two dbt projects may both say a model
  // reads a table); it also walks downstream.
  await sql`create unique index lineage_edges_pair on lineage_edges (upstream_id, downstream_id, coalesce(integration_id, ''))`.execute(
    db,
  )
  // Walking upstream needs an index of its own.
  await db.schema
    .createIndex('lineage_edges_downstream')
    .on('lineage_edges')
    .columns(['downstream_id', 'upstream_id'])
    .execute()
  // The edges a sync of an integration keeps in step, and a deleted integration's.
  await db.schema
    .createIndex('lineage_edges_integration')
    .on('lineage_edges')
    .columns(['integration_id'])
    .where(sql.ref('integration_id'), 'is not', null)
    .execute()
}

export async function down(): Promise<void> {
  throw new Error('the lineage migration is not reversible; restore a backup taken before it')
}
