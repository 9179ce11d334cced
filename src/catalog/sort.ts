import { type Expression, type ExpressionBuilder, type SelectQueryBuilder, sql } from 'kysely'
import type { DB } from '../db/types.ts'
import { ApiError } from '../errors.ts'
import { FIELDS, SORT_ALIASES, SORTABLE_FIELDS, type SortableField } from './fields.ts'
import { CUSTOM_PREFIX, type CustomProperties } from './filter.ts'
import { ID_TYPES, VALUE_COLUMNS, type ValueColumn } from './repository/custom-values.ts'

type SortColumn = (typeof FIELDS)[SortableField]['column']

/** The sort keys of CONTRACT §5 (catalog/fields.ts, and its aliases); `total_usage` is computed. */
const SORT_FIELDS: Record<string, SortColumn | 'total_usage'> = Object.fromEntries(
  SORTABLE_FIELDS.map((field) => [field, FIELDS[field].column]),
)
for (const [alias, field] of Object.entries(SORT_ALIASES)) SORT_FIELDS[alias] = FIELDS[field].column
SORT_FIELDS.total_usage = 'total_usage'

export const MAX_SORT_KEYS = 5

/** Columns that can be null: only these need `nulls last`, so the others can be read in index order. */
const NULLABLE = new Set<string>(SORTABLE_FIELDS.filter((f) => 'nullable' in FIELDS[f]).map((f) => FIELDS[f].column))

export interface SortKey {
  field: string
  key: SortColumn | 'total_usage' | 'custom'
  order: 'asc' | 'desc'
  /** With `key: 'custom'`: the custom property (CONTRACT §10) whose value orders. */
  property?: { id: string; column: ValueColumn }
}

export const DEFAULT_SORT: SortKey[] = [{ field: 'external_usage', key: 'external_usage', order: 'desc' }]

class SortError extends ApiError {
  constructor(where: string, message: string) {
    super('INVALID_SORT', `${where === '' ? 'sort' : where}: ${message}`)
  }
}

/**
 * Parses the `sort` query parameter into at most five keys, following `tie_breaker`. `properties`: the workspace's
 * custom properties, which `custom_properties.<name>` may name (those of one value: not select, user or resource).
 */
export function parseSort(text: string, properties?: CustomProperties): SortKey[] {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (error) {
    throw new SortError('', `is not valid JSON (${(error as Error).message})`)
  }
  const keys: SortKey[] = []
  let where = ''
  let node = input
  while (node !== null && node !== undefined) {
    if (typeof node !== 'object' || Array.isArray(node)) {
      throw new SortError(where, 'a sort must be a JSON object such as {"field": "title", "order": "asc"}')
    }
    if (keys.length === MAX_SORT_KEYS) {
      throw new SortError(where, `a sort may chain at most ${MAX_SORT_KEYS} keys`)
    }
    const { field, order, tie_breaker: tieBreaker } = node as Record<string, unknown>
    const prefix = where === '' ? '' : `${where}.`
    if (typeof field === 'string' && field.startsWith(CUSTOM_PREFIX)) {
      const name = field.slice(CUSTOM_PREFIX.length)
      const definition = properties?.get(name)
      if (definition === undefined) {
        throw new SortError(
          `${prefix}field`,
          `no custom property of this workspace is named '${name}' (GET /resource/all_v2/custom_properties lists them)`,
        )
      }
      if (ID_TYPES.includes(definition.value_type)) {
        throw new SortError(
          `${prefix}field`,
          `'${name}' is a ${definition.value_type} property, which holds a list of ids; sort on a string, number, boolean or date property`,
        )
      }
      if (order !== undefined && order !== 'asc' && order !== 'desc') {
        throw new SortError(`${prefix}order`, `must be "asc" or "desc", not ${JSON.stringify(order)}`)
      }
      const property = { id: definition.id, column: VALUE_COLUMNS[definition.value_type] }
      keys.push({ field, key: 'custom', order: order ?? 'asc', property })
      where = `${prefix}tie_breaker`
      node = tieBreaker
      continue
    }
    if (typeof field !== 'string' || !Object.hasOwn(SORT_FIELDS, field)) {
      const known = Object.keys(SORT_FIELDS).join(', ')
      throw new SortError(
        `${prefix}field`,
        typeof field === 'string'
          ? `unknown sort field '${field}'; use one of ${known}`
          : `is required; use one of ${known}`,
      )
    }
    if (order !== undefined && order !== 'asc' && order !== 'desc') {
      throw new SortError(`${prefix}order`, `must be "asc" or "desc", not ${JSON.stringify(order)}`)
    }
    keys.push({ field, key: SORT_FIELDS[field] as SortKey['key'], order: order ?? 'asc' })
    where = `${prefix}tie_breaker`
    node = tieBreaker
  }
  if (keys.length === 0) {
    throw new SortError('', 'a sort must be a JSON object such as {"field": "title", "order": "asc"}')
  }
  return keys
}

type Builder = ExpressionBuilder<DB, 'resources'>

function sortExpression(eb: Builder, { key, property }: SortKey): Expression<unknown> {
  if (property !== undefined) {
    // A property of one value has one element (position 0), found through the values' primary key.
    return sql`(select cpv.${sql.ref(property.column)} from custom_property_values cpv where cpv.resource_id = resources.id and cpv.property_id = ${property.id} and cpv.position = 0)`
  }
  return key === 'total_usage'
    ? eb(eb.ref('resources.internal_usage'), '+', eb.ref('resources.external_usage'))
    : eb.ref(`resources.${key as SortColumn}`)
}

/** Orders by the keys with nulls last in either direction, then by id. */
export function applySort<O>(
  query: SelectQueryBuilder<DB, 'resources', O>,
  keys: SortKey[],
): SelectQueryBuilder<DB, 'resources', O> {
  let sorted = query
  for (const sortKey of keys) {
    const nulls = NULLABLE.has(sortKey.key) || sortKey.key === 'custom' ? sql` nulls last` : sql``
    sorted = sorted.orderBy((eb) => sql`${sortExpression(eb, sortKey)} ${sql.raw(sortKey.order)}${nulls}`)
  }
  return sorted.orderBy('resources.id')
}
