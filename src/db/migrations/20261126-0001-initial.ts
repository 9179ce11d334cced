import { type ColumnDefinitionBuilder, type Kysely, PostgresAdapter, sql } from 'kysely'

// Each id list of a resource gets its own table; `target` is the table the ids point at (null: free text).
const RELATIONS: [table: string, target: string | null][] = [
  ['resource_owners', 'users'],
  ['resource_owner_groups', 'groups'],
  ['resource_teams', 'teams'],
  ['resource_tags', 'tags'],
  ['resource_collections', 'resources'],
  ['resource_subscribers', 'users'],
  ['resource_bookmarks', 'users'],
  ['resource_sources', 'resources'],
  ['resource_multiplayers', 'users'],
  ['resource_internal_users', 'users'],
  ['resource_external_users', null],
]

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const ts = pg ? sql`timestamptz(3)` : sql`text`
  const flag = pg ? sql`boolean` : sql`integer`
  const big = pg ? sql`bigint` : sql`integer`
  const falsy = pg ? sql`false` : sql`0`
  const truthy = pg ? sql`true` : sql`1`
  // Sorted text compares bytewise on both engines (SQLite's BINARY), whatever the PostgreSQL database's locale.
  const sortable = pg ? sql`text collate "C"` : sql`text`
  const cascade = (col: ColumnDefinitionBuilder) => col.onDelete('cascade')

  await db.schema
    .createTable('docent_meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('teams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('icon', 'text')
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('type', 'text', (c) => c.notNull().defaultTo('OPEN'))
    .addColumn('is_default', flag, (c) => c.notNull().defaultTo(falsy))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addUniqueConstraint('teams_workspace_name_unique', ['workspace_id', 'name'])
    .execute()

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('last_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addUniqueConstraint('users_workspace_email_unique', ['workspace_id', 'email'])
    .execute()

  await db.schema
    .createTable('team_members')
    .addColumn('team_id', 'text', (c) => cascade(c.notNull().references('teams.id')))
    .addColumn('user_id', 'text', (c) => cascade(c.notNull().references('users.id')))
    .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
    .execute()
  await db.schema.createIndex('team_members_user').on('team_members').columns(['user_id', 'team_id']).execute()

  await db.schema
    .createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('icon', 'text')
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('groups_workspace').on('groups').columns(['workspace_id', 'name']).execute()

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'text', (c) => cascade(c.notNull().references('groups.id')))
    .addColumn('user_id', 'text', (c) => cascade(c.notNull().references('users.id')))
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
    .execute()
  await db.schema.createIndex('group_members_user').on('group_members').columns(['user_id', 'group_id']).execute()

  await db.schema
    .createTable('integrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('credentials', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('integrations_workspace').on('integrations').columns(['workspace_id', 'name']).execute()

  await db.schema
    .createTable('integration_teams')
    .addColumn('integration_id', 'text', (c) => cascade(c.notNull().references('integrations.id')))
    .addColumn('team_id', 'text', (c) => cascade(c.notNull().references('teams.id')))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('integration_teams_pk', ['integration_id', 'team_id'])
    .execute()
  await db.schema.createIndex('integration_teams_team').on('integration_teams').column('team_id').execute()

  await db.schema
    .createTable('tags')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('color', 'text')
    .addColumn('integration_id', 'text', (c) => c.references('integrations.id').onDelete('set null'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('tags_workspace').on('tags').columns(['workspace_id', 'name']).execute()
  await db.schema.createIndex('tags_integration').on('tags').column('integration_id').execute()

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('user_id', 'text', (c) => cascade(c.notNull().references('users.id')))
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('last_used_at', ts)
    .addColumn('revoked_at', ts)
    .execute()
  await db.schema.createIndex('api_keys_user').on('api_keys').column('user_id').execute()

  await db.schema
    .createTable('resources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => cascade(c.notNull().references('workspaces.id')))
    .addColumn('entity_type', sortable, (c) => c.notNull())
    .addColumn('native_type', sortable)
    .addColumn('icon', 'text')
    .addColumn('url', 'text')
    .addColumn('title', sortable, (c) => c.notNull())
    .addColumn('title_full', sortable, (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('definition', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('definition_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('multiplayer_last_modified_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('multiplayer_last_modified', ts)
    .addColumn('published', flag, (c) => c.notNull().defaultTo(truthy))
    .addColumn('archived', flag, (c) => c.notNull().defaultTo(falsy))
    .addColumn('archived_at', ts)
    .addColumn('pii', flag, (c) => c.notNull().defaultTo(falsy))
    .addColumn('verified', flag, (c) => c.notNull().defaultTo(falsy))
    .addColumn('parent_id', 'text', (c) => cascade(c.references('resources.id')))
    .addColumn('integration_id', 'text', (c) => cascade(c.references('integrations.id')))
    .addColumn('external_updated_at', ts)
    .addColumn('internal_usage', big, (c) => c.notNull().defaultTo(0))
    .addColumn('external_usage', big, (c) => c.notNull().defaultTo(0))
    .addColumn('databuilder_id', 'text')
    .addColumn('search_database', sortable)
    .addColumn('search_schema', sortable)
    .addColumn('stale', flag, (c) => c.notNull().defaultTo(falsy))
    .addColumn('stale_at', ts)
    .addColumn('forced_unstale_by_user', flag, (c) => c.notNull().defaultTo(falsy))
    .addColumn('row_count', big)
    .addColumn('byte_size', big)
    .addColumn('display_metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('question_status', 'text')
    .addColumn('question_priority', 'text')
    .addColumn('question_answered_by', 'text')
    .addColumn('question_assigned_to', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('resources_type_title')
    .on('resources')
    .columns(['workspace_id', 'entity_type', 'title', 'id'])
    .execute()
  // List Resources' default order (external_usage desc, id), over everything and over one entity type.
  await db.schema
    .createIndex('resources_usage')
    .on('resources')
    .columns(['workspace_id', 'external_usage desc', 'id'])
    .execute()
  await db.schema
    .createIndex('resources_type_usage')
    .on('resources')
    .columns(['workspace_id', 'entity_type', 'external_usage desc', 'id'])
    .execute()
  await db.schema.createIndex('resources_parent').on('resources').columns(['parent_id', 'entity_type']).execute()
  await db.schema
    .createIndex('resources_integration')
    .on('resources')
    .columns(['integration_id', 'entity_type', 'title'])
    .execute()
  await db.schema
    .createIndex('resources_databuilder')
    .on('resources')
    .columns(['workspace_id', 'databuilder_id'])
    .unique()
    .execute()
  await db.schema
    .createIndex('resources_last_modified_by')
    .on('resources')
    .column('multiplayer_last_modified_by')
    .execute()

  for (const [table, target] of RELATIONS) {
    await db.schema
      .createTable(table)
      .addColumn('resource_id', 'text', (c) => cascade(c.notNull().references('resources.id')))
      .addColumn('target_id', 'text', (c) =>
        target === null ? c.notNull() : cascade(c.notNull().references(`${target}.id`)),
      )
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['resource_id', 'target_id'])
      .execute()
    await db.schema.createIndex(`${table}_target`).on(table).columns(['target_id', 'resource_id']).execute()
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table] of [...RELATIONS].reverse()) {
    await db.schema.dropTable(table).execute()
  }
  for (const table of [
    'resources',
    'api_keys',
    'tags',
    'integration_teams',
    'integrations',
    'group_members',
    'groups',
    'team_members',
    'users',
    'teams',
    'workspaces',
    'docent_meta',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
