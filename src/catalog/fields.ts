import type { TSchema } from 'typebox'
import { Type } from 'typebox'
import type { RelationTableName } from '../db/types.ts'
import { IdListSchema } from '../http/schemas.ts'

/** Where the ids of a list point: a directory of the workspace, or resources of one kind. */
export type Directory = 'users' | 'groups' | 'teams' | 'tags' | 'integrations' | 'collections'

interface ListSpec {
  /** The table that holds the list: `(resource_id, target_id, position)`. */
  table: RelationTableName
  /** What a client may send for it, when a client may set it (create and PATCH). */
  write?: TSchema
  /** What its ids must name in the workspace; a write naming anything else is refused. */
  refers?: Directory
  /** List Resources can filter on it (`in`, `is_set`, …). */
  filter?: true
  /** Its ids are resources: a caller is shown only those it may see (CONTRACT §7). */
  resources?: true
}

/**
 * Every id list of a resource, once. The writable ones come first, in the order of the API's writable fields
 * (the OpenAPI document, and the order in which a body's references are checked and reported); the rest are kept
 * by docent. Adding a list is one entry here, its table in a migration and db/types.ts, and its place in the
 * Resource answer (resource-schema.ts and repository/rows.ts).
 */
export const LIST_FIELDS = {
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
  subscribers: { table: 'resource_subscribers', write: IdListSchema, refers: 'users', filter: true },
  internal_users: { table: 'resource_internal_users', write: IdListSchema, refers: 'users' },
  // Names of people outside the workspace, not ids.
  external_users: {
    table: 'resource_external_users',
    write: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000 }),
  },
  bookmarked_by: { table: 'resource_bookmarks' },
  sources: { table: 'resource_sources', resources: true },
  multiplayers: { table: 'resource_multiplayers' },
} as const satisfies Record<string, ListSpec>

export type ListField = keyof typeof LIST_FIELDS
type Having<P extends keyof ListSpec> = {
  [K in ListField]: (typeof LIST_FIELDS)[K] extends Record<P, unknown> ? K : never
}[ListField]

/** The lists a client may set. */
export type WritableList = Having<'write'>
/** The lists whose ids name something of the workspace, and what. */
export type ReferringList = Having<'refers'>
/** The lists List Resources filters on. */
export type FilterableList = Having<'filter'>

const fieldsWith = <P extends keyof ListSpec>(property: P) =>
  (Object.keys(LIST_FIELDS) as ListField[]).filter((field) => property in LIST_FIELDS[field]) as Having<P>[]

export const WRITABLE_LISTS = fieldsWith('write')
export const REFERRING_LISTS = fieldsWith('refers')
export const FILTERABLE_LISTS = fieldsWith('filter')
export const RESOURCE_LISTS: readonly ListField[] = fieldsWith('resources')

/** The validators of the writable lists, in order, for the create and update schemas. */
export const WRITABLE_LIST_SCHEMAS = Object.fromEntries(
  WRITABLE_LISTS.map((field) => [field, LIST_FIELDS[field].write]),
) as { [K in WritableList]: (typeof LIST_FIELDS)[K]['write'] }
