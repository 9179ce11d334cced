import { type TSchema, Type } from 'typebox'
import type { RelationTableName, ResourceTable } from '../db/types.ts'
import { IdListSchema, Nullable, UuidSchema } from '../http/schemas.ts'

/** Where the ids of a list point: a directory of the workspace, or resources of one kind. */
export type Directory = 'users' | 'groups' | 'teams' | 'tags' | 'integrations' | 'collections' | 'resources'

/** What a filter compares a scalar field as; decides the operators and value types it accepts. */
export type ScalarKind = 'text' | 'boolean' | 'number' | 'timestamp'

interface ScalarSpec {
  /** The column of `resources` that holds it. */
  column: keyof ResourceTable & string
  /** What a client may send for it, when a client may set it (create and PATCH). */
  write?: TSchema
  /** List Resources can filter on it, as this kind. */
  filter?: ScalarKind
  /** List Resources can sort on it. */
  sort?: true
  /** The column may be null: a sort puts nulls last. */
  nullable?: true
}

interface ListSpec {
  /** The table that holds the list: `(resource_id, target_id, position)`. */
  table: RelationTableName
  write?: TSchema
  /** What its ids must name in the workspace; a write naming anything else is refused. */
  refers?: Directory
  /** List Resources can filter on it (`in`, `is_set`, …). */
  filter?: true
  /** Its ids are resources: a caller is shown only those it may see (CONTRACT §7). */
  resources?: true
}

export const QUESTION_STATUSES = ['OPEN', 'ANSWERED', 'CLOSED'] as const
export const QUESTION_PRIORITIES = ['LOW', 'MEDIUM', 'HIGH'] as const

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const Flag = Type.Boolean()

/**
 * Every field of a resource that a client sets, filters or sorts on, or that is an id list, once, by the name
 * the API gives it. The writable ones come first, in the order of the API's writable fields (the OpenAPI
 * document, and the order in which a body's references are checked and reported). Adding a field is an entry
 * here, its column or table (a migration and db/types.ts), and its place in the Resource answer
 * (resource-schema.ts and repository/rows.ts).
 */
export const FIELDS = {
  title: { column: 'title', write: Type.String({ minLength: 1, maxLength: 1024 }), filter: 'text', sort: true },
  description: { column: 'description', write: Type.String({ maxLength: 100_000 }), filter: 'text' },
  definition: { column: 'definition', write: Type.String({ maxLength: 1_000_000 }), filter: 'text' },
  pii: { column: 'pii', write: Flag, filter: 'boolean' },
  verified: { column: 'verified', write: Flag, filter: 'boolean' },
  published: { column: 'published', write: Flag, filter: 'boolean' },
  archived: { column: 'archived', write: Flag, filter: 'boolean' },
  url: { column: 'url', write: Nullable(Type.String({ maxLength: 2048 })), filter: 'text' },
  icon: { column: 'icon', write: Nullable(Type.String({ maxLength: 2048 })) },
  native_type: {
    column: 'native_type',
    write: Nullable(Type.String({ maxLength: 255 })),
    filter: 'text',
    sort: true,
    nullable: true,
  },
  teams: { table: 'resource_teams', write: IdListSchema, refers: 'teams', filter: true },
  owners: { table: 'resource_owners', write: IdListSchema, refers: 'users', filter: true },
  owners_groups: { table: 'resource_owner_groups', write: IdListSchema, refers: 'groups', filter: true },
  collections: {
    table: 'resource_collections',
    write: IdListSchema,
    refers: 'collections',
    filter: true,
    resources: true,
  },
  tags: { table: 'resource_tags', write: IdListSchema, refers: 'tags', filter: true },
  // CONTRACT §9: what a resource is about or comes from, e.g. the tables a document describes.
  sources: { table: 'resource_sources', write: IdListSchema, refers: 'resources', filter: true, resources: true },
  subscribers: { table: 'resource_subscribers', write: IdListSchema, refers: 'users', filter: true },
  internal_users: { table: 'resource_internal_users', write: IdListSchema, refers: 'users' },
  // Names of people outside the workspace, not ids.
  external_users: {
    table: 'resource_external_users',
    write: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000 }),
  },
  internal_usage: { column: 'internal_usage', write: Count, filter: 'number', sort: true },
  external_usage: { column: 'external_usage', write: Count, filter: 'number', sort: true },
  row_count: { column: 'row_count', write: Nullable(Count), filter: 'number', sort: true, nullable: true },
  byte_size: { column: 'byte_size', write: Nullable(Count), filter: 'number', sort: true, nullable: true },
  external_updated_at: {
    column: 'external_updated_at',
    write: Nullable(Type.String({ format: 'date-time' })),
    filter: 'timestamp',
    sort: true,
    nullable: true,
  },
  // CONTRACT §9: questions and replies (service.ts refuses them on other types).
  question_status: {
    column: 'question_status',
    write: Type.Union([...QUESTION_STATUSES.map((status) => Type.Literal(status)), Type.Null()]),
    filter: 'text',
    sort: true,
    nullable: true,
  },
  question_priority: {
    column: 'question_priority',
    write: Type.Union([...QUESTION_PRIORITIES.map((priority) => Type.Literal(priority)), Type.Null()]),
    filter: 'text',
    sort: true,
    nullable: true,
  },
  question_assigned_to: { column: 'question_assigned_to', write: Nullable(UuidSchema), filter: 'text', nullable: true },
  accepted: { column: 'accepted', write: Flag, filter: 'boolean' },
  // Kept by docent: read, filtered and sorted, never written by a client.
  question_answered_by: { column: 'question_answered_by', filter: 'text' },
  id: { column: 'id', filter: 'text' },
  entity_type: { column: 'entity_type', filter: 'text', sort: true },
  title_full: { column: 'title_full', filter: 'text', sort: true },
  integration_id: { column: 'integration_id', filter: 'text' },
  parent_id: { column: 'parent_id', filter: 'text' },
  databuilder_id: { column: 'databuilder_id', filter: 'text' },
  stale: { column: 'stale', filter: 'boolean' },
  created_at: { column: 'created_at', filter: 'timestamp', sort: true },
  updated_at: { column: 'updated_at', filter: 'timestamp', sort: true },
  // CONTRACT §8: a column's position in its table, and the names in search_metadata (a schema's tables by name).
  sort_order: { column: 'sort_order', sort: true, nullable: true },
  database: { column: 'search_database', filter: 'text', sort: true, nullable: true },
  schema: { column: 'search_schema', filter: 'text', sort: true, nullable: true },
  bookmarked_by: { table: 'resource_bookmarks' },
  multiplayers: { table: 'resource_multiplayers' },
} as const satisfies Record<string, ScalarSpec | ListSpec>

/** Other names clients use for a field (CONTRACT §5, §8). */
export const FILTER_ALIASES = { type: 'entity_type', integration: 'integration_id', parent: 'parent_id' } as const
export const SORT_ALIASES = { externally_updated_at: 'external_updated_at' } as const

type Fields = typeof FIELDS
export type FieldName = keyof Fields
type Having<P extends string> = { [K in FieldName]: Fields[K] extends Record<P, unknown> ? K : never }[FieldName]

export type ListField = Having<'table'>
export type ScalarField = Having<'column'>
/** The lists a client may set. */
export type WritableList = Extract<Having<'write'>, ListField>
/** The lists whose ids name something of the workspace, and what. */
export type ReferringList = Having<'refers'>
/** The lists List Resources filters on. */
export type FilterableList = Extract<Having<'filter'>, ListField>
export type SortableField = Having<'sort'>

const NAMES = Object.keys(FIELDS) as FieldName[]
const has = (field: FieldName, property: string) => property in FIELDS[field]
const named = <N extends FieldName>(test: (field: FieldName) => boolean) => NAMES.filter(test) as N[]

export const LIST_FIELDS = named<ListField>((f) => has(f, 'table'))
export const WRITABLE_FIELDS = named<Having<'write'>>((f) => has(f, 'write'))
export const WRITABLE_LISTS = named<WritableList>((f) => has(f, 'table') && has(f, 'write'))
export const WRITABLE_SCALARS = named<Extract<Having<'write'>, ScalarField>>((f) => has(f, 'column') && has(f, 'write'))
export const REFERRING_LISTS = named<ReferringList>((f) => has(f, 'refers'))
export const FILTERABLE_LISTS = named<FilterableList>((f) => has(f, 'table') && has(f, 'filter'))
export const FILTERABLE_SCALARS = named<Extract<Having<'filter'>, ScalarField>>(
  (f) => has(f, 'column') && has(f, 'filter'),
)
export const SORTABLE_FIELDS = named<SortableField>((f) => has(f, 'sort'))
export const RESOURCE_LISTS: readonly ListField[] = named<ListField>((f) => has(f, 'resources'))

/** The table of each list. */
export const LIST_TABLES = Object.fromEntries(LIST_FIELDS.map((f) => [f, FIELDS[f].table])) as {
  [K in ListField]: Fields[K]['table']
}

/** The validators of the writable fields, in the API's order, for the create and update schemas. */
export const WRITABLE_SCHEMAS = Object.fromEntries(WRITABLE_FIELDS.map((f) => [f, FIELDS[f].write])) as {
  [K in Having<'write'>]: Fields[K]['write']
}
