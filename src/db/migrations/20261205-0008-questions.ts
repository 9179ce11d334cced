import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Questions and replies (CONTRACT §9): a reply may be the accepted answer of its question, and its author (the
// user who created it) becomes the question's `question_answered_by`. `created_by` is kept for every resource
// from now on (null for those written before, and when the user is deleted). A deleted user is also taken out
// of the questions assigned to or answered by them.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const flag = pg ? sql`boolean` : sql`integer`
  const falsy = pg ? sql`false` : sql`0`
  await db.schema
    .alterTable('resources')
    .addColumn('accepted', flag, (c) => c.notNull().defaultTo(falsy))
    .execute()
  await db.schema
    .alterTable('resources')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .execute()
  // The questions of a user are found by an index, for the filter and for the deletion of the user.
  await db.schema.createIndex('resources_assigned_to').on('resources').column('question_assigned_to').execute()
  await db.schema.createIndex('resources_answered_by').on('resources').column('question_answered_by').execute()
  await db.schema.createIndex('resources_created_by').on('resources').column('created_by').execute()
  if (pg) {
    for (const column of ['question_assigned_to', 'question_answered_by']) {
      await sql`alter table resources add constraint ${sql.id(`resources_${column}_fk`)}
          foreign key (${sql.id(column)}) references users (id) on delete set null`.execute(db)
    }
    return
  }
  // SQLite cannot add a foreign key to an existing column: a trigger does what `on delete set null` would.
  await sql`create trigger users_questions_delete after delete on users begin
      update resources set question_assigned_to = null where question_assigned_to = old.id;
      update resources set question_answered_by = null where question_answered_by = old.id;
    end`.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('the questions migration is not reversible; restore a backup taken before it')
}
