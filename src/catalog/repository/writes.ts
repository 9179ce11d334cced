import { type Insertable, type Kysely, sql } from 'kysely'
import { type Effective, effectiveOfNew } from '../../access/effective.ts'
import { engineOf } from '../../db/dialect.ts'
import { newResourceId } from '../../db/ids.ts'
import { prepared, slot } from '../../db/prepared.ts'
import type { DB, ResourceTable } from '../../db/types.ts'
import { placeUnder } from '../titles.ts'
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

const appendStatement = prepared<{ resourceId: string; targetId: string }, never>((db, field) => {
  const table = RELATION_TABLES[field as RelationField]
  return db
    .insertInto(table)
    .columns(['resource_id', 'target_id', 'position'])
    .expression((eb) =>
      eb
        .selectFrom(table)
        .select([
          sql<string>`${slot('resourceId')}`.as('resource_id'),
          sql<string>`${slot('targetId')}`.as('target_id'),
          sql<number>`coalesce(max(position) + 1, 0)`.as('position'),
        ])
        .where('resource_id', '=', slot('resourceId')),
    )
})

/** Adds one id at the end of a resource's list, in one prepared statement. */
export async function appendToList(db: Kysely<DB>, field: RelationField, resourceId: string, targetId: string) {
  await appendStatement(db, { resourceId, targetId }, field)
}

/** An update of the columns named in the variant (sorted, by commas), each from the slot of its name. */
const updateStatement = prepared<Record<string, unknown>, never>((db, columns) =>
  db
    .updateTable('resources')
    .set(Object.fromEntries(columns.split(',').map((column) => [column, slot(column)])))
    .where('id', '=', slot('id')),
)

/**
 * The sets of columns updated with a prepared statement: the first this many seen. A PATCH may change any subset of
 * some thirty fields, so their sets are not bounded by the code; the others are built each time.
 */
const PREPARED_UPDATES = 256
const preparedUpdates = new Set<string>()

/** Sets `values` on one resource, in a statement prepared once for each set of columns (of the first 256). */
export async function updateResourceRow(db: Kysely<DB>, id: string, values: Partial<ResourceValues>): Promise<void> {
  const columns = Object.keys(values)
    .filter((column) => (values as Record<string, unknown>)[column] !== undefined)
    .sort()
    .join(',')
  if (columns === '') return
  if (preparedUpdates.size < PREPARED_UPDATES) preparedUpdates.add(columns)
  if (preparedUpdates.has(columns)) await updateStatement(db, { ...values, id }, columns)
  else await db.updateTable('resources').set(values).where('id', '=', id).execute()
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
  // The new resources' lists go in with the list triggers off, and each new resource's form is then written once,
  // from its lists as given (migration 0014). List entries of resources that existed before go in with the
  // triggers on: their forms are rewritten as any write's are, under the triggers' locks.
  const added = new Set(rows.map((row) => row.id))
  const ofNew = relations.filter((relation) => added.has(relation.resource_id))
  const ofEarlier = relations.filter((relation) => !added.has(relation.resource_id))
  await formsByCaller(db, true)
  try {
    await insertRowsAndLists(db, rows, ofNew)
  } catch (error) {
    // PostgreSQL's setting ends with the transaction (or the savepoint) the failure rolls back; a statement sent
    // now would fail in the aborted transaction and hide the error. SQLite's switch is the process's own.
    if (engineOf(db) === 'sqlite') await formsByCaller(db, false)
    throw error
  }
  await formsByCaller(db, false)
  await insertRowsAndLists(db, [], ofEarlier)
  const forms = new Map<string, Partial<Record<RelationField, string[]>>>()
  for (const relation of [...ofNew].sort((a, b) => a.position - b.position)) {
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
}

/** Turns the list triggers' rewrite of read-ready forms off (`on`) or on again, on the transaction's connection. */
async function formsByCaller(db: Kysely<DB>, on: boolean): Promise<void> {
  if (engineOf(db) === 'postgres')
    await sql`select set_config('docent.forms_by_caller', ${on ? 'on' : 'off'}, true)`.execute(db)
  else await sql`select docent_forms_by_caller(${on ? 1 : 0})`.execute(db)
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
