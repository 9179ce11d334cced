import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Custom properties (CONTRACT §10): a workspace's definitions, the options of `select` properties, and the values
// set on resources. A value is one row per element (one row for a string, number, boolean or date; one row per id
// for select, user and resource values), so that each kind of value is compared through an index of its own and
// every id a value holds is a foreign key: deleting a definition, an option, a user or a resource takes the rows
// that name it with it.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const ts = pg ? sql`timestamptz(3)` : sql`text`
  const flag = pg ? sql`boolean` : sql`integer`
  const real = pg ? sql`double precision` : sql`real`
  // Compared and sorted bytewise on both engines, like every sorted text of docent.
  const sortable = pg ? sql`text collate "C"` : sql`text`

  await db.schema
    .createTable('custom_properties')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value_type', 'text', (c) => c.notNull())
    // A JSON array of entity types; empty, or holding "all", means every type.
    .addColumn('entity_types', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('integration_id', 'text', (c) => c.references('integrations.id').onDelete('set null'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addUniqueConstraint('custom_properties_workspace_name_unique', ['workspace_id', 'name'])
    .execute()
  await db.schema
    .createIndex('custom_properties_integration')
    .on('custom_properties')
    .column('integration_id')
    .execute()

  await db.schema
    .createTable('custom_property_options')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('property_id', 'text', (c) => c.notNull().references('custom_properties.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addUniqueConstraint('custom_property_options_name_unique', ['property_id', 'name'])
    .execute()

  await db.schema
    .createTable('custom_property_values')
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('property_id', 'text', (c) => c.notNull().references('custom_properties.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('text_value', sortable)
    .addColumn('number_value', real)
    .addColumn('boolean_value', flag)
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('target_id', 'text', (c) => c.references('resources.id').onDelete('cascade'))
    .addColumn('option_id', 'text', (c) => c.references('custom_property_options.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('custom_property_values_pk', ['resource_id', 'property_id', 'position'])
    .execute()
  // A definition's values (is_set, its deletion), and the values compared by a filter or a sort.
  await db.schema
    .createIndex('custom_property_values_property')
    .on('custom_property_values')
    .columns(['property_id', 'resource_id'])
    .execute()
  await db.schema
    .createIndex('custom_property_values_text')
    .on('custom_property_values')
    .columns(['property_id', 'text_value'])
    .where(sql.ref('text_value'), 'is not', null)
    .execute()
  await db.schema
    .createIndex('custom_property_values_number')
    .on('custom_property_values')
    .columns(['property_id', 'number_value'])
    .where(sql.ref('number_value'), 'is not', null)
    .execute()
  // The ids a value holds: found when what they name is deleted, and by filters.
  for (const column of ['user_id', 'target_id', 'option_id']) {
    await db.schema
      .createIndex(`custom_property_values_${column}`)
      .on('custom_property_values')
      .columns([column, 'property_id'])
      .execute()
  }
}

export async function down(): Promise<void> {
  throw new Error('the custom properties migration is not reversible; restore a backup taken before it')
}
