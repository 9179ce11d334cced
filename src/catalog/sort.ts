import { type Expression, type ExpressionBuilder, type SelectQueryBuilder, sql } from 'kysely'
import type { DB } from '../db/types.ts'
import { ApiError } from '../errors.ts'
import { FIELDS, SORT_ALIASES, SORTABLE_FIELDS, type SortableField } from './fields.ts'

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
  key: SortColumn | 'total_usage'
  order: 'asc' | 'desc'
}

export const DEFAULT_SORT: SortKey[] = [{ field: 'external_usage', key: 'external_usage', order: 'desc' }]

class SortError extends ApiError {
  constructor(where: string, message: string) {
    super('INVALID_SORT', `${where === '' ? 'sort' : where}: ${message}`)
  }
}

/** Parses the `sort` query parameter into at most five keys, following `tie_breaker`. */
export function parseSort(text: string): SortKey[] {
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

function sortExpression(eb: Builder, key: SortKey['key']): Expression<unknown> {
  return key === 'total_usage'
    ? eb(eb.ref('resources.internal_usage'), '+', eb.ref('resources.external_usage'))
    : eb.ref(`resources.${key}`)
}

/** Orders by the keys with nulls last in either direction, then by id. */
export function applySort<O>(
  query: SelectQueryBuilder<DB, 'resources', O>,
  keys: SortKey[],
): SelectQueryBuilder<DB, 'resources', O> {
  let sorted = query
  for (const { key, order } of keys) {
    const nulls = NULLABLE.has(key) ? sql` nulls last` : sql``
    sorted = sorted.orderBy((eb) => sql`${sortExpression(eb, key)} ${sql.raw(order)}${nulls}`)
  }
  return sorted.orderBy('resources.id')
}
