import { CompiledQuery, type Insertable, type Kysely, sql } from 'kysely'
import { type Effective, effectiveOfNew } from '../../access/effective.ts'
import { engineOf } from '../../db/dialect.ts'
import { newResourceId } from '../../db/ids.ts'
import type { DB, ResourceTable } from '../../db/types.ts'
import { placeUnder } from '../titles.ts'
import { ENCODED_ELEMENT } from './custom-values.ts'
import { RELATION_FIELDS, RELATION_TABLES, type RelationField, type RelationRow, type Relations } from './relations.ts'

/** Writes of resources: new rows with their stored places and visibility, lists, updates, deletes. */

export type ResourceValues = Omit<Insertable<ResourceTable>, 'id'>

type ParentPlace = Parameters<typeof placeUnder>[0]

/** A new resource with nothing set but what places it: callers spread it and override what they know. */
export function newResourceValues(input: {
  workspaceId: string
  entityType: string
  title: string
  parent: (ParentPlace & { id: string }) | undefined
  integrationId: string | null
  now: string
}): ResourceValues {
  return {
    workspace_id: input.workspaceId,
    entity_type: input.entityType,
    native_type: null,
    icon: null,
    url: null,
    title: input.title,
    ...placeUnder(input.parent, input.entityType, input.title),
    description: '',
    definition: '',
    definition_version: 1,
    multiplayer_last_modified_by: null,
    multiplayer_last_modified: null,
    published: true,
    archived: false,
    archived_at: null,
    pii: false,
    verified: false,
    parent_id: input.parent?.id ?? null,
    integration_id: input.integrationId,
    external_updated_at: null,
    internal_usage: 0,
    external_usage: 0,
    databuilder_id: null,
    row_count: null,
    byte_size: null,
    stale: false,
    stale_at: null,
    forced_unstale_by_user: false,
    display_metadata: '{}',
    created_at: input.now,
    updated_at: input.now,
  }
}

/**
 * New rows with their stored visibility (effective.ts), which follows from their parents, among `rows` or else in
 * `parents` or the store, and from the teams `teamsOf` gives each.
 */
async function withEffective<R extends ResourceValues & { id: string }>(
  db: Kysely<DB>,
  rows: R[],
  teamsOf: (id: string) => readonly string[],
  parents?: ReadonlyMap<string, Effective>,
): Promise<R[]> {
  const placed = rows.map((row) => ({
    id: row.id,
    parent_id: row.parent_id ?? null,
    published: row.published ?? true,
    teams: teamsOf(row.id),
  }))
  const effective = await effectiveOfNew(db, placed, parents)
  return rows.map((row) => ({ ...row, ...effective.get(row.id) }))
}

/**
 * Inserts one resource and its lists; returns its id and its row as written. `parent` is its parent's row when
 * the caller has read it already.
 */
export async function insertResourceRow(
  db: Kysely<DB>,
  values: ResourceValues,
  relations: Partial<Relations>,
  parent?: Effective & { id: string },
): Promise<string> {
  const id = newResourceId()
  const parents = parent === undefined ? undefined : new Map([[parent.id, parent]])
  const [row] = await withEffective(db, [{ ...values, id }], () => relations.teams ?? [], parents)
  await db
    .insertInto('resources')
    .values(row as ResourceValues & { id: string })
    .execute()
  // A new resource has no list entries to replace: only the lists that hold ids are written.
  await replaceRelations(db, id, relations, true)
  return id
}

/** Replaces each given list of a resource with the given ids, in order (`isNew`: it has none yet). */
export async function replaceRelations(
  db: Kysely<DB>,
  resourceId: string,
  relations: Partial<Relations>,
  isNew = false,
) {
  for (const field of RELATION_FIELDS) {
    const ids = relations[field]
    if (ids === undefined) {
      continue
    }
    const table = RELATION_TABLES[field]
    if (!isNew) await db.deleteFrom(table).where('resource_id', '=', resourceId).execute()
    if (ids.length > 0) {
      await db
        .insertInto(table)
        .values(ids.map((targetId, position) => ({ resource_id: resourceId, target_id: targetId, position })))
        .execute()
    }
  }
}

/** Adds one id at the end of a resource's list, in one statement. */
export async function appendToList(db: Kysely<DB>, field: RelationField, resourceId: string, targetId: string) {
  const table = RELATION_TABLES[field]
  await db
    .insertInto(table)
    .columns(['resource_id', 'target_id', 'position'])
    .expression((eb) =>
      eb
        .selectFrom(table)
        .select([
          eb.val(resourceId).as('resource_id'),
          eb.val(targetId).as('target_id'),
          sql<number>`coalesce(max(position) + 1, 0)`.as('position'),
        ])
        .where('resource_id', '=', resourceId),
    )
    .execute()
}

export async function updateResourceRow(db: Kysely<DB>, id: string, values: Partial<ResourceValues>): Promise<void> {
  await db.updateTable('resources').set(values).where('id', '=', id).execute()
}

/** Deletes a resource; the foreign keys delete its subtree and its relation rows with it. */
export async function deleteResourceRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('resources')
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** After a rename, recomputes `title_full` and the search names of every descendant of `rootId`. */
export async function refreshDescendantPlaces(db: Kysely<DB>, rootId: string): Promise<void> {
  await sql`
    with recursive place(id, title_full, search_database, search_schema) as (
      select id, title_full, search_database, search_schema from resources where id = ${rootId}
      union all
      select child.id,
             place.title_full || '.' || child.title,
             case when child.entity_type = 'database' then child.title else place.search_database end,
             case when child.entity_type = 'schema' then child.title else place.search_schema end
      from resources child join place on child.parent_id = place.id
    )
    update resources
    set title_full = place.title_full, search_database = place.search_database, search_schema = place.search_schema
    from place
    where resources.id = place.id and resources.id <> ${rootId}
  `.execute(db)
}

/** Rows a bulk statement holds at most: the rows of 500 resources stay within SQLite's bound-variable limit. */
const BULK_ROWS = 500

/**
 * Many resources and their list entries at once: for bulk loads (extraction, imports, benchmarks), 500 rows a
 * statement. A parent comes before its children in `rows` (or is in the store already).
 */
export async function insertResourceRows(
  db: Kysely<DB>,
  rows: (ResourceValues & { id: string })[],
  relations: RelationRow[],
): Promise<void> {
  // The list triggers are off while the lists go in; the forms are written once each, after them (migration 0014).
  await formsByCaller(db, true)
  try {
    await insertRowsAndLists(db, rows, relations)
  } finally {
    await formsByCaller(db, false)
  }
  // A new resource's form is its lists as given; one that existed before is read back whole.
  const added = new Set(rows.map((row) => row.id))
  const forms = new Map<string, Partial<Record<RelationField, string[]>>>()
  const earlier = new Set<string>()
  for (const relation of [...relations].sort((a, b) => a.position - b.position)) {
    if (!added.has(relation.resource_id)) {
      earlier.add(relation.resource_id)
      continue
    }
    let form = forms.get(relation.resource_id)
    if (form === undefined) {
      form = {}
      forms.set(relation.resource_id, form)
    }
    const list = form[relation.field] ?? []
    list.push(relation.target_id)
    form[relation.field] = list
  }
  const written = [...forms].map(([resource_id, form]) => ({ resource_id, lists: JSON.stringify(form) }))
  for (let i = 0; i < written.length; i += BULK_ROWS) {
    await db
      .insertInto('resource_lists')
      .values(written.slice(i, i + BULK_ROWS))
      .execute()
  }
  await writeForms(db, [...earlier])
}

/** Turns the list triggers' rewrite of read-ready forms off (`on`) or on again, on the transaction's connection. */
async function formsByCaller(db: Kysely<DB>, on: boolean): Promise<void> {
  if (engineOf(db) === 'postgres')
    await sql`select set_config('docent.forms_by_caller', ${on ? 'on' : 'off'}, true)`.execute(db)
  else await sql`select docent_forms_by_caller(${on ? 1 : 0})`.execute(db)
}

/**
 * The read-ready form of each resource as its lists and custom values are now (what migration 0014's triggers keep),
 * for the resources whose ids are the statement's one parameter; only resources that have any list entry or value.
 * The text is built once per engine from the table names (no input reaches it).
 */
const FORM_PARTS = [
  ...RELATION_FIELDS.map((field) => ({ key: field, table: RELATION_TABLES[field] as string })),
  { key: 'custom_properties', table: 'custom_property_values' },
]
const WRITE_FORMS = {
  sqlite: `insert into resource_lists (resource_id, lists)
    select id, lists from (
      select r.id, (select json_group_object(e.key, json(e.value)) from json_each(json_object(${FORM_PARTS.map(
        ({ key, table }) =>
          key === 'custom_properties'
            ? `'${key}', json((select json_group_array(json(${ENCODED_ELEMENT.sqlite}) order by v.position) from custom_property_values v join custom_properties p on p.id = v.property_id where v.resource_id = r.id))`
            : `'${key}', json((select json_group_array(l.target_id order by l.position) from ${table} l where l.resource_id = r.id))`,
      ).join(', ')})) e where json_array_length(e.value) > 0) as lists
      from resources r where r.id in (select value from json_each(?))
    ) where lists <> '{}'
    on conflict (resource_id) do update set lists = excluded.lists`,
  postgres: `insert into resource_lists (resource_id, lists)
    select id, lists from (
      select r.id, (select jsonb_object_agg(e.key, e.value) from jsonb_each(jsonb_build_object(${FORM_PARTS.map(
        ({ key, table }) =>
          key === 'custom_properties'
            ? `'${key}', coalesce((select jsonb_agg(${ENCODED_ELEMENT.postgres}::jsonb order by v.position) from custom_property_values v join custom_properties p on p.id = v.property_id where v.resource_id = r.id), '[]'::jsonb)`
            : `'${key}', coalesce((select jsonb_agg(l.target_id order by l.position) from ${table} l where l.resource_id = r.id), '[]'::jsonb)`,
      ).join(', ')})) e where jsonb_array_length(e.value) > 0) as lists
      from resources r where r.id = any($1::text[])
    ) f where lists is not null
    on conflict (resource_id) do update set lists = excluded.lists`,
}

/** Writes the read-ready forms of these resources from their lists and values (a bulk load's, once each). */
export async function writeForms(db: Kysely<DB>, ids: string[]): Promise<void> {
  const engine = engineOf(db)
  for (let i = 0; i < ids.length; i += BULK_ROWS * 4) {
    const slice = ids.slice(i, i + BULK_ROWS * 4)
    await db.executeQuery(
      CompiledQuery.raw(WRITE_FORMS[engine], [engine === 'postgres' ? slice : JSON.stringify(slice)]),
    )
  }
}

async function insertRowsAndLists(
  db: Kysely<DB>,
  rows: (ResourceValues & { id: string })[],
  relations: RelationRow[],
): Promise<void> {
  const teams = new Map<string, string[]>()
  for (const relation of relations) {
    if (relation.field === 'teams')
      teams.set(relation.resource_id, [...(teams.get(relation.resource_id) ?? []), relation.target_id])
  }
  for (let i = 0; i < rows.length; i += BULK_ROWS) {
    await db
      .insertInto('resources')
      .values(await withEffective(db, rows.slice(i, i + BULK_ROWS), (id) => teams.get(id) ?? []))
      .execute()
  }
  const byTable = new Map<RelationField, RelationRow[]>()
  for (const relation of relations) {
    const list = byTable.get(relation.field) ?? []
    list.push(relation)
    byTable.set(relation.field, list)
  }
  for (const [field, list] of byTable) {
    for (let i = 0; i < list.length; i += BULK_ROWS) {
      await db
        .insertInto(RELATION_TABLES[field])
        .values(
          list
            .slice(i, i + BULK_ROWS)
            .map(({ resource_id, target_id, position }) => ({ resource_id, target_id, position })),
        )
        .execute()
    }
  }
}

/**
 * PostgreSQL: locks a resource's row (`FOR UPDATE`) until the transaction ends; false when the workspace has no
 * such resource. Read the resource only after this, in a statement of its own, so that the read sees what the
 * previous holder of the lock committed (DEVELOPERS.md, "Storage model").
 */
export async function lockResourceRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const locked = await db
    .selectFrom('resources')
    .select('id')
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .forUpdate()
    .executeTakeFirst()
  return locked !== undefined
}

/**
 * PostgreSQL: before a resource is created under `parentId`, its parent and every ancestor above it are locked
 * `FOR SHARE`, the topmost first, until the transaction ends. A rename of any of them (which rewrites the paths
 * below it, `refreshDescendantPlaces`) then either waits for this creation to commit and sees the new row, or has
 * committed before the parent is read here; without it, a resource created under a grandchild during the rename
 * kept the old path. Top-down, so that a creation never holds a lower row while waiting for a higher one that a
 * rename holds and then asks for the lower one (a deadlock).
 */
export async function lockAncestorsForShare(db: Kysely<DB>, workspaceId: string, parentId: string): Promise<void> {
  await sql`
    with recursive up (id, depth) as (
      select ${parentId}::text, 0
      union all
      select p.parent_id, up.depth + 1 from up join resources p on p.id = up.id
      where p.parent_id is not null and up.depth < 64
    )
    select r.id from resources r join up on up.id = r.id
    where r.workspace_id = ${workspaceId}
    order by up.depth desc
    for share of r
  `.execute(db)
}
