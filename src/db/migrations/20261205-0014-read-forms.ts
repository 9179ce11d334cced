import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely'

// One place to read a resource's lists from. A resource's eleven id lists and its custom property values live in
// relation tables (filters need their indexes), and a read of one resource probed each of them: twelve B-tree
// descents, half of a read by id. `resource_lists` keeps, per resource that has any, a read-ready form of them all:
// a JSON object whose keys are the API's list fields (and `custom_properties`, the encoded elements that
// src/catalog/repository/custom-values.ts decodes), each value in stored order; a key that is absent is an empty list.
//
// The store writes the form itself, by triggers on every relation table and on custom property definitions, in
// the transaction of the write that changed them, whichever code path it was: a PATCH, an import, a cascade of a
// deleted user, tag, team, group, collection, option or property. A trigger recomputes a changed list whole from
// its table. On PostgreSQL each trigger first takes a transaction lock on each resource whose form it rewrites, and
// computes in the next statement (a fresh snapshot): two transactions that change one resource's lists (a PATCH and
// a deleted user, say) write its form one after the other, the second from what the first committed.
//
// A bulk load of new resources (src/catalog/repository/writes.ts `insertResourceRows`) writes their forms itself,
// once per resource after all their lists, and turns the list triggers off meanwhile: rewritten once per list and
// statement by triggers, the forms cost more than everything else of a load (a 300,000-resource catalog took 75 s to
// build on PostgreSQL with them, 31 s without). The switch is `docent_forms_by_caller()` on SQLite (a function
// docent registers on its connections, src/db/connect.ts) and the transaction setting `docent.forms_by_caller` on
// PostgreSQL; deletes and cascades always go through the triggers.
//
// The tables are named here, not taken from the code, so that this migration stays what it was when it ran.

const LISTS = {
  teams: 'resource_teams',
  owners: 'resource_owners',
  owners_groups: 'resource_owner_groups',
  collections: 'resource_collections',
  tags: 'resource_tags',
  sources: 'resource_sources',
  subscribers: 'resource_subscribers',
  internal_users: 'resource_internal_users',
  external_users: 'resource_external_users',
  bookmarked_by: 'resource_bookmarks',
  multiplayers: 'resource_multiplayers',
} as const

const CUSTOM = 'custom_properties'

/** Each key of the form and the table it is kept from. */
const SOURCES: [string, string][] = [...Object.entries(LISTS), [CUSTOM, 'custom_property_values']]

/** The form's value of one list of resource `resource` (an SQL expression): a JSON array, empty when none. */
function listValue(postgres: boolean, table: string, resource: string): string {
  return postgres
    ? `coalesce((select jsonb_agg(l.target_id order by l.position) from ${table} l where l.resource_id = ${resource}), '[]'::jsonb)`
    : `json((select json_group_array(l.target_id order by l.position) from ${table} l where l.resource_id = ${resource}))`
}

/** The form's value of the custom property values of `resource`: their encoded elements, in position order. */
function customValue(postgres: boolean, resource: string): string {
  const from = `from custom_property_values v join custom_properties p on p.id = v.property_id where v.resource_id = ${resource}`
  return postgres
    ? `coalesce((select jsonb_agg(jsonb_build_array(p.name, p.value_type, v.text_value, v.number_value, v.boolean_value, coalesce(v.option_id, v.user_id, v.target_id)) order by v.position) ${from}), '[]'::jsonb)`
    : `json((select json_group_array(json_array(p.name, p.value_type, v.text_value, v.number_value, v.boolean_value, coalesce(v.option_id, v.user_id, v.target_id)) order by v.position) ${from}))`
}

/** Every part of the form, by key, for `resource`. */
function allValues(postgres: boolean, resource: string): [string, string][] {
  return [
    ...Object.entries(LISTS).map(([key, table]): [string, string] => [key, listValue(postgres, table, resource)]),
    [CUSTOM, customValue(postgres, resource)],
  ]
}

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  await db.schema
    .createTable('resource_lists')
    .addColumn('resource_id', 'text', (c) => c.primaryKey().references('resources.id').onDelete('cascade'))
    .addColumn('lists', postgres ? 'jsonb' : 'text', (c) => c.notNull())
    .modifyEnd(postgres ? sql`` : sql` without rowid`)
    .execute()
  if (postgres) await upPostgres(db, SOURCES)
  else await upSqlite(db, SOURCES)
  await fillForms(db)
}

/** Writes the forms of what the store holds (`resource_lists` empty): the migration's own, exported for its test. */
export async function fillForms(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  const holders = SOURCES.map(([, table]) => `select resource_id from ${table}`).join(' union ')
  const values = allValues(postgres, 'r.id')
  // Only the lists that hold something: most resources have one or two (a team, who last changed them).
  const form = postgres
    ? `(select jsonb_object_agg(e.key, e.value) from jsonb_each(jsonb_build_object(${values.map(([key, value]) => `'${key}', ${value}`).join(', ')})) e where jsonb_array_length(e.value) > 0)`
    : `(select json_group_object(e.key, json(e.value)) from json_each(json_object(${values.map(([key, value]) => `'${key}', ${value}`).join(', ')})) e where json_array_length(e.value) > 0)`
  await sql
    .raw(
      `insert into resource_lists (resource_id, lists) select r.id, ${form} from resources r where r.id in (${holders})`,
    )
    .execute(db)
}

async function upSqlite(db: Kysely<any>, sources: [string, string][]): Promise<void> {
  // Rewrites one key of the form of resource `resource`; nothing for a resource that is being deleted (its lists
  // go with it, and so does its form).
  const rewrite = (key: string, value: string, resource: string) =>
    `insert into resource_lists (resource_id, lists)
       select ${resource}, json_object('${key}', ${value}) where exists (select 1 from resources where id = ${resource})
       on conflict (resource_id) do update set lists = json_set(resource_lists.lists, '$.${key}', json(excluded.lists -> '$.${key}'));`
  for (const [key, table] of sources) {
    const value = (resource: string) =>
      key === CUSTOM ? customValue(false, resource) : listValue(false, table, resource)
    const trigger = (event: string, body: string): RawBuilder<unknown> =>
      sql.raw(
        `create trigger ${table}_form_${event} after ${event} on ${table}${event === 'delete' ? '' : ' when not docent_forms_by_caller()'} begin ${body} end`,
      )
    await trigger('insert', rewrite(key, value('new.resource_id'), 'new.resource_id')).execute(db)
    await trigger('delete', rewrite(key, value('old.resource_id'), 'old.resource_id')).execute(db)
    await trigger(
      'update',
      rewrite(key, value('old.resource_id'), 'old.resource_id') +
        rewrite(key, value('new.resource_id'), 'new.resource_id'),
    ).execute(db)
  }
  // A renamed property (or one whose type changed) changes the encoded elements of every value it has.
  await sql
    .raw(
      `create trigger custom_properties_form after update of name, value_type on custom_properties begin
         update resource_lists set lists = json_set(lists, '$.${CUSTOM}', ${customValue(false, 'resource_lists.resource_id')})
         where resource_id in (select resource_id from custom_property_values where property_id = new.id);
       end`,
    )
    .execute(db)
}

async function upPostgres(db: Kysely<any>, sources: [string, string][]): Promise<void> {
  // Statement triggers with transition tables: one rewrite per statement, however many rows it changed. The
  // lock's first key keeps these locks apart from docent's other transaction locks.
  const rewrite = (key: string, value: string, changed: string) => `
      perform pg_advisory_xact_lock(1685021556, hashtext(c.resource_id))
        from (select distinct resource_id from (${changed}) t) c order by c.resource_id;
      insert into resource_lists (resource_id, lists)
        select r.id, jsonb_build_object('${key}', ${value}) from resources r where r.id in (${changed})
        on conflict (resource_id) do update set lists = resource_lists.lists || excluded.lists;`
  const events = [
    ['insert', 'referencing new table as changed', 'select resource_id from changed'],
    ['delete', 'referencing old table as changed', 'select resource_id from changed'],
    [
      'update',
      'referencing old table as gone new table as changed',
      'select resource_id from changed union select resource_id from gone',
    ],
  ] as const
  for (const [key, table] of sources) {
    const value = key === CUSTOM ? customValue(true, 'r.id') : listValue(true, table, 'r.id')
    for (const [event, referencing, changed] of events) {
      const name = `docent_${table}_form_${event}`
      await sql
        .raw(`create function ${name}() returns trigger language plpgsql set search_path from current as $$
          begin
            ${event === 'delete' ? '' : "if current_setting('docent.forms_by_caller', true) = 'on' then return null; end if;"}
            ${rewrite(key, value, changed)}
            return null;
          end $$`)
        .execute(db)
      await sql
        .raw(`create trigger ${table}_form_${event} after ${event} on ${table} ${referencing}
              for each statement execute function ${name}()`)
        .execute(db)
    }
  }
  await sql
    .raw(`create function docent_custom_properties_form() returns trigger language plpgsql
      set search_path from current as $$
      begin
        perform pg_advisory_xact_lock(1685021556, hashtext(c.resource_id))
          from (select distinct v.resource_id from custom_property_values v join (select n.id from changed n join gone o on o.id = n.id where n.name is distinct from o.name or n.value_type is distinct from o.value_type) n on n.id = v.property_id) c
          order by c.resource_id;
        update resource_lists set lists = lists || jsonb_build_object('${CUSTOM}', ${customValue(true, 'resource_lists.resource_id')})
          where resource_id in (select v.resource_id from custom_property_values v join (select n.id from changed n join gone o on o.id = n.id where n.name is distinct from o.name or n.value_type is distinct from o.value_type) n on n.id = v.property_id);
        return null;
      end $$`)
    .execute(db)
  await sql
    .raw(`create trigger custom_properties_form after update on custom_properties
          referencing old table as gone new table as changed
          for each statement execute function docent_custom_properties_form()`)
    .execute(db)
}

export async function down(): Promise<void> {
  throw new Error('the read-forms migration is not reversible; restore a backup taken before it')
}
