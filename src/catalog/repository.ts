import { randomUUID } from 'node:crypto'
import {
  CompiledQuery,
  type Expression,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type RawBuilder,
  type Selectable,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely'
import { type Effective, effectiveOfNew } from '../access/effective.ts'
import type { KeyOwner, Permissions, Principal } from '../access/principal.ts'
import {
  type Scope,
  type Visibility,
  type VisibleRows,
  visibilityOf,
  visibleTo,
  visibleToKeyOwner,
} from '../access/visibility.ts'
import { engineOf, inIds } from '../db/dialect.ts'
import { prepared, slot } from '../db/prepared.ts'
import type { DB, RelationTableName, ResourceTable } from '../db/types.ts'
import { toCount, toIso } from '../db/values.ts'
import { findKeyOwner, selectKeyOwner } from '../directory/keys.ts'
import type { Resource } from './resource-schema.ts'
import { placeUnder, titleCased } from './titles.ts'

/** Each id-list field of a resource and the table that holds it. */
export const RELATION_TABLES = {
  owners: 'resource_owners',
  owners_groups: 'resource_owner_groups',
  teams: 'resource_teams',
  tags: 'resource_tags',
  collections: 'resource_collections',
  subscribers: 'resource_subscribers',
  bookmarked_by: 'resource_bookmarks',
  sources: 'resource_sources',
  multiplayers: 'resource_multiplayers',
  internal_users: 'resource_internal_users',
  external_users: 'resource_external_users',
} as const satisfies Record<string, RelationTableName>

export type RelationField = keyof typeof RELATION_TABLES
export type Relations = Record<RelationField, string[]>
export const RELATION_FIELDS = Object.keys(RELATION_TABLES) as RelationField[]

export type ResourceRow = Selectable<ResourceTable> & { children_count: number | string | bigint }

/**
 * How many resources the reader may see have the row of `resources` as their parent (undefined `visible`: all of
 * them), counted from the resources_parent index. The parent is visible, so a child is when its own row is, and
 * a child of the parent's class needs no check of its class.
 */
function childrenCount(visible: VisibleRows | undefined) {
  return (eb: ExpressionBuilder<DB, 'resources'>) => {
    const children = eb
      .selectFrom('resources as child')
      .select(eb.fn.countAll().as('n'))
      .whereRef('child.parent_id', '=', 'resources.id')
    return (visible === undefined ? children : children.where(visible('child', 'resources'))).as('children_count')
  }
}

function selectResources(db: Kysely<DB>, visible: VisibleRows | undefined) {
  return db.selectFrom('resources').selectAll('resources').select(childrenCount(visible))
}

function inScope<O>(
  query: SelectQueryBuilder<DB, 'resources', O>,
  scope: Scope,
): SelectQueryBuilder<DB, 'resources', O> {
  const narrowed = query.where('resources.workspace_id', '=', scope.workspaceId)
  return scope.visible === undefined ? narrowed : narrowed.where(scope.visible('resources'))
}

/**
 * One resource the scope sees. With `lock: 'share'` (PostgreSQL) the row stays share-locked until the transaction
 * ends: a new child reads its parent so, and a write that changes the parent waits for the child (effective.ts).
 */
export async function findResourceRow(
  db: Kysely<DB>,
  scope: Scope,
  id: string,
  entityType?: string,
  lock?: 'share',
): Promise<ResourceRow | undefined> {
  let query = inScope(selectResources(db, scope.visible).where('resources.id', '=', id), scope)
  if (entityType !== undefined) {
    query = query.where('resources.entity_type', '=', entityType)
  }
  if (lock === 'share' && engineOf(db) === 'postgres') {
    query = query.forShare('resources')
  }
  return (await query.executeTakeFirst()) as ResourceRow | undefined
}

/** A resource's row with each of its lists as a column: JSON array text on SQLite, text[] on PostgreSQL. */
type RowWithLists = ResourceRow & Record<RelationField, string | string[]>

/** The lists whose ids are resources: a caller is shown only those it may see (CONTRACT §7). */
export const RESOURCE_LISTS: readonly RelationField[] = ['collections', 'sources']

/** Each list of the resource `resources` as a column, in position order, with only resources `visible` admits. */
function listColumns(db: Kysely<DB>, visible: VisibleRows | undefined) {
  const postgres = engineOf(db) === 'postgres'
  return RELATION_FIELDS.map((field) => {
    const table = sql.table(RELATION_TABLES[field])
    const seen =
      visible === undefined || !RESOURCE_LISTS.includes(field)
        ? sql``
        : sql` and exists (select 1 from resources target where target.id = l.target_id and ${visible('target')})`
    const list: RawBuilder<string | string[]> = postgres
      ? sql`array(select l.target_id from ${table} l where l.resource_id = resources.id${seen} order by l.position)`
      : // Most lists are empty: a probe of the index costs less than setting up the ordered aggregate.
        sql`case when exists (select 1 from ${table} where resource_id = resources.id) then (select json_group_array(l.target_id order by l.position) from ${table} l where l.resource_id = resources.id${seen}) else '[]' end`
    return list.as(field)
  })
}

function selectResourcesWithLists(db: Kysely<DB>, visible: VisibleRows | undefined) {
  return selectResources(db, visible).select(listColumns(db, visible))
}

/** The lists of a row read with `listColumns`. */
function listsOf(row: Record<RelationField, string | string[]>): Relations {
  const relations = emptyRelations()
  for (const field of RELATION_FIELDS) {
    const list = row[field]
    relations[field] = typeof list === 'string' ? (JSON.parse(list) as string[]) : list
  }
  return relations
}

const findOneWithLists = prepared<{ id: string; workspaceId: string; userId: string }, RowWithLists>((db, variant) => {
  const [visibility, entityType] = variant.split('|') as [Visibility, string]
  const visible = visibleTo(visibility, slot('userId'), 'row')
  let query = selectResourcesWithLists(db, visible)
    .where('resources.id', '=', slot('id'))
    .where('resources.workspace_id', '=', slot('workspaceId'))
  if (visible !== undefined) query = query.where(visible('resources'))
  if (entityType !== '') query = query.where('resources.entity_type', '=', entityType)
  return query
})

/**
 * One resource the reader may see, with all its lists, in one prepared statement; undefined when there is no
 * such resource (of `entityType`, when given) that the reader may see.
 */
export async function findResource(
  db: Kysely<DB>,
  reader: Pick<Principal, 'workspaceId' | 'userId' | 'role'>,
  id: string,
  entityType: string | undefined,
): Promise<{ row: ResourceRow; relations: Relations } | undefined> {
  if (entityType?.includes('|')) throw new Error(`not an entity type: ${entityType}`)
  const [found] = await findOneWithLists(
    db,
    { id, workspaceId: reader.workspaceId, userId: reader.userId },
    `${visibilityOf(reader)}|${entityType ?? ''}`,
  )
  if (found === undefined) return undefined
  return { row: found, relations: listsOf(found) }
}

const findForKey = prepared<{ hash: string; id: string }, KeyOwner & { id: string | null }>((db, entityType) =>
  db
    .selectFrom(selectKeyOwner(db).as('k'))
    .leftJoin('resources', (join) => {
      const on = join
        .on('resources.id', '=', slot('id'))
        .onRef('resources.workspace_id', '=', 'k.workspaceId')
        .on(visibleToKeyOwner('resources'))
      return entityType === '' ? on : on.on('resources.entity_type', '=', entityType)
    })
    .selectAll('k')
    .selectAll('resources')
    .select(childrenCount(visibleToKeyOwner))
    .select(listColumns(db, visibleToKeyOwner)),
)

/**
 * The owner of a working API key and, in the same statement, one resource it may see with all its lists: a read
 * by id costs one round trip on PostgreSQL with its authentication (SQLite runs two statements). `owner` is undefined for an
 * unknown or revoked key; `found` is undefined when there is no such resource (of `entityType`) the owner sees.
 */
export async function findResourceForKey(
  db: Kysely<DB>,
  keyHash: string,
  id: string,
  entityType: string | undefined,
): Promise<{ owner: KeyOwner | undefined; found?: { row: ResourceRow; relations: Relations } }> {
  if (engineOf(db) === 'sqlite') {
    // In-process, two statements cost less than the join (which SQLite runs several times slower).
    const [owner] = await findKeyOwner(db, { hash: keyHash })
    if (owner === undefined) return { owner: undefined }
    return { owner, found: await findResource(db, owner, id, entityType) }
  }
  const [row] = await findForKey(db, { hash: keyHash, id }, entityType ?? '')
  if (row === undefined) return { owner: undefined }
  const { keyId, lastUsedAt, userId, workspaceId, role } = row
  const owner = { keyId, lastUsedAt, userId, workspaceId, role }
  if (row.id === null) return { owner }
  const full = row as unknown as RowWithLists
  return { owner, found: { row: full, relations: listsOf(full) } }
}

export interface TypedListFilter extends Scope {
  entityType: string
  integrationId?: string | undefined
  parentId?: string | undefined
  title?: string | undefined
}

/** A page of one entity type in the typed lists' order (`title`, then `id`), and the total count. */
export async function listResourceRows(
  db: Kysely<DB>,
  filter: TypedListFilter,
  page: { offset: number; limit: number },
): Promise<{ count: number; rows: ResourceRow[] }> {
  const narrow = <Q extends SelectQueryBuilder<DB, 'resources', object>>(query: Q): Q => {
    let q = inScope(query, filter).where('resources.entity_type', '=', filter.entityType) as Q
    if (filter.integrationId !== undefined) q = q.where('resources.integration_id', '=', filter.integrationId) as Q
    if (filter.parentId !== undefined) q = q.where('resources.parent_id', '=', filter.parentId) as Q
    if (filter.title !== undefined) q = q.where('resources.title', '=', filter.title) as Q
    return q
  }
  const counted = await narrow(db.selectFrom('resources').select((eb) => eb.fn.countAll().as('n'))).executeTakeFirst()
  const count = toCount(counted?.n as number | string | undefined)
  if (count === 0 || page.offset >= count) {
    return { count, rows: [] }
  }
  const keys = await narrow(db.selectFrom('resources').select('resources.id'))
    .orderBy('resources.title')
    .orderBy('resources.id')
    .limit(page.limit)
    .offset(page.offset)
    .execute()
  return {
    count,
    rows: await findRowsInOrder(
      db,
      keys.map((k) => k.id),
      filter.visible,
    ),
  }
}

/**
 * The one statement that reads every list of a page of resources: a UNION ALL over the relation tables. Its text
 * is built once per engine from the table names above (no input reaches it); the ids are one bound parameter.
 */
const RELATIONS_SQL = {
  sqlite: RELATION_FIELDS.map(
    (field) =>
      `select resource_id, target_id, position, '${field}' as field from ${RELATION_TABLES[field]} where resource_id in (select value from json_each(?))`,
  ).join(' union all '),
  postgres: RELATION_FIELDS.map(
    (field) =>
      `select resource_id, target_id, position, '${field}' as field from ${RELATION_TABLES[field]} where resource_id = any($1::text[])`,
  ).join(' union all '),
}

/**
 * Every id list of each resource, in one query over all relation tables; with `visible`, lists of resources
 * (RESOURCE_LISTS) keep only those it admits.
 */
export async function findRelations(
  db: Kysely<DB>,
  resourceIds: string[],
  visible?: VisibleRows,
): Promise<Map<string, Relations>> {
  const byResource = new Map<string, Relations>()
  for (const id of resourceIds) {
    byResource.set(id, emptyRelations())
  }
  if (resourceIds.length === 0) {
    return byResource
  }
  const engine = engineOf(db)
  const parameters = engine === 'postgres' ? [resourceIds] : RELATION_FIELDS.map(() => JSON.stringify(resourceIds))
  const { rows } = await db.executeQuery<{
    resource_id: string
    target_id: string
    position: number
    field: RelationField
  }>(CompiledQuery.raw(RELATIONS_SQL[engine], parameters))
  const sorted = [...rows].sort((a, b) => a.position - b.position)
  for (const row of sorted) {
    byResource.get(row.resource_id)?.[row.field].push(row.target_id)
  }
  const targets = rows.filter((row) => RESOURCE_LISTS.includes(row.field)).map((row) => row.target_id)
  if (visible !== undefined && targets.length > 0) {
    const seen = await db
      .selectFrom('resources')
      .select('resources.id')
      .where((eb) => inIds(db, eb.ref('resources.id'), [...new Set(targets)]))
      .where(visible('resources'))
      .execute()
    const shown = new Set(seen.map((row) => row.id))
    for (const relations of byResource.values()) {
      for (const field of RESOURCE_LISTS) relations[field] = relations[field].filter((id) => shown.has(id))
    }
  }
  return byResource
}

export function emptyRelations(): Relations {
  return Object.fromEntries(RELATION_FIELDS.map((f) => [f, []])) as unknown as Relations
}

export function toResource(row: ResourceRow, relations: Relations, permissions: Permissions): Resource {
  return {
    id: row.id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    entity_type: row.entity_type,
    native_type: row.native_type,
    icon: row.icon,
    title: row.title,
    title_full: row.title_full,
    title_cased: titleCased(row.title),
    description: row.description,
    definition: row.definition,
    definition_version: row.definition_version,
    multiplayers: relations.multiplayers,
    multiplayer_last_modified_by: row.multiplayer_last_modified_by,
    multiplayer_last_modified: toIso(row.multiplayer_last_modified),
    owners: relations.owners,
    owners_groups: relations.owners_groups,
    collections: relations.collections,
    tags: relations.tags,
    workspace_id: row.workspace_id,
    published: Boolean(row.published),
    archived: Boolean(row.archived),
    archived_at: toIso(row.archived_at),
    pii: Boolean(row.pii),
    verified: Boolean(row.verified),
    url: row.url,
    parent: row.parent_id,
    children_count: toCount(row.children_count),
    bookmarked_by: relations.bookmarked_by,
    integration: row.integration_id,
    external_updated_at: toIso(row.external_updated_at),
    internal_usage: Number(row.internal_usage),
    internal_users: relations.internal_users,
    external_users: relations.external_users,
    external_usage: Number(row.external_usage),
    databuilder_id: row.databuilder_id,
    search_metadata: { database: row.search_database, schema: row.search_schema, type: row.entity_type },
    sources: relations.sources,
    subscribers: relations.subscribers,
    teams: relations.teams,
    stale: Boolean(row.stale),
    stale_at: toIso(row.stale_at),
    forced_unstale_by_user: Boolean(row.forced_unstale_by_user),
    current_user_permissions: permissions,
    row_count: row.row_count === null ? null : Number(row.row_count),
    byte_size: row.byte_size === null ? null : Number(row.byte_size),
    display_metadata: JSON.parse(row.display_metadata) as Record<string, unknown>,
    question_status: row.question_status,
    question_priority: row.question_priority,
    question_answered_by: row.question_answered_by,
    question_assigned_to: row.question_assigned_to,
    total_usage: Number(row.internal_usage) + Number(row.external_usage),
    ...extras(row),
  }
}

const flagOrNull = (value: boolean | number | null) => (value === null ? null : Boolean(value))

/** The fields only some entity types have (CONTRACT §3, last paragraph). */
function extras(row: ResourceRow): Partial<Resource> {
  if (row.entity_type === 'table') {
    return { database: row.search_database, schema: row.search_schema }
  }
  if (row.entity_type === 'column') {
    return {
      database: row.search_database,
      schema: row.search_schema,
      type: row.data_type,
      sort_order: row.sort_order,
      is_pk: flagOrNull(row.is_pk),
      is_nullable: flagOrNull(row.is_nullable),
    }
  }
  return {}
}

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
  const id = randomUUID()
  const parents = parent === undefined ? undefined : new Map([[parent.id, parent]])
  const [row] = await withEffective(db, [{ ...values, id }], () => relations.teams ?? [], parents)
  await db
    .insertInto('resources')
    .values(row as ResourceValues & { id: string })
    .execute()
  await replaceRelations(db, id, relations)
  return id
}

/** Replaces each given list of a resource with the given ids, in order. */
export async function replaceRelations(db: Kysely<DB>, resourceId: string, relations: Partial<Relations>) {
  for (const field of RELATION_FIELDS) {
    const ids = relations[field]
    if (ids === undefined) {
      continue
    }
    const table = RELATION_TABLES[field]
    await db.deleteFrom(table).where('resource_id', '=', resourceId).execute()
    if (ids.length > 0) {
      await db
        .insertInto(table)
        .values(ids.map((targetId, position) => ({ resource_id: resourceId, target_id: targetId, position })))
        .execute()
    }
  }
}

/** One list of a resource as stored, in order. */
export async function findList(db: Kysely<DB>, field: RelationField, resourceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom(RELATION_TABLES[field])
    .select('target_id')
    .where('resource_id', '=', resourceId)
    .orderBy('position')
    .execute()
  return rows.map((row) => row.target_id)
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

export const CATALOG_CAP = 10_000

export interface CatalogQuery extends Scope {
  /** The condition of a parsed filter, if any. */
  where?: (eb: ExpressionBuilder<DB, 'resources'>) => Expression<SqlBool>
  /** Only resources of this team. */
  teamId?: string | undefined
  order: <O>(query: SelectQueryBuilder<DB, 'resources', O>) => SelectQueryBuilder<DB, 'resources', O>
}

/**
 * Every id List Resources matches, in order, up to CATALOG_CAP: one pass that both counts and orders, so that every
 * page of the same list can be cut from it.
 */
export async function findCatalogIds(db: Kysely<DB>, query: CatalogQuery): Promise<string[]> {
  let narrowed = inScope(db.selectFrom('resources').select('resources.id'), query)
  if (query.where !== undefined) narrowed = narrowed.where(query.where)
  const teamId = query.teamId
  if (teamId !== undefined) {
    narrowed = narrowed.where((eb) =>
      eb.exists(
        eb
          .selectFrom('resource_teams')
          .select(sql.lit(1).as('one'))
          .whereRef('resource_teams.resource_id', '=', 'resources.id')
          .where('resource_teams.target_id', '=', teamId),
      ),
    )
  }
  const rows = await query.order(narrowed).limit(CATALOG_CAP).execute()
  return rows.map((r) => r.id)
}

/** Whole rows for the given ids, in the order of the ids, with the children `visible` admits counted. */
export async function findRowsInOrder(
  db: Kysely<DB>,
  ids: string[],
  visible: VisibleRows | undefined,
): Promise<ResourceRow[]> {
  if (ids.length === 0) {
    return []
  }
  const rows = (await selectResources(db, visible)
    .where((eb) => inIds(db, eb.ref('resources.id'), ids))
    .execute()) as ResourceRow[]
  const byId = new Map(rows.map((row) => [row.id, row]))
  return ids.map((id) => byId.get(id)).filter((row) => row !== undefined)
}

export interface RelationRow {
  field: RelationField
  resource_id: string
  target_id: string
  position: number
}

/** Many resources and their list entries at once: for bulk loads (extraction, benchmarks). */
export async function insertResourceRows(
  db: Kysely<DB>,
  rows: (ResourceValues & { id: string })[],
  relations: RelationRow[],
): Promise<void> {
  if (rows.length > 0) {
    const teams = new Map<string, string[]>()
    for (const relation of relations) {
      if (relation.field === 'teams')
        teams.set(relation.resource_id, [...(teams.get(relation.resource_id) ?? []), relation.target_id])
    }
    await db
      .insertInto('resources')
      .values(await withEffective(db, rows, (id) => teams.get(id) ?? []))
      .execute()
  }
  const byTable = new Map<RelationField, RelationRow[]>()
  for (const relation of relations) {
    const list = byTable.get(relation.field) ?? []
    list.push(relation)
    byTable.set(relation.field, list)
  }
  for (const [field, list] of byTable) {
    await db
      .insertInto(RELATION_TABLES[field])
      .values(list.map(({ resource_id, target_id, position }) => ({ resource_id, target_id, position })))
      .execute()
  }
}
