import { type Kysely, PostgresAdapter, sql } from 'kysely'

// The search index (CONTRACT §12, DEVELOPERS.md "Search"), kept right by the store itself for every write to
// `resources`, whichever code path makes it:
// - the text of title, description and definition (and on PostgreSQL title_full), folded to lower case, in a
//   trigram index per field. PostgreSQL: pg_trgm GIN indexes on the folded columns, which PostgreSQL keeps itself.
//   SQLite: FTS5 tables, keyed by a stable integer per resource, and `search_pending`, the keys whose text changed
//   since the tables were last brought up to date. The triggers only note the key, in the write's transaction;
//   src/search/index-sqlite.ts brings the tables up to date in batches, and a search reads the noted keys beside
//   them. Updating FTS5 tables in every small write transaction cost 40% of PATCH throughput.
// - the words of that text (`search_words`), among which the words one edit away from a misspelt search word are
//   looked up. Words are never removed: a word left from deleted text finds nothing when it is searched for.

/** SQLite's trigram tables; `title_full` is found through the titles it is made of (src/catalog/filter.ts). */
const SQLITE_FIELDS = ['title', 'description', 'definition'] as const
/** PostgreSQL's trigram indexes. */
const POSTGRES_FIELDS = ['title', 'title_full', 'description', 'definition'] as const

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await upPostgres(db)
  else await upSqlite(db)
}

async function upSqlite(db: Kysely<any>): Promise<void> {
  // docent_words() is a function docent registers on its connections (src/search/words.ts), so the triggers split
  // words exactly as the search does.
  await sql`create table search_words (
      workspace_id text not null references workspaces (id) on delete cascade,
      word text not null,
      primary key (workspace_id, word)
    ) without rowid`.execute(db)

  // A resource's id is text; FTS5 rows are found by an integer. `resources` has no integer key of its own that
  // VACUUM keeps, so each resource gets one here.
  await sql`create table resource_search_keys (
      key integer primary key,
      resource_id text not null unique
    )`.execute(db)
  // Which field of which key: a PATCH of a description rewrites one table, not three.
  await sql`create table search_pending (
      key integer not null,
      field text not null,
      primary key (key, field)
    ) without rowid`.execute(db)
  for (const field of SQLITE_FIELDS) {
    // Contentless (the text is in `resources`), with deletes; the text is folded before it is indexed, so the
    // index compares what `contains` compares.
    await sql`create virtual table ${sql.table(`resource_fts_${field}`)} using fts5 (
        text, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
      )`.execute(db)
  }
  const keyOf = (row: 'new' | 'old') => sql.raw(`(select key from resource_search_keys where resource_id = ${row}.id)`)
  const noteWords = (text: string) =>
    sql.raw(
      `insert or ignore into search_words (workspace_id, word) select new.workspace_id, word from docent_words(${text});`,
    )
  const noteAll = (row: 'new' | 'old') =>
    sql.join(
      SQLITE_FIELDS.map(
        (field) => sql`insert or ignore into search_pending (key, field) values (${keyOf(row)}, ${sql.lit(field)});`,
      ),
      sql` `,
    )
  await sql`create trigger resources_search_insert after insert on resources begin
      insert into resource_search_keys (resource_id) values (new.id);
      ${noteAll('new')}
      ${noteWords(`new.title || ' ' || new.description || ' ' || new.definition`)}
    end`.execute(db)
  for (const field of SQLITE_FIELDS) {
    const column = sql.raw(field)
    await sql`create trigger ${sql.id(`resources_search_${field}`)} after update of ${column} on resources
      when new.${column} is not old.${column} begin
        insert or ignore into search_pending (key, field) values (${keyOf('new')}, ${sql.lit(field)});
        ${noteWords(`new.${field}`)}
      end`.execute(db)
  }
  // The key goes with the resource; its text goes from the tables when they are next brought up to date, and
  // until then it finds no resource.
  await sql`create trigger resources_search_delete after delete on resources begin
      ${noteAll('old')}
      delete from resource_search_keys where resource_id = old.id;
    end`.execute(db)

  // The rows already there, indexed at once.
  await sql`insert into resource_search_keys (resource_id) select id from resources`.execute(db)
  for (const field of SQLITE_FIELDS) {
    const column = sql.ref(`r.${field}`)
    await sql`insert into ${sql.table(`resource_fts_${field}`)} (rowid, text)
        select k.key, lower(${column}) from resources r join resource_search_keys k on k.resource_id = r.id`.execute(db)
  }
  await sql`insert or ignore into search_words (workspace_id, word)
      select r.workspace_id, w.word from resources r, docent_words(r.title || ' ' || r.description || ' ' || r.definition) w`.execute(
    db,
  )
}

async function upPostgres(db: Kysely<any>): Promise<void> {
  const ops = await trigramOperatorClass(db)
  for (const field of POSTGRES_FIELDS) {
    // The expression `contains` compares (src/db/dialect.ts foldCase), so the planner can use the index for it.
    await sql`create index ${sql.id(`resources_${field}_trgm`)} on resources
        using gin (lower(${sql.ref(field)} collate "default") ${ops})`.execute(db)
  }

  // No unique key: inserting a word that an uncommitted transaction also inserts would wait for it, and two
  // transactions of several statements (a sync's batches, a PATCH) would deadlock. A word two writers add at once
  // is kept twice, which the search does not mind.
  await sql`create table search_words (
      workspace_id text not null references workspaces (id) on delete cascade,
      word text not null
    )`.execute(db)
  await sql`create index search_words_word on search_words (workspace_id, word)`.execute(db)
  // The same words as src/search/words.ts: runs of letters and digits, 4 to 40 long, holding a letter.
  await sql`create function docent_words(t text) returns setof text language sql immutable parallel safe as $$
      select distinct w from regexp_split_to_table(lower(t collate "default"), '[^[:alnum:]]+') as w
      where char_length(w) between 4 and 40 and w ~ '[[:alpha:]]'
    $$`.execute(db)
  // Statement triggers with transition tables: one insert of words per statement, however many rows it wrote.
  // `set search_path from current`: the functions find docent's tables in docent's schema whoever writes.
  await sql`create function docent_note_words() returns trigger language plpgsql
    set search_path from current as $$
    begin
      insert into search_words (workspace_id, word)
        select distinct n.workspace_id, w from new_rows n
          cross join lateral docent_words(n.title || ' ' || n.description || ' ' || n.definition) as w
        where not exists (select 1 from search_words s where s.workspace_id = n.workspace_id and s.word = w);
      return null;
    end $$`.execute(db)
  await sql`create function docent_note_changed_words() returns trigger language plpgsql
    set search_path from current as $$
    begin
      insert into search_words (workspace_id, word)
        select distinct n.workspace_id, w from new_rows n join old_rows o on o.id = n.id
          cross join lateral docent_words(n.title || ' ' || n.description || ' ' || n.definition) as w
        where (n.title, n.description, n.definition) is distinct from (o.title, o.description, o.definition)
          and not exists (select 1 from search_words s where s.workspace_id = n.workspace_id and s.word = w);
      return null;
    end $$`.execute(db)
  await sql`create trigger resources_search_insert after insert on resources
      referencing new table as new_rows for each statement execute function docent_note_words()`.execute(db)
  await sql`create trigger resources_search_update after update on resources
      referencing old table as old_rows new table as new_rows
      for each statement execute function docent_note_changed_words()`.execute(db)

  await sql`insert into search_words (workspace_id, word)
      select distinct r.workspace_id, w from resources r
        cross join lateral docent_words(r.title || ' ' || r.description || ' ' || r.definition) as w`.execute(db)
}

/**
 * pg_trgm's GIN operator class, qualified by the schema the extension lives in. The extension is created in
 * `public` when it is missing (pg_trgm is a trusted extension: a role with CREATE on the database may), never in
 * docent's own schema, where dropping that schema would take every other schema's indexes with it.
 */
async function trigramOperatorClass(db: Kysely<any>) {
  const find = () =>
    sql<{ schema: string }>`select n.nspname as schema from pg_extension e
        join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(db)
  let { rows } = await find()
  if (rows.length === 0) {
    // One creation at a time across every schema of the database (each schema migrates under its own lock).
    await sql`select pg_advisory_xact_lock(hashtext('docent.migrate.pg_trgm'))`.execute(db)
    await sql`savepoint docent_pg_trgm`.execute(db)
    try {
      await sql`create extension if not exists pg_trgm schema public`.execute(db)
    } catch (error) {
      await sql`rollback to savepoint docent_pg_trgm`.execute(db)
      throw new Error(
        `docent's search needs the PostgreSQL extension pg_trgm, and this role may not create it (${(error as Error).message}). ` +
          'Ask the database owner or a superuser to run CREATE EXTENSION pg_trgm SCHEMA public; in this database, then start docent again',
      )
    }
    ;({ rows } = await find())
  }
  const schema = rows[0]?.schema
  if (schema === undefined) throw new Error('pg_trgm was created but is not listed in pg_extension')
  return sql`${sql.id(schema)}.gin_trgm_ops`
}

export async function down(): Promise<void> {
  throw new Error('the search migration is not reversible; restore a backup taken before it')
}
