import {
  CompiledQuery,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely'
import { findKeyOwner, keepOwner, keptOwner, selectKeyOwner } from '../../access/keys.ts'
import type { KeyOwner, Principal } from '../../access/principal.ts'
import {
  type Scope,
  type Visibility,
  type VisibleRows,
  visibilityOf,
  visibleTo,
  visibleToKeyOwner,
} from '../../access/visibility.ts'
import { engineOf, inIds } from '../../db/dialect.ts'
import { prepared, slot } from '../../db/prepared.ts'
import type { DB } from '../../db/types.ts'
import { toCount } from '../../db/values.ts'
import { orderByRelevance, type Search, searchCondition } from '../search.ts'
import { type CustomValues, decodeValues, ENCODED_ELEMENT, parseEncoded } from './custom-values.ts'
import {
  emptyRelations,
  RELATION_FIELDS,
  RELATION_TABLES,
  RESOURCE_LISTS,
  type RelationField,
  type Relations,
} from './relations.ts'
import type { ResourceRow } from './rows.ts'

/** Reads of resources: one by id (with its lists, or with the API key in the same statement), pages, lists' ids. */

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

/** What a new resource takes from its parent: its place in the hierarchy, its integration and its visibility. */
export type ParentPlaceRow = Pick<
  ResourceRow,
  | 'id'
  | 'entity_type'
  | 'title'
  | 'title_full'
  | 'search_database'
  | 'search_schema'
  | 'integration_id'
  | 'visibility_class'
  | 'effective_published'
>

const findParentPlaceRow = prepared<{ id: string; workspaceId: string; userId: string }, ParentPlaceRow>(
  (db, visibility) => {
    const visible = visibleTo(visibility as Visibility, slot('userId'), 'row')
    let query = db
      .selectFrom('resources')
      .select([
        'resources.id',
        'resources.entity_type',
        'resources.title',
        'resources.title_full',
        'resources.search_database',
        'resources.search_schema',
        'resources.integration_id',
        'resources.visibility_class',
        'resources.effective_published',
      ])
      .where('resources.id', '=', slot('id'))
      .where('resources.workspace_id', '=', slot('workspaceId'))
    if (visible !== undefined) query = query.where(visible('resources'))
    // Share-locked until the write ends: a write changing the parent waits for the child (effective.ts).
    return engineOf(db) === 'postgres' ? query.forShare('resources') : query
  },
)

/**
 * The parent a new resource is placed under, if the reader may see it: only what the placement needs, in one
 * prepared statement (the whole row with its children counted cost a SQLite POST 180 µs), share-locked on
 * PostgreSQL until the write ends.
 */
export async function findParentPlace(
  db: Kysely<DB>,
  reader: Pick<Principal, 'workspaceId' | 'userId' | 'role'>,
  id: string,
): Promise<ParentPlaceRow | undefined> {
  const [row] = await findParentPlaceRow(
    db,
    { id, workspaceId: reader.workspaceId, userId: reader.userId },
    visibilityOf(reader),
  )
  return row
}

/**
 * A resource's row with its read-ready form (`resource_lists`, migration 0014): JSON text on SQLite, parsed by the
 * driver on PostgreSQL; null when the resource has no list entry and no custom value.
 */
export type RowWithLists = ResourceRow & { lists: string | Form | null }

/** The read-ready form: each list by its field, the custom values as encoded elements; an absent key is empty. */
type Form = Partial<Record<RelationField | typeof CUSTOM, unknown[]>>

/** What a resource is read with beside its row: its lists and its custom property values. */
export interface Loaded {
  relations: Relations
  custom: CustomValues
}

/** The form of the resource `resources`, as one column. */
function formColumn() {
  return sql<
    string | Form | null
  >`(select resource_lists.lists from resource_lists where resource_lists.resource_id = resources.id)`.as('lists')
}

export function selectResourcesWithLists(db: Kysely<DB>, visible: VisibleRows | undefined) {
  return selectResources(db, visible).select(formColumn())
}

/** A resource's lists and encoded custom values as its form holds them, every target whoever reads. */
interface Stored {
  relations: Relations
  elements: ReturnType<typeof parseEncoded>[]
}

function storedOf(lists: string | Form | null): Stored {
  const relations = emptyRelations()
  if (lists === null) return { relations, elements: [] }
  const form = typeof lists === 'string' ? (JSON.parse(lists) as Form) : lists
  for (const field of RELATION_FIELDS) {
    const list = form[field]
    if (list !== undefined) relations[field] = list as string[]
  }
  return { relations, elements: (form[CUSTOM] ?? []) as ReturnType<typeof parseEncoded>[] }
}

/** The resources among the targets (lists of resources, resource values) of `stored`. */
function targetsOf(stored: Stored, into: Set<string>): void {
  for (const field of RESOURCE_LISTS) for (const id of stored.relations[field]) into.add(id)
  for (const element of stored.elements) if (element[1] === 'resource' && element[5] !== null) into.add(element[5])
}

/**
 * The lists and custom values of each stored form as `visible` may see them (undefined: all of them): lists of
 * resources (RESOURCE_LISTS) and resource values keep only the resources it admits, which one statement reads,
 * and only when there are any.
 */
async function loadAll(db: Kysely<DB>, stored: Stored[], visible: VisibleRows | undefined): Promise<Loaded[]> {
  let shown: ((id: string) => boolean) | undefined
  if (visible !== undefined) {
    const targets = new Set<string>()
    for (const one of stored) targetsOf(one, targets)
    if (targets.size > 0) {
      const seen = await db
        .selectFrom('resources')
        .select('resources.id')
        .where((eb) => inIds(db, eb.ref('resources.id'), [...targets]))
        .where(visible('resources'))
        .execute()
      const ids = new Set(seen.map((row) => row.id))
      shown = (id) => ids.has(id)
    }
  }
  return stored.map(({ relations, elements }) => {
    let custom = elements
    if (shown !== undefined) {
      const show = shown
      for (const field of RESOURCE_LISTS) relations[field] = relations[field].filter(show)
      custom = custom.filter((e) => e[1] !== 'resource' || (e[5] !== null && show(e[5])))
    }
    return { relations, custom: decodeValues(custom) }
  })
}

/** The lists and custom values of rows read with their forms, as `visible` may see them, in the rows' order. */
export function loadRows(db: Kysely<DB>, rows: RowWithLists[], visible: VisibleRows | undefined): Promise<Loaded[]> {
  return loadAll(
    db,
    rows.map((row) => storedOf(row.lists)),
    visible,
  )
}

/** The lists and custom values of one row read with `formColumn`, as `visible` may see them. */
async function loadedOf(db: Kysely<DB>, row: RowWithLists, visible: VisibleRows | undefined): Promise<Loaded> {
  return (await loadAll(db, [storedOf(row.lists)], visible))[0] as Loaded
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
): Promise<({ row: ResourceRow } & Loaded) | undefined> {
  if (entityType?.includes('|')) throw new Error(`not an entity type: ${entityType}`)
  const [found] = await findOneWithLists(
    db,
    { id, workspaceId: reader.workspaceId, userId: reader.userId },
    `${visibilityOf(reader)}|${entityType ?? ''}`,
  )
  if (found === undefined) return undefined
  return { row: found, ...(await loadedOf(db, found, visibleTo(visibilityOf(reader), reader.userId, 'row'))) }
}

const findForKey = prepared<
  { hash: string; id: string },
  KeyOwner & { id: string | null; key_version: number | string | null }
>((db, entityType) =>
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
    .select(formColumn())
    .select(keyVersion),
)

/** The key version (migration 0006) as a column, read in the statement's snapshot. */
const keyVersion = (eb: ExpressionBuilder<DB, 'resources'>) =>
  eb.selectFrom('key_changes').select('key_changes.changes').where('key_changes.id', '=', 1).as('key_version')

const findKeyVersion = prepared<Record<string, never>, { changes: number | string }>((db) =>
  db.selectFrom('key_changes').select('changes').where('id', '=', 1),
)

/**
 * One resource a kept key owner may see, with its lists, and in the same statement the key version: the owner is
 * still what its key stands for when that version is its label. No row when there is no such resource (a join
 * that would always answer a row made SQLite look the resource up by workspace instead of by id).
 */
const findForKeptOwner = prepared<
  { id: string; workspaceId: string; userId: string },
  RowWithLists & { key_version: number | string | null }
>((db, variant) => {
  const [visibility, entityType] = variant.split('|') as [Visibility, string]
  const visible = visibleTo(visibility, slot('userId'), 'row')
  let query = selectResourcesWithLists(db, visible)
    .select(keyVersion)
    .where('resources.id', '=', slot('id'))
    .where('resources.workspace_id', '=', slot('workspaceId'))
  if (visible !== undefined) query = query.where(visible('resources'))
  if (entityType !== '') query = query.where('resources.entity_type', '=', entityType)
  return query
})

/**
 * The owner of a working API key and one resource it may see with all its lists. `owner` is undefined for an
 * unknown or revoked key; `found` is undefined when there is no such resource (of `entityType`) the owner sees.
 *
 * The owner of a key used lately is kept (src/access/keys.ts) with the key version it was read under; the resource
 * is then read in one statement with the key version, and the kept owner counts only when that version is still
 * its label: a key revoked (or its user's role changed) before the statement ran is never taken for what it was.
 * A resource not found that way is looked for again after the key, so that a 404 never hides a 401.
 * Otherwise the key is looked up: in the resource's statement on PostgreSQL, in one of its own on SQLite (in
 * process, two statements cost less than the join).
 */
export async function findResourceForKey(
  db: Kysely<DB>,
  keyHash: string,
  id: string,
  entityType: string | undefined,
): Promise<{ owner: KeyOwner | undefined; found?: { row: ResourceRow } & Loaded }> {
  if (entityType?.includes('|')) throw new Error(`not an entity type: ${entityType}`)
  const kept = keptOwner(db, keyHash)
  if (kept !== undefined) {
    const { owner } = kept
    const visibility = visibilityOf(owner)
    const [row] = await findForKeptOwner(
      db,
      { id, workspaceId: owner.workspaceId, userId: owner.userId },
      `${visibility}|${entityType ?? ''}`,
    )
    // Not found (or a changed key version): the lookup below tells a missing resource from a changed key.
    if (row !== undefined && row.key_version !== null && Number(row.key_version) === kept.keys) {
      return { owner, found: { row, ...(await loadedOf(db, row, visibleTo(visibility, owner.userId, 'row'))) } }
    }
  }
  if (engineOf(db) === 'sqlite') {
    // The label is the version read before the lookup: what the lookup read is at least that new.
    const [version] = await findKeyVersion(db, {})
    const [owner] = await findKeyOwner(db, { hash: keyHash })
    keepOwner(db, keyHash, owner, version === undefined ? Number.NaN : Number(version.changes))
    if (owner === undefined) return { owner: undefined }
    return { owner, found: await findResource(db, owner, id, entityType) }
  }
  const [row] = await findForKey(db, { hash: keyHash, id }, entityType ?? '')
  if (row === undefined) {
    keepOwner(db, keyHash, undefined, Number.NaN)
    return { owner: undefined }
  }
  const { keyId, lastUsedAt, userId, workspaceId, role } = row
  const owner = { keyId, lastUsedAt, userId, workspaceId, role }
  // Read in the same snapshot as the owner.
  keepOwner(db, keyHash, owner, row.key_version === null ? Number.NaN : Number(row.key_version))
  if (row.id === null) return { owner }
  const full = row as unknown as RowWithLists
  const visible = visibleTo(visibilityOf(owner), owner.userId, 'row')
  return { owner, found: { row: full, ...(await loadedOf(db, full, visible)) } }
}

export interface TypedListFilter extends Scope {
  entityType: string
  integrationId?: string | undefined
  parentId?: string | undefined
  title?: string | undefined
  /** Questions (CONTRACT §9): only those with this status, or assigned to this user. */
  questionStatus?: string | undefined
  questionAssignedTo?: string | undefined
  /** Only what the search finds, by relevance (CONTRACT §12). */
  search?: Search | undefined
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
    if (filter.questionStatus !== undefined) q = q.where('resources.question_status', '=', filter.questionStatus) as Q
    if (filter.questionAssignedTo !== undefined)
      q = q.where('resources.question_assigned_to', '=', filter.questionAssignedTo) as Q
    const search = filter.search
    if (search !== undefined) q = q.where((eb) => searchCondition(eb, engineOf(db), search)) as Q
    return q
  }
  const counted = await narrow(db.selectFrom('resources').select((eb) => eb.fn.countAll().as('n'))).executeTakeFirst()
  const count = toCount(counted?.n as number | string | undefined)
  if (count === 0 || page.offset >= count) {
    return { count, rows: [] }
  }
  const found = narrow(db.selectFrom('resources').select('resources.id'))
  const keys = await (filter.search === undefined
    ? found.orderBy('resources.title').orderBy('resources.id')
    : orderByRelevance(found, engineOf(db), filter.search)
  )
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
 * The one statement that reads every list and custom value of a page of resources: a UNION ALL over the relation
 * tables and the custom values (each element encoded as JSON text in `target_id`, custom-values.ts). Its text is
 * built once per engine from the table names above (no input reaches it); the ids are one bound parameter.
 */
const CUSTOM = 'custom_properties'
const RELATIONS_SQL = {
  sqlite: [
    ...RELATION_FIELDS.map(
      (field) =>
        `select resource_id, target_id, position, '${field}' as field from ${RELATION_TABLES[field]} where resource_id in (select value from json_each(?))`,
    ),
    `select v.resource_id, ${ENCODED_ELEMENT.sqlite} as target_id, v.position, '${CUSTOM}' as field from custom_property_values v join custom_properties p on p.id = v.property_id where v.resource_id in (select value from json_each(?))`,
  ].join(' union all '),
  postgres: [
    ...RELATION_FIELDS.map(
      (field) =>
        `select resource_id, target_id, position, '${field}' as field from ${RELATION_TABLES[field]} where resource_id = any($1::text[])`,
    ),
    `select v.resource_id, ${ENCODED_ELEMENT.postgres} as target_id, v.position, '${CUSTOM}' as field from custom_property_values v join custom_properties p on p.id = v.property_id where v.resource_id = any($1::text[])`,
  ].join(' union all '),
}

/**
 * Every id list and custom value of each resource, from their read-ready forms, in one query; with `visible`, lists
 * of resources (RESOURCE_LISTS) and resource values keep only those it admits.
 */
export async function findRelations(
  db: Kysely<DB>,
  resourceIds: string[],
  visible?: VisibleRows,
): Promise<Map<string, Loaded>> {
  if (resourceIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('resource_lists')
    .select(['resource_id', 'lists'])
    .where((eb) => inIds(db, eb.ref('resource_lists.resource_id'), resourceIds))
    .execute()
  const forms = new Map(rows.map((row) => [row.resource_id, row.lists as string | Form]))
  const ids = [...new Set(resourceIds)]
  const loaded = await loadAll(
    db,
    ids.map((id) => storedOf(forms.get(id) ?? null)),
    visible,
  )
  return new Map(ids.map((id, i) => [id, loaded[i] as Loaded]))
}

/**
 * `findRelations` from the relation tables themselves rather than the read-ready forms, in one query (a UNION ALL):
 * what the forms must equal, which the tests check after every kind of write.
 */
export async function findRelationsFromTables(
  db: Kysely<DB>,
  resourceIds: string[],
  visible?: VisibleRows,
): Promise<Map<string, Loaded>> {
  if (resourceIds.length === 0) return new Map()
  const engine = engineOf(db)
  const parameters =
    engine === 'postgres' ? [resourceIds] : [...RELATION_FIELDS, CUSTOM].map(() => JSON.stringify(resourceIds))
  const { rows } = await db.executeQuery<{
    resource_id: string
    target_id: string
    position: number
    field: RelationField | typeof CUSTOM
  }>(CompiledQuery.raw(RELATIONS_SQL[engine], parameters))
  const stored = new Map<string, Stored>(resourceIds.map((id) => [id, { relations: emptyRelations(), elements: [] }]))
  for (const row of [...rows].sort((a, b) => a.position - b.position)) {
    const one = stored.get(row.resource_id)
    if (one === undefined) continue
    if (row.field === CUSTOM) one.elements.push(parseEncoded(row.target_id))
    else one.relations[row.field].push(row.target_id)
  }
  const loaded = await loadAll(db, [...stored.values()], visible)
  return new Map([...stored.keys()].map((id, i) => [id, loaded[i] as Loaded]))
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

export const CATALOG_CAP = 10_000

export interface CatalogQuery extends Scope {
  /** The condition of a parsed filter, if any. */
  where?: (eb: ExpressionBuilder<DB, 'resources'>) => Expression<SqlBool>
  /** Only resources of this team. */
  teamId?: string | undefined
  order: <O>(query: SelectQueryBuilder<DB, 'resources', O>) => SelectQueryBuilder<DB, 'resources', O>
  /** At most this many (at most CATALOG_CAP, the default). */
  limit?: number
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
  const rows = await query
    .order(narrowed)
    .limit(Math.min(query.limit ?? CATALOG_CAP, CATALOG_CAP))
    .execute()
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

/** What a list of a table's columns shows of each. */
export interface ColumnSummary {
  title: string
  data_type: string | null
  native_type: string | null
  is_pk: boolean
  description: string
}

/**
 * A table's columns as a short list, with only what a list of them shows (the tools for AI assistants: a table of
 * 1,000 columns read as full resources took 108 ms on SQLite, 226 ms on PostgreSQL): those the scope sees, primary
 * keys first, then by title; and how many the scope sees.
 */
export async function findColumnSummaries(
  db: Kysely<DB>,
  scope: Scope,
  tableId: string,
  limit: number,
): Promise<{ count: number; columns: ColumnSummary[] }> {
  const columns = () =>
    inScope(db.selectFrom('resources'), scope)
      .where('resources.parent_id', '=', tableId)
      .where('resources.entity_type', '=', 'column')
  const counted = await columns()
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst()
  const rows = await columns()
    .select([
      'resources.title',
      'resources.data_type',
      'resources.native_type',
      'resources.is_pk',
      'resources.description',
    ])
    .orderBy((eb) => eb.case().when('resources.is_pk', '=', sql.lit(true)).then(0).else(1).end())
    .orderBy('resources.title')
    .orderBy('resources.id')
    .limit(limit)
    .execute()
  return {
    count: toCount(counted?.n as number | string | undefined),
    columns: rows.map((row) => ({ ...row, is_pk: Boolean(row.is_pk) })),
  }
}
