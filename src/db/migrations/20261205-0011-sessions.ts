import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Sessions of the web catalog (issue 16): a person signs in with an API key and the browser keeps an HttpOnly
// cookie instead; the store keeps the cookie's SHA-256 only. A session acts as the key it was opened with: revoking
// the key (or deleting it, its user or the workspace) ends it, as does signing out or its expiry.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const ts = pg ? sql`timestamptz(3)` : sql`text`
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('revoked_at', ts)
    .execute()
  await db.schema.createIndex('sessions_api_key').on('sessions').column('api_key_id').execute()
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute()
  // Sign-in clears sessions that have ended.
  await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute()
}
