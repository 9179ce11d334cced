import { type Kysely, PostgresAdapter, sql } from 'kysely'

// PostgreSQL: the triggers that note a write's words (migration 0005) split the text with the SQL function
// docent_words(). PostgreSQL cannot inline a set-returning function that uses DISTINCT, so every call planned its
// body again: 3.3–3.6 ms for a one-row UPDATE against 0.4 ms without the trigger, which halved PATCH throughput.
// The same split, written into the trigger functions, is planned once per connection (measured 0.24–0.30 ms).
// SQLite's triggers call docent's registered function and are not concerned.

/** Runs of letters and digits, 4 to 40 long, holding a letter: src/search/words.ts, as in docent_words(). */
const words = (text: string) => `regexp_split_to_table(lower((${text}) collate "default"), '[^[:alnum:]]+')`
const kept = (word: string) => `char_length(${word}) between 4 and 40 and ${word} ~ '[[:alpha:]]'`

export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
  const text = (row: string) => `${row}.title || ' ' || ${row}.description || ' ' || ${row}.definition`
  await sql
    .raw(`create or replace function docent_note_words() returns trigger language plpgsql
    set search_path from current as $$
    begin
      insert into search_words (workspace_id, word)
        select distinct n.workspace_id, w from new_rows n
          cross join lateral ${words(text('n'))} as w
        where ${kept('w')}
          and not exists (select 1 from search_words s where s.workspace_id = n.workspace_id and s.word = w);
      return null;
    end $$`)
    .execute(db)
  await sql
    .raw(`create or replace function docent_note_changed_words() returns trigger language plpgsql
    set search_path from current as $$
    begin
      insert into search_words (workspace_id, word)
        select distinct n.workspace_id, w from new_rows n join old_rows o on o.id = n.id
          cross join lateral ${words(text('n'))} as w
        where (n.title, n.description, n.definition) is distinct from (o.title, o.description, o.definition)
          and ${kept('w')}
          and not exists (select 1 from search_words s where s.workspace_id = n.workspace_id and s.word = w);
      return null;
    end $$`)
    .execute(db)
}

export async function down(): Promise<void> {
  throw new Error('the search-words migration is not reversible; restore a backup taken before it')
}
