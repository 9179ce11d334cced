import type { Generated, Kysely } from 'kysely'

/**
 * Timestamps are `text` (ISO 8601, millisecond precision, `Z`) on SQLite and `timestamptz(3)` on PostgreSQL;
 * booleans are `integer` 0/1 on SQLite and `boolean` on PostgreSQL. Writes always pass ISO strings and JS
 * booleans; mappers read both shapes back through `toIso` and `Boolean`.
 */
type Timestamp = string | Date
type Flag = boolean | number

export interface WorkspaceTable {
  id: string
  name: string
  created_at: Timestamp
}

export interface TeamTable {
  id: string
  workspace_id: string
  name: string
  icon: string | null
  description: string
  type: string
  is_default: Flag
  created_at: Timestamp
  updated_at: Timestamp
}

export interface UserTable {
  id: string
  workspace_id: string
  email: string
  first_name: string
  last_name: string
  role: string
  created_at: Timestamp
  updated_at: Timestamp
}

export interface TeamMemberTable {
  team_id: string
  user_id: string
}

export interface GroupTable {
  id: string
  workspace_id: string
  name: string
  icon: string | null
  description: string
  created_at: Timestamp
  updated_at: Timestamp
}

export interface GroupMemberTable {
  group_id: string
  user_id: string
}

export interface TagTable {
  id: string
  workspace_id: string
  name: string
  description: string
  color: string | null
  integration_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface IntegrationTable {
  id: string
  workspace_id: string
  name: string
  type: string
  credentials: string
  created_at: Timestamp
  updated_at: Timestamp
}

export interface IntegrationTeamTable {
  integration_id: string
  team_id: string
  position: number
}

export interface ApiKeyTable {
  id: string
  workspace_id: string
  user_id: string
  key_hash: string
  description: string
  created_at: Timestamp
  last_used_at: Timestamp | null
  revoked_at: Timestamp | null
}

export interface MetaTable {
  key: string
  value: string
}

/** docent's change counter: the data version of list caches is the sum of `changes` over all slots. */
export interface KeyChangesTable {
  id: number
  changes: number | string
}

export interface ChangeCounterTable {
  slot: number
  changes: number | string
}

export interface ResourceTable {
  id: string
  workspace_id: string
  entity_type: string
  native_type: string | null
  icon: string | null
  url: string | null
  title: string
  title_full: string
  description: string
  definition: string
  definition_version: number
  multiplayer_last_modified_by: string | null
  multiplayer_last_modified: Timestamp | null
  published: Flag
  archived: Flag
  archived_at: Timestamp | null
  pii: Flag
  verified: Flag
  parent_id: string | null
  integration_id: string | null
  external_updated_at: Timestamp | null
  internal_usage: number
  external_usage: number
  databuilder_id: string | null
  search_database: string | null
  search_schema: string | null
  stale: Flag
  stale_at: Timestamp | null
  forced_unstale_by_user: Flag
  row_count: number | null
  byte_size: number | null
  display_metadata: string
  question_status: string | null
  question_priority: string | null
  question_answered_by: string | null
  question_assigned_to: string | null
  /** A reply: the accepted answer of its question (migration 0008). */
  accepted: Generated<Flag>
  /** The user who created it, when known (migration 0008). */
  created_by: string | null
  data_type: string | null
  sort_order: number | null
  is_pk: Flag | null
  is_nullable: Flag | null
  description_by_person: Generated<Flag>
  /** The stored effective visibility (src/access/effective.ts): set by the writes, never by callers. */
  visibility_class: Generated<string>
  effective_published: Generated<Flag>
  created_at: Timestamp
  updated_at: Timestamp
}

/** One team of one clause of a visibility class (src/access/classes.ts); `clauses` is the class's clause count. */
export interface VisibilityClassTable {
  class_id: string
  clause: number
  team_id: string
  clauses: number
}

export interface SyncRunTable {
  id: string
  workspace_id: string
  integration_id: string
  status: string
  started_at: Timestamp | null
  finished_at: Timestamp | null
  heartbeat_at: Timestamp | null
  created_count: Generated<number>
  updated_count: Generated<number>
  unchanged_count: Generated<number>
  staled_count: Generated<number>
  error: string | null
  created_at: Timestamp
}

/** Every id-list field of a resource lives in its own two-column table: (resource_id, target_id, position). */
export interface RelationTable {
  resource_id: string
  target_id: string
  position: number
}

/**
 * A resource's lists and custom property values in one read-ready form, kept by triggers (migration 0014): JSON
 * text on SQLite, jsonb (parsed by the driver) on PostgreSQL.
 */
export interface ResourceListsTable {
  resource_id: string
  lists: string | Record<string, unknown>
}

/** The words of catalog text (src/search/words.ts), kept by triggers (migration 0005). */
export interface SearchWordTable {
  workspace_id: string
  word: string
}

/** SQLite: the keys whose text changed since the resource_fts_* tables were brought up to date. */
export interface SearchPendingTable {
  key: number
  field: string
}

/** SQLite: the integer each resource's text is found by in the resource_fts_* tables. */
export interface ResourceSearchKeyTable {
  key: number
  resource_id: string
}

/** A custom property's definition (CONTRACT §10); `entity_types` is a JSON array. */
export interface CustomPropertyTable {
  id: string
  workspace_id: string
  name: string
  value_type: string
  entity_types: string
  integration_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

/** An option of a `select` custom property. */
export interface CustomPropertyOptionTable {
  id: string
  property_id: string
  name: string
  position: number
}

/** One element of a custom property's value on a resource: exactly one of the value columns is set. */
export interface CustomPropertyValueTable {
  resource_id: string
  property_id: string
  position: number
  text_value: string | null
  number_value: number | null
  boolean_value: boolean | number | null
  user_id: string | null
  target_id: string | null
  option_id: string | null
}

/** A lineage edge (CONTRACT §11): `upstream_id` feeds `downstream_id`; `from_id`, `to_id`, `direction` as created. */
export interface LineageEdgeTable {
  id: string
  workspace_id: string
  upstream_id: string
  downstream_id: string
  from_id: string
  to_id: string
  direction: string
  is_manual: boolean | number
  integration_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

/** A signed-in browser (migration 0011): the cookie's hash, the key it acts as, until when. */
export interface SessionTable {
  id: string
  workspace_id: string
  user_id: string
  api_key_id: string
  token_hash: string
  created_at: Timestamp
  expires_at: Timestamp
  revoked_at: Timestamp | null
}

export interface DB {
  workspaces: WorkspaceTable
  teams: TeamTable
  users: UserTable
  team_members: TeamMemberTable
  groups: GroupTable
  group_members: GroupMemberTable
  tags: TagTable
  integrations: IntegrationTable
  integration_teams: IntegrationTeamTable
  api_keys: ApiKeyTable
  docent_meta: MetaTable
  change_counter: ChangeCounterTable
  key_changes: KeyChangesTable
  resources: ResourceTable
  sync_runs: SyncRunTable
  visibility_classes: VisibilityClassTable
  resource_owners: RelationTable
  resource_owner_groups: RelationTable
  resource_teams: RelationTable
  resource_tags: RelationTable
  resource_collections: RelationTable
  resource_subscribers: RelationTable
  resource_bookmarks: RelationTable
  resource_sources: RelationTable
  resource_multiplayers: RelationTable
  resource_internal_users: RelationTable
  resource_external_users: RelationTable
  resource_lists: ResourceListsTable
  search_words: SearchWordTable
  resource_search_keys: ResourceSearchKeyTable
  search_pending: SearchPendingTable
  custom_properties: CustomPropertyTable
  custom_property_options: CustomPropertyOptionTable
  custom_property_values: CustomPropertyValueTable
  lineage_edges: LineageEdgeTable
  sessions: SessionTable
}

export type RelationTableName = {
  [K in keyof DB]: DB[K] extends RelationTable ? K : never
}[keyof DB]

export type Engine = 'sqlite' | 'postgres'

export interface WriteOptions {
  /** The 409's message when the write breaks a unique constraint (a concurrent request made the same thing). */
  clash?: string
  /**
   * False when the work notes its changes itself (`noteChange`), because some runs change nothing a list shows;
   * otherwise every write notes one change for list caches.
   */
  noteChange?: boolean
}

/** The work of one write, given the transaction it must use for every statement. */
export type WriteWork<T> = (trx: Kysely<DB>) => Promise<T>

export type Write = <T>(work: WriteWork<T>, options?: WriteOptions) => Promise<T>

export interface Store {
  readonly db: Kysely<DB>
  readonly engine: Engine
  /** SQLite only: the store's file, which no sync may read. */
  readonly file?: string | undefined
  /** Every change to the store goes through `write` (db/write.ts): one transaction, a 409 for a broken constraint. */
  readonly write: Write
  close(): Promise<void>
}
