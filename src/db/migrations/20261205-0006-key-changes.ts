import { type Kysely, PostgresAdapter, sql } from 'kysely'

// What an API key stands for may change: revoked, deleted (also with its user), or its user's role changed.
// `key_changes` counts such changes, and the store counts them itself, by triggers, whichever code path (or
// process: the CLI revokes keys too) makes them. Each instance keeps the principals of recently used keys labelled
// with this count, and a request reads the count before it trusts one (src/access/keys.ts): a change committed
// before the request arrived is seen at once, on every instance. `last_used_at` is not counted.

const KEY_COLUMNS = ['revoked_at', 'key_hash', 'user_id', 'workspace_id'] as const
const USER_COLUMNS = ['role', 'workspace_id', 'id'] as const

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  await db.schema
    .createTable('key_changes')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('changes', postgres ? 'bigint' : 'integer', (c) => c.notNull())
    .execute()
  await db.insertInto('key_changes').values({ id: 1, changes: 0 }).execute()
  const watched = [
    ['api_keys', KEY_COLUMNS],
    ['users', USER_COLUMNS],
  ] as const
  if (postgres) {
    // `set search_path from current`: the function finds docent's table in docent's schema whoever writes.
    await sql`create function docent_note_key_change() returns trigger language plpgsql
      set search_path from current as $$
      begin
        update key_changes set changes = changes + 1 where id = 1;
        return null;
      end $$`.execute(db)
    for (const [table, columns] of watched) {
      await sql`create trigger ${sql.id(`${table}_key_change_update`)}
          after update of ${sql.join(columns.map((c) => sql.id(c)))} on ${sql.table(table)}
          for each statement execute function docent_note_key_change()`.execute(db)
      await sql`create trigger ${sql.id(`${table}_key_change_delete`)} after delete on ${sql.table(table)}
          for each statement execute function docent_note_key_change()`.execute(db)
      // TRUNCATE fires no delete trigger.
      await sql`create trigger ${sql.id(`${table}_key_change_truncate`)} after truncate on ${sql.table(table)}
          for each statement execute function docent_note_key_change()`.execute(db)
    }
    return
  }
  for (const [table, columns] of watched) {
    await sql`create trigger ${sql.id(`${table}_key_change_update`)}
        after update of ${sql.join(columns.map((c) => sql.id(c)))} on ${sql.table(table)}
        begin update key_changes set changes = changes + 1 where id = 1; end`.execute(db)
    await sql`create trigger ${sql.id(`${table}_key_change_delete`)} after delete on ${sql.table(table)}
        begin update key_changes set changes = changes + 1 where id = 1; end`.execute(db)
  }
}

export async function down(): Promise<void> {
  throw new Error('the key-changes migration is not reversible; restore a backup taken before it')
}
