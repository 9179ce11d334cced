import type { RelationTableName } from '../../db/types.ts'

/** The id lists of a resource: their fields, tables and shapes, shared by the reads and the writes. */

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

/** The lists whose ids are resources: a caller is shown only those it may see (CONTRACT §7). */
export const RESOURCE_LISTS: readonly RelationField[] = ['collections', 'sources']

export function emptyRelations(): Relations {
  return Object.fromEntries(RELATION_FIELDS.map((f) => [f, []])) as unknown as Relations
}

export interface RelationRow {
  field: RelationField
  resource_id: string
  target_id: string
  position: number
}
