import type { Selectable } from 'kysely'
import type { Permissions } from '../../access/principal.ts'
import type { ResourceTable } from '../../db/types.ts'
import { toCount, toIso } from '../../db/values.ts'
import type { Resource } from '../resource-schema.ts'
import { titleCased } from '../titles.ts'
import type { CustomValues } from './custom-values.ts'
import type { Relations } from './relations.ts'

/** The one mapper from a `resources` row and its lists to the API's Resource. */

export type ResourceRow = Selectable<ResourceTable> & { children_count: number | string | bigint }

export function toResource(
  row: ResourceRow,
  relations: Relations,
  permissions: Permissions,
  custom: CustomValues,
): Resource {
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
    custom_properties: custom,
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
  if (row.entity_type === 'question_reply') {
    return { accepted: Boolean(row.accepted) }
  }
  return {}
}
