import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { engineOf } from '../../db/dialect.ts'
import type { DB } from '../../db/types.ts'
import { toIso } from '../../db/values.ts'

/** Custom properties (CONTRACT §10): the definitions of a workspace, their options, and the values on resources. */

export const VALUE_TYPES = ['string', 'number', 'boolean', 'date', 'select', 'user', 'resource'] as const
export type ValueType = (typeof VALUE_TYPES)[number]

/** The column of `custom_property_values` that holds each element of a value of each type. */
export const VALUE_COLUMNS = {
  string: 'text_value',
  date: 'text_value',
  number: 'number_value',
  boolean: 'boolean_value',
  select: 'option_id',
  user: 'user_id',
  resource: 'target_id',
} as const satisfies Record<ValueType, string>
export type ValueColumn = (typeof VALUE_COLUMNS)[ValueType]

/** A calendar date `YYYY-MM-DD` that exists (years 0001–9999): what a date property holds. */
export function isDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (match === null) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (year < 1 || month < 1 || month > 12 || day < 1) return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
  return day <= (days[month - 1] as number)
}

/** The option of a select property that `text` names, by id (any case) or by name; undefined when none does. */
export function optionOf(definition: Pick<PropertyDefinition, 'options'>, text: string): string | undefined {
  const lower = text.toLowerCase()
  return (definition.options.find((option) => option.id === lower) ?? definition.options.find((o) => o.name === text))
    ?.id
}

/** The types whose value is a list of ids. */
export const ID_TYPES: readonly ValueType[] = ['select', 'user', 'resource']

export interface PropertyOption {
  id: string
  name: string
}

export interface PropertyDefinition {
  id: string
  name: string
  entity_types: string[]
  value_type: ValueType
  integration: { id: string; name: string; type: string } | null
  /** The choices of a `select` property; empty for the other types. */
  options: PropertyOption[]
  created_at: string
  updated_at: string
}

/** A value as the API shows it: text (string, date), a number, a boolean, or ids (select, user, resource). */
export type CustomValue = string | number | boolean | string[]
/** The values set on one resource, by property name. */
export type CustomValues = Record<string, CustomValue>

/** The stored form of one element of a value, as `valueRow` encodes it for reading: [name, type, text, number, flag, id]. */
type Encoded = [string, string, string | null, number | null, boolean | number | null, string | null]

/** Builds the values of each resource from its stored elements (in position order), names in code-point order. */
export function decodeValues(elements: readonly Encoded[]): CustomValues {
  const byName = new Map<string, CustomValue>()
  for (const [name, type, text, number, flag, id] of elements) {
    if (ID_TYPES.includes(type as ValueType)) {
      const ids = (byName.get(name) as string[] | undefined) ?? []
      if (id !== null) ids.push(id)
      byName.set(name, ids)
    } else if (type === 'number') {
      byName.set(name, Number(number))
    } else if (type === 'boolean') {
      byName.set(name, Boolean(flag))
    } else {
      byName.set(name, text ?? '')
    }
  }
  const names = [...byName.keys()].sort(byCodePoint)
  // fromEntries defines each name as an own property, whatever it is called.
  return Object.fromEntries(names.map((name) => [name, byName.get(name) as CustomValue]))
}

/**
 * One element of a value, encoded as JSON text for the reads that fetch values beside other rows (the page's
 * UNION ALL, a resource's one statement): see `Encoded`. `v` is `custom_property_values`, `p` its definition.
 */
export const ENCODED_ELEMENT = {
  postgres:
    'json_build_array(p.name, p.value_type, v.text_value, v.number_value, v.boolean_value, coalesce(v.option_id, v.user_id, v.target_id))::text',
  sqlite:
    'json_array(p.name, p.value_type, v.text_value, v.number_value, v.boolean_value, coalesce(v.option_id, v.user_id, v.target_id))',
} as const

export function parseEncoded(text: string): Encoded {
  return JSON.parse(text) as Encoded
}

interface DefinitionRow {
  id: string
  name: string
  value_type: string
  entity_types: string
  integration_id: string | null
  integration_name: string | null
  integration_type: string | null
  created_at: unknown
  updated_at: unknown
}

/** Code-point order, the same whatever the engine or the locale. */
export function byCodePoint(a: string, b: string): number {
  // UTF-16 code units order as code points do, but for surrogates (characters past U+FFFF): UTF-8 bytes compare so.
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b))
  return a < b ? -1 : a > b ? 1 : 0
}

const SURROGATE = /[\uD800-\uDFFF]/

export interface DefinitionQuery {
  /** Only these definitions (by id), or only these names. */
  ids?: readonly string[]
  names?: readonly string[]
  /**
   * PostgreSQL keeps the rows locked until the transaction ends, taken in id order: `share` in a write that sets
   * values (so that a value is written under the definition it was checked against: a change of the definition
   * waits for the write, or the write reads the changed definition), `update` in a change of the definition.
   */
  lock?: 'share' | 'update'
  /**
   * The reader is not an admin: a definition's integration is shown only when it is one of the reader's teams'
   * (integrationScope in access/rules.ts); otherwise `integration` is null.
   */
  memberId?: string | undefined
}

/** Definitions of the workspace, by name (code-point order), with their options. */
export async function listDefinitions(
  db: Kysely<DB>,
  workspaceId: string,
  query: DefinitionQuery = {},
): Promise<PropertyDefinition[]> {
  const memberId = query.memberId
  let select = db
    .selectFrom('custom_properties as p')
    .leftJoin('integrations as i', (join) => {
      const on = join.onRef('i.id', '=', 'p.integration_id')
      if (memberId === undefined) return on
      return on.on((eb) =>
        eb.exists(
          eb
            .selectFrom('integration_teams as it')
            .innerJoin('team_members as tm', 'tm.team_id', 'it.team_id')
            .select(sql.lit(1).as('one'))
            .whereRef('it.integration_id', '=', 'i.id')
            .where('tm.user_id', '=', memberId),
        ),
      )
    })
    .select([
      'p.id',
      'p.name',
      'p.value_type',
      'p.entity_types',
      'i.id as integration_id',
      'i.name as integration_name',
      'i.type as integration_type',
      'p.created_at',
      'p.updated_at',
    ])
    .where('p.workspace_id', '=', workspaceId)
  if (query.ids !== undefined) {
    if (query.ids.length === 0) return []
    select = select.where('p.id', 'in', query.ids)
  }
  if (query.names !== undefined) {
    if (query.names.length === 0) return []
    select = select.where('p.name', 'in', query.names)
  }
  if (query.lock !== undefined && engineOf(db) === 'postgres') {
    select = (query.lock === 'share' ? select.forShare('p') : select.forUpdate('p')).orderBy('p.id')
  }
  const rows = (await select.execute()) as DefinitionRow[]
  rows.sort((a, b) => byCodePoint(a.name, b.name))
  return withOptions(db, rows)
}

async function withOptions(db: Kysely<DB>, rows: DefinitionRow[]): Promise<PropertyDefinition[]> {
  const selects = rows.filter((row) => row.value_type === 'select').map((row) => row.id)
  const options = new Map<string, PropertyOption[]>()
  if (selects.length > 0) {
    const found = await db
      .selectFrom('custom_property_options')
      .select(['id', 'property_id', 'name'])
      .where('property_id', 'in', selects)
      .orderBy('position')
      .execute()
    for (const option of found) {
      const list = options.get(option.property_id) ?? []
      list.push({ id: option.id, name: option.name })
      options.set(option.property_id, list)
    }
  }
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    entity_types: JSON.parse(row.entity_types) as string[],
    value_type: row.value_type as ValueType,
    integration:
      row.integration_id === null
        ? null
        : { id: row.integration_id, name: row.integration_name ?? '', type: row.integration_type ?? '' },
    options: options.get(row.id) ?? [],
    created_at: toIso(row.created_at as string) as string,
    updated_at: toIso(row.updated_at as string) as string,
  }))
}

/** One definition of the workspace (see DefinitionQuery for `lock` and `memberId`). */
export async function findDefinition(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  query: Omit<DefinitionQuery, 'ids' | 'names'> = {},
): Promise<PropertyDefinition | undefined> {
  return (await listDefinitions(db, workspaceId, { ...query, ids: [id] }))[0]
}

export async function countDefinitions(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('custom_properties')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

export interface DefinitionValues {
  name: string
  value_type: ValueType
  entity_types: string[]
  integration_id: string | null
}

export async function insertDefinition(
  db: Kysely<DB>,
  workspaceId: string,
  values: DefinitionValues,
  options: string[],
  now: string,
): Promise<string> {
  const id = randomUUID()
  await db
    .insertInto('custom_properties')
    .values({
      id,
      workspace_id: workspaceId,
      name: values.name,
      value_type: values.value_type,
      entity_types: JSON.stringify(values.entity_types),
      integration_id: values.integration_id,
      created_at: now,
      updated_at: now,
    })
    .execute()
  await writeOptions(
    db,
    id,
    options.map((name) => ({ name })),
  )
  return id
}

export async function updateDefinition(
  db: Kysely<DB>,
  id: string,
  values: Partial<DefinitionValues>,
  now: string,
): Promise<void> {
  const { entity_types: entityTypes, ...rest } = values
  await db
    .updateTable('custom_properties')
    .set({
      ...rest,
      ...(entityTypes === undefined ? {} : { entity_types: JSON.stringify(entityTypes) }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute()
}

/**
 * The options of a select property become `options`, in that order: one with an id keeps it (and so the values
 * that hold it); one without gets a new id; an option left out is deleted, and the values holding it with it.
 */
export async function writeOptions(
  db: Kysely<DB>,
  propertyId: string,
  options: { id?: string | undefined; name: string }[],
): Promise<void> {
  const kept = options.flatMap((option) => (option.id === undefined ? [] : [option.id]))
  let removed = db.deleteFrom('custom_property_options').where('property_id', '=', propertyId)
  if (kept.length > 0) removed = removed.where('id', 'not in', kept)
  await removed.execute()
  // Names are unique per property: move the kept ones out of the way before any takes another's name.
  for (const id of kept) {
    await db
      .updateTable('custom_property_options')
      .set({ name: `\u0001${id}` })
      .where('id', '=', id)
      .execute()
  }
  for (const [position, option] of options.entries()) {
    if (option.id === undefined) {
      await db
        .insertInto('custom_property_options')
        .values({ id: randomUUID(), property_id: propertyId, name: option.name, position })
        .execute()
    } else {
      await db
        .updateTable('custom_property_options')
        .set({ name: option.name, position })
        .where('id', '=', option.id)
        .execute()
    }
  }
}

export async function deleteDefinition(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('custom_properties')
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** How many resources hold a value of the property: of any type, or of a type outside `entityTypes`. */
export async function countValues(db: Kysely<DB>, propertyId: string, outside?: string[]): Promise<number> {
  let query = db
    .selectFrom('custom_property_values as v')
    .select(sql<number>`count(distinct v.resource_id)`.as('n'))
    .where('v.property_id', '=', propertyId)
  if (outside !== undefined) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('resources')
          .select(sql.lit(1).as('one'))
          .whereRef('resources.id', '=', 'v.resource_id')
          .$if(outside.length > 0, (q) => q.where('resources.entity_type', 'not in', outside)),
      ),
    )
  }
  const row = await query.executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** What is stored for one element of a value: the column of its type and what it holds. */
export type Element = { column: ValueColumn; value: string | number | boolean }

/** Replaces the value of one property on one resource with `elements` (none: the value is cleared). */
export async function writeValue(
  db: Kysely<DB>,
  resourceId: string,
  propertyId: string,
  elements: readonly Element[],
): Promise<void> {
  await db
    .deleteFrom('custom_property_values')
    .where('resource_id', '=', resourceId)
    .where('property_id', '=', propertyId)
    .execute()
  if (elements.length === 0) return
  await db
    .insertInto('custom_property_values')
    .values(
      elements.map((element, position) => ({
        resource_id: resourceId,
        property_id: propertyId,
        position,
        text_value: null,
        number_value: null,
        boolean_value: null,
        user_id: null,
        target_id: null,
        option_id: null,
        [element.column]: element.value,
      })),
    )
    .execute()
}

/** The ids among `ids` that a resource value of this resource holds now (read to keep the ones a caller cannot see). */
export async function findValueIds(db: Kysely<DB>, resourceId: string, propertyId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('custom_property_values')
    .select(['target_id', 'option_id', 'user_id'])
    .where('resource_id', '=', resourceId)
    .where('property_id', '=', propertyId)
    .orderBy('position')
    .execute()
  return rows.map((row) => row.target_id ?? row.option_id ?? row.user_id).filter((id) => id !== null)
}
