import { LIST_TABLES, type ListField, RESOURCE_LISTS } from '../fields.ts'

/** The id lists of a resource: their fields, tables and shapes, shared by the reads and the writes. */

/** Each id-list field of a resource and the table that holds it (from catalog/fields.ts). */
export const RELATION_TABLES = LIST_TABLES

export type RelationField = ListField
export type Relations = Record<RelationField, string[]>
export const RELATION_FIELDS = Object.keys(RELATION_TABLES) as RelationField[]

export { RESOURCE_LISTS }

export function emptyRelations(): Relations {
  return Object.fromEntries(RELATION_FIELDS.map((f) => [f, []])) as unknown as Relations
}

export interface RelationRow {
  field: RelationField
  resource_id: string
  target_id: string
  position: number
}
