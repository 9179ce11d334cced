import { type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool, sql } from 'kysely'
import type { VisibleRows } from '../access/visibility.ts'
import { foldCase, inList, type ListType } from '../db/dialect.ts'
import type { DB, Engine } from '../db/types.ts'
import { parseTimestamp } from '../db/values.ts'
import { ApiError } from '../errors.ts'
import { checkJsonValue } from '../http/json-body.ts'
import {
  FIELDS,
  FILTER_ALIASES,
  FILTERABLE_LISTS,
  FILTERABLE_SCALARS,
  type FilterableList,
  type ScalarKind,
} from './fields.ts'
import {
  isDate,
  optionOf,
  type PropertyDefinition,
  VALUE_COLUMNS,
  type ValueColumn,
} from './repository/custom-values.ts'
import { RELATION_TABLES, RESOURCE_LISTS } from './repository/relations.ts'

/** What a filter may compare a field with; decides the operators and value types it accepts. */
type Kind = ScalarKind | 'list'

type Column = (typeof FIELDS)[(typeof FILTERABLE_SCALARS)[number]]['column']

/** What a filter compares a custom property's value as: by its type (CONTRACT §10). */
type CustomKind = 'text' | 'decimal' | 'boolean' | 'date' | 'ids'

export interface CustomSpec {
  kind: CustomKind
  property: {
    id: string
    /** The column of custom_property_values its elements are in. */
    column: ValueColumn
    /** Its ids are resources: compared only as the caller may see them. */
    resources: boolean
    /** A select property's definition: a filter names its options by id (any case) or by name. */
    select?: Pick<PropertyDefinition, 'name' | 'options'>
  }
}

export type FieldSpec = { kind: ScalarKind; column: Column } | { kind: 'list'; list: FilterableList } | CustomSpec

/** A workspace's custom property definitions by name: what `custom_properties.<name>` may name. */
export type CustomProperties = ReadonlyMap<string, Pick<PropertyDefinition, 'id' | 'name' | 'value_type' | 'options'>>

/** The prefix of a field that names a custom property (CONTRACT §10). */
export const CUSTOM_PREFIX = 'custom_properties.'

const CUSTOM_KINDS: Record<PropertyDefinition['value_type'], CustomKind> = {
  string: 'text',
  number: 'decimal',
  boolean: 'boolean',
  date: 'date',
  select: 'ids',
  user: 'ids',
  resource: 'ids',
}

/** The spec of `custom_properties.<name>`, or undefined when `field` names no such property. */
export function customSpec(field: string, properties: CustomProperties | undefined): CustomSpec | undefined {
  if (!field.startsWith(CUSTOM_PREFIX)) return undefined
  const definition = properties?.get(field.slice(CUSTOM_PREFIX.length))
  if (definition === undefined) return undefined
  const type = definition.value_type
  return {
    kind: CUSTOM_KINDS[type],
    property: {
      id: definition.id,
      column: VALUE_COLUMNS[type],
      resources: type === 'resource',
      ...(type === 'select' ? { select: definition } : {}),
    },
  }
}

/** The fields a filter may name (CONTRACT §5), and what each one is: catalog/fields.ts, and its aliases. */
export const FILTER_FIELDS: Record<string, FieldSpec> = {
  ...Object.fromEntries(
    FILTERABLE_SCALARS.map((field) => {
      const { filter, column } = FIELDS[field]
      return [field, { kind: filter, column }]
    }),
  ),
  ...Object.fromEntries(FILTERABLE_LISTS.map((field) => [field, { kind: 'list', list: field }])),
}
for (const [alias, field] of Object.entries(FILTER_ALIASES)) FILTER_FIELDS[alias] = FILTER_FIELDS[field] as FieldSpec

export const MAX_DEPTH = 8
export const MAX_OPERANDS = 100
export const MAX_IN_VALUES = 1000
/** A `contains` value longer than any title or phrase a person searches for is refused, not matched slowly. */
export const MAX_CONTAINS_LENGTH = 400
/** Bounds the whole tree, so that depth × operands cannot build a statement of millions of terms. */
export const MAX_NODES = 1000

type Value = string | number | boolean

export type Filter =
  | { operator: 'and' | 'or'; operands: Filter[] }
  | { operator: 'not'; operand: Filter }
  | { operator: 'exact'; field: string; spec: FieldSpec; value: Value }
  | { operator: 'in'; field: string; spec: FieldSpec; values: Value[] }
  | { operator: 'contains'; field: string; spec: FieldSpec; value: string }
  | { operator: 'is_set'; field: string; spec: FieldSpec }

const LEAF_OPERATORS = ['exact', 'contains', 'in', 'is_set']
const LOGICAL_OPERATORS = ['and', 'or', 'not']

class FilterError extends ApiError {
  constructor(where: string, message: string) {
    super('INVALID_FILTER', where === '' ? `filter: ${message}` : `${where}: ${message}`)
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`
}

const join = (path: string, key: string) =>
  path === '' ? key : key.startsWith('[') ? `${path}${key}` : `${path}.${key}`

/** A value of the field's kind; timestamps are normalized to the stored ISO form. */
function checkValue(spec: FieldSpec, field: string, value: unknown, where: string): Value {
  const kind = spec.kind
  if (kind === 'boolean') {
    if (typeof value !== 'boolean')
      throw new FilterError(where, `field '${field}' takes true or false, not ${describe(value)}`)
    return value
  }
  if (kind === 'number') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new FilterError(where, `field '${field}' takes a whole number, not ${describe(value)}`)
    }
    return value
  }
  if (kind === 'decimal') {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new FilterError(where, `field '${field}' takes a number, not ${describe(value)}`)
    }
    return value
  }
  if (typeof value !== 'string') {
    throw new FilterError(where, `field '${field}' takes a string, not ${describe(value)}`)
  }
  if (value.includes('\u0000')) {
    throw new FilterError(where, 'text values must not contain NUL characters')
  }
  if (kind === 'date' && !isDate(value)) {
    throw new FilterError(where, `field '${field}' takes a date such as 2026-01-31, not ${describe(value)}`)
  }
  if (kind === 'ids' && 'property' in spec) {
    const select = spec.property.select
    if (select === undefined) return value.toLowerCase() // user and resource ids are stored in lower case
    const option = optionOf(select, value)
    if (option === undefined) {
      throw new FilterError(where, `${describe(value)} is no option of '${select.name}' (an option's id or name)`)
    }
    return option
  }
  if (kind === 'timestamp') {
    const time = parseTimestamp(value)
    if (time === undefined) {
      throw new FilterError(
        where,
        `field '${field}' takes an ISO 8601 timestamp such as 2026-01-31T12:00:00Z, not ${describe(value)}`,
      )
    }
    return time
  }
  return value
}

interface Budget {
  nodes: number
  properties: CustomProperties | undefined
}

function checkNode(input: unknown, where: string, depth: number, budget: Budget): Filter {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FilterError(where, `a filter must be a JSON object, not ${describe(input)}`)
  }
  budget.nodes += 1
  if (budget.nodes > MAX_NODES) {
    throw new FilterError(where, `a filter may have at most ${MAX_NODES} conditions in all`)
  }
  const node = input as Record<string, unknown>
  const operator = node.operator
  if (typeof operator !== 'string') {
    throw new FilterError(
      join(where, 'operator'),
      `is required and must be one of ${[...LEAF_OPERATORS, ...LOGICAL_OPERATORS].join(', ')}`,
    )
  }
  if (LOGICAL_OPERATORS.includes(operator)) {
    if (depth >= MAX_DEPTH) {
      throw new FilterError(where, `filters may nest and/or/not at most ${MAX_DEPTH} deep`)
    }
    const operands = node.operands
    const at = join(where, 'operands')
    if (!Array.isArray(operands)) {
      throw new FilterError(at, `'${operator}' needs an array of filters, not ${describe(operands)}`)
    }
    if (operator === 'not') {
      if (operands.length !== 1) {
        throw new FilterError(at, `'not' takes exactly one operand, not ${operands.length}`)
      }
      return { operator, operand: checkNode(operands[0], join(at, '[0]'), depth + 1, budget) }
    }
    if (operands.length === 0) {
      throw new FilterError(at, `'${operator}' needs at least one operand`)
    }
    if (operands.length > MAX_OPERANDS) {
      throw new FilterError(at, `'${operator}' takes at most ${MAX_OPERANDS} operands, not ${operands.length}`)
    }
    return {
      operator: operator as 'and' | 'or',
      operands: operands.map((operand, i) => checkNode(operand, join(at, `[${i}]`), depth + 1, budget)),
    }
  }
  if (!LEAF_OPERATORS.includes(operator)) {
    throw new FilterError(
      join(where, 'operator'),
      `unknown operator '${operator}'; use one of ${[...LEAF_OPERATORS, ...LOGICAL_OPERATORS].join(', ')}`,
    )
  }
  const field = node.field
  if (typeof field !== 'string') {
    throw new FilterError(join(where, 'field'), `'${operator}' needs a field name, not ${describe(field)}`)
  }
  const spec = Object.hasOwn(FILTER_FIELDS, field) ? FILTER_FIELDS[field] : customSpec(field, budget.properties)
  if (spec === undefined) {
    throw new FilterError(
      join(where, 'field'),
      field.startsWith(CUSTOM_PREFIX)
        ? `no custom property of this workspace is named '${field.slice(CUSTOM_PREFIX.length)}' (GET /resource/all_v2/custom_properties lists them)`
        : `unknown field '${field}'`,
    )
  }
  const at = join(where, 'value')
  switch (operator) {
    case 'is_set':
      return { operator, field, spec }
    case 'contains':
      if (spec.kind !== 'text') {
        throw new FilterError(
          join(where, 'operator'),
          `'contains' applies to text fields, and '${field}' is a ${spec.kind} field`,
        )
      }
      {
        const value = checkValue(spec, field, node.value, at) as string
        if (value.length > MAX_CONTAINS_LENGTH) {
          throw new FilterError(
            at,
            `'contains' takes at most ${MAX_CONTAINS_LENGTH} characters, not ${value.length}; search for a shorter part`,
          )
        }
        return { operator, field, spec, value }
      }
    case 'exact':
      return { operator, field, spec, value: checkValue(spec, field, node.value, at) }
    default: {
      const values = node.value
      if (!Array.isArray(values)) {
        throw new FilterError(at, `'in' takes an array of values, not ${describe(values)}`)
      }
      if (values.length === 0) {
        throw new FilterError(at, `'in' needs at least one value`)
      }
      if (values.length > MAX_IN_VALUES) {
        throw new FilterError(at, `'in' takes at most ${MAX_IN_VALUES} values, not ${values.length}`)
      }
      return {
        operator: 'in',
        field,
        spec,
        values: values.map((value, i) => checkValue(spec, field, value, join(at, `[${i}]`))),
      }
    }
  }
}

/**
 * Parses the `filter` query parameter (JSON text) into a checked tree; 400 INVALID_FILTER says where it fails.
 * `properties`: the workspace's custom properties, which `custom_properties.<name>` may name.
 */
export function parseFilter(text: string, properties?: CustomProperties): Filter {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (error) {
    throw new FilterError('', `is not valid JSON (${(error as Error).message})`)
  }
  // 1e309, 2^53 + 1 and lone surrogates parse, but no engine would compare what the client sent.
  checkJsonValue(input, { code: 'INVALID_FILTER', root: 'filter' })
  return checkNode(input, '', 0, { nodes: 0, properties })
}

type Builder = ExpressionBuilder<DB, 'resources'>

/** The text fields search looks in (`title_full` holds the title). */
export const SEARCHABLE = ['title', 'title_full', 'description', 'definition'] as const
export type Searchable = (typeof SEARCHABLE)[number]

/** `text` folded, with `%`, `_` and the escape character matching only themselves in a LIKE pattern. */
function likeLiteral(text: string): string {
  return text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)
}

/** The folded `column` holds `value`: `contains` as CONTRACT §5 says, the same on both engines. */
export function foldedHolds(engine: Engine, column: Expression<unknown>, value: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${foldCase(engine, column)} like ${`%${likeLiteral(value)}%`} escape '\\'`
}

/** The folded `column` begins with `value`. */
export function foldedStarts(engine: Engine, column: Expression<unknown>, value: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${foldCase(engine, column)} like ${`${likeLiteral(value)}%`} escape '\\'`
}

const LIST_TYPES: Record<Exclude<Kind | CustomKind, 'list'>, ListType> = {
  text: 'text',
  number: 'bigint',
  boolean: 'boolean',
  timestamp: 'timestamptz',
  decimal: 'float8',
  date: 'text',
  ids: 'text',
}

function compileLeaf(
  eb: Builder,
  node: Exclude<Filter, { operator: 'and' | 'or' | 'not' }>,
  engine: Engine,
  narrowed: boolean,
  visible: VisibleRows | undefined,
): Expression<SqlBool> {
  const spec = node.spec
  if ('property' in spec) return compileCustom(eb, node, spec, engine, visible)
  if (spec.kind === 'list') {
    // `id in (select resource_id … where target_id …)` lets the planner start from the relation's target index.
    const table = RELATION_TABLES[spec.list]
    const all = eb.selectFrom(table).select(`${table}.resource_id`)
    // A list of resources holds, for this caller, only the ones it may see: a hidden target matches nothing.
    const members =
      visible === undefined || !RESOURCE_LISTS.includes(spec.list)
        ? all
        : all.where((wb) =>
            wb.exists(
              wb
                .selectFrom('resources as linked')
                .select(sql.lit(1).as('one'))
                .whereRef('linked.id', '=', sql.ref(`${table}.target_id`) as never)
                .where(visible('linked')),
            ),
          )
    const id = eb.ref('resources.id')
    if (node.operator === 'is_set') return eb(id, 'in', members)
    if (node.operator === 'exact') return eb(id, 'in', members.where(`${table}.target_id`, '=', String(node.value)))
    if (node.operator === 'in') {
      return eb(id, 'in', members.where(inList(engine, sql.ref(`${table}.target_id`), node.values.map(String))))
    }
    throw new Error('contains on a list field is refused by parseFilter')
  }
  const column = eb.ref(`resources.${spec.column}`)
  // `column is not null and …` keeps every leaf true or false, never NULL, so `not` means what it says.
  const present = eb(column, 'is not', null)
  switch (node.operator) {
    case 'is_set':
      return spec.kind === 'text' ? eb.and([present, eb(column, '<>', '')]) : present
    case 'exact':
      return eb.and([present, eb(column, '=', node.value)])
    case 'in':
      return eb.and([present, inList(engine, column, node.values, LIST_TYPES[spec.kind])])
    case 'contains': {
      const like = foldedHolds(engine, column, node.value)
      // The search index narrows (textIndexed); the LIKE decides, so CONTRACT §5 holds as it is.
      const indexed = narrowed ? undefined : textIndexed(eb, engine, [spec.column], [node.value])
      return eb.and(indexed === undefined ? [present, like] : [indexed, present, like])
    }
  }
}

/**
 * A condition on a custom property: `resources.id in (the resources whose value of it matches)`, from the index of
 * its column (migration 0009). A resource without a value matches no leaf but `not`; a resource value holds, for
 * this caller, only the resources it may see.
 */
function compileCustom(
  eb: Builder,
  node: Exclude<Filter, { operator: 'and' | 'or' | 'not' }>,
  spec: CustomSpec,
  engine: Engine,
  visible: VisibleRows | undefined,
): Expression<SqlBool> {
  const { id, column, resources } = spec.property
  let members = eb
    .selectFrom('custom_property_values as cpv')
    .select('cpv.resource_id')
    .where('cpv.property_id', '=', id)
  if (resources && visible !== undefined) {
    members = members.where((wb) =>
      wb.exists(
        wb
          .selectFrom('resources as linked')
          .select(sql.lit(1).as('one'))
          .whereRef('linked.id', '=', 'cpv.target_id')
          .where(visible('linked')),
      ),
    )
  }
  const value = sql.ref(`cpv.${column}`)
  const resourceId = eb.ref('resources.id')
  switch (node.operator) {
    case 'is_set':
      return eb(resourceId, 'in', spec.kind === 'text' ? members.where(sql<SqlBool>`${value} <> ''`) : members)
    case 'exact':
      return eb(resourceId, 'in', members.where(sql<SqlBool>`${value} = ${node.value}`))
    case 'in':
      return eb(resourceId, 'in', members.where(inList(engine, value, node.values, LIST_TYPES[spec.kind])))
    case 'contains':
      return eb(resourceId, 'in', members.where(foldedHolds(engine, value, node.value)))
  }
}

/** The fields with a trigram index of their own (migration 0005); `title_full` is found through `title`. */
const TEXT_INDEXED: readonly string[] = ['title', 'description', 'definition']

/**
 * The rows whose folded text in one of `columns` may hold one of `values`, from the search index (migration 0005;
 * DEVELOPERS.md "Search"), or undefined when the index cannot narrow: a column that is not indexed, or a value
 * too short for trigrams. It finds every row the LIKE would, and perhaps more; the LIKE decides.
 * - `title_full` (`a.b.c`, the titles of the path joined by dots) is found through `title`: a value without a dot
 *   lies within one title of the path, so the rows are those whose title holds it and everything under them (one
 *   range of the path index each: `subtreesOfTitles`, `addresses`); a value with dots has a longest dot-free piece that lies within
 *   one title, and the rows are found the same way from that piece.
 * - SQLite: `title`, `description` and `definition` from their FTS5 trigram tables, which hold the text folded as
 *   `lower()` folds it, and the resources written since the tables were brought up to date.
 * - PostgreSQL: with `title_full`, the same subtrees (titles through their trigram index) and the other columns
 *   through theirs, as row addresses (`ctid`) read in the statement's own snapshot: a path's own trigram index
 *   is lossy on common names (144,000 candidate rows rechecked for 11,000 matches at 1,000,000 resources). Without
 *   `title_full`: undefined, the planner uses the trigram indexes for the LIKE by itself.
 */
export function textIndexed(
  eb: Builder,
  engine: Engine,
  columns: readonly string[],
  values: readonly string[],
): Expression<SqlBool> | undefined {
  const folded = values.map((value) => value.toLowerCase())
  if (columns.some((column) => column !== 'title_full' && !TEXT_INDEXED.includes(column))) return undefined
  if (folded.some((value) => characters(value) < 3)) return undefined
  if (engine !== 'sqlite' && !columns.includes('title_full')) return undefined
  const direct = columns.filter((column) => column !== 'title_full')
  const pieces = folded.map(longestPiece)
  if (columns.includes('title_full')) {
    if (pieces.some((piece) => characters(piece) < 3)) return undefined
    // Titles are folded one by one, a path as a whole; only a Greek sigma folds differently in the two (a final
    // `ς` before a dot in a title, `σ` in the middle of a path). Such a value is compared on every row.
    if (folded.some((value) => /[σς]/u.test(value))) return undefined
  }
  if (engine === 'postgres')
    return eb(sql.ref('resources.ctid'), '=', sql`any(array(${addresses(direct, folded, pieces)}))`)
  const parts: Expression<SqlBool>[] = []
  if (columns.includes('title_full')) parts.push(eb(sql.ref('resources.rowid'), 'in', subtreesOfTitles(eb, pieces)))
  if (direct.length > 0) parts.push(eb(eb.ref('resources.id'), 'in', ftsMatches(eb, direct, folded)))
  return parts.length === 1 ? (parts[0] as Expression<SqlBool>) : eb.or(parts)
}

/** PostgreSQL's path index holds the paths' first 500 characters (migration 0013: a B-tree entry is bounded). */
const PATH_PREFIX = 500

/**
 * PostgreSQL: the addresses (`ctid`) of the resources whose title holds one of `pieces` and of every resource
 * under them, and of those whose `direct` columns hold one of `folded`, each part through its trigram or path
 * index. Read in the statement's snapshot, so the addresses are those of the row versions it sees. The path range
 * is compared on the indexed prefixes, upper bound included: a path `p.…` has the prefix of `p.`, or, when `p`
 * is 500 characters or longer, the same prefix as `p` itself; both lie within the bounds, and what else does
 * (`p/…`, or paths sharing a long prefix) is dropped by the comparison.
 */
function addresses(direct: readonly string[], folded: readonly string[], pieces: readonly string[]) {
  const holds = (table: string, column: string, texts: readonly string[]) =>
    sql.join(
      texts.map((text) => foldedHolds('postgres', sql.ref(`${table}.${column}`), text)),
      sql` or `,
    )
  const others =
    direct.length === 0
      ? sql``
      : sql` union all select x.ctid from resources x where ${sql.join(
          direct.map((column) => holds('x', column, folded)),
          sql` or `,
        )}`
  return sql`with titled (address, path) as (
      select t.ctid, t.title_full from resources t where ${holds('t', 'title', pieces)}
    )
    select address from titled
    union all
    select d.ctid from titled join resources d
      on left(d.title_full, ${sql.lit(PATH_PREFIX)}) >= left(titled.path || '.', ${sql.lit(PATH_PREFIX)})
      and left(d.title_full, ${sql.lit(PATH_PREFIX)}) <= left(titled.path || '/', ${sql.lit(PATH_PREFIX)})${others}`
}

/** The longest run of `text` without a dot. */
const longestPiece = (text: string) => text.split('.').reduce((a, b) => (characters(b) > characters(a) ? b : a), '')

/** How many characters (code points) `text` has. */
const characters = (text: string) => [...text].length

/** SQLite: the resources whose folded text in one of `columns` holds one of `folded`, by FTS5 (one query a table). */
function ftsMatches(eb: Builder, columns: readonly string[], folded: readonly string[]) {
  const query = folded.map((value) => `"${value.replaceAll('"', '""')}"`).join(' OR ')
  const keys = sql.join(
    [
      ...columns.map((column) => {
        const table = sql.table(`resource_fts_${column}`)
        return sql`select rowid from ${table} where ${table} match ${query}`
      }),
      // Resources written since the tables were last brought up to date (src/search/index-sqlite.ts): their text
      // is compared as it is now.
      sql`select key from search_pending where field in (${sql.join(columns.map((column) => sql.lit(column)))})`,
    ],
    sql` union `,
  )
  return eb
    .selectFrom('resource_search_keys')
    .select('resource_search_keys.resource_id')
    .where('resource_search_keys.key', 'in', sql<number>`(${keys})`)
}

/**
 * SQLite: the row ids of the resources whose title holds one of `pieces` (folded), and of every resource under
 * them: those whose path begins with such a title's path and a dot, one range of the path index each (a
 * resource's path is always its parent's, a dot and its title: src/catalog/titles.ts, and a rename rewrites the
 * paths below). A range may hold a resource of another subtree with the same path; it holds the piece too, and
 * the exact comparison that follows decides.
 */
function subtreesOfTitles(eb: Builder, pieces: readonly string[]) {
  return sql<number>`(
    with titled (rid, path) as (
      select t.rowid, t.title_full from resources t where t.id in (${ftsMatches(eb, ['title'], pieces)})
    )
    select rid from titled
    union all
    select d.rowid from titled join resources d on d.title_full >= titled.path || '.' and d.title_full < titled.path || '/'
  )`
}

/**
 * Whether a condition picks few rows through an index of its own: an `exact` or `in` on an id, a parent, an
 * integration or a list field. Beside such a condition a text index only adds work (SQLite would start from the
 * text index's rows and look each up), so `contains` then leaves it out.
 */
export function narrows(node: Filter | undefined): boolean {
  if (node === undefined) return false
  if (node.operator === 'and') return node.operands.some(narrows)
  if (node.operator !== 'exact' && node.operator !== 'in') return false
  const spec = node.spec
  if ('property' in spec) return spec.kind !== 'boolean'
  return spec.kind === 'list' || NARROWING_COLUMNS.includes(spec.column)
}

const NARROWING_COLUMNS: string[] = ['id', 'parent_id', 'integration_id']

/**
 * The filter as a SQL condition on `resources`, with every value bound as a parameter. `narrowed`: a condition
 * joined to it by `and` narrows the rows already (see `narrows`). `visible`: what the caller may see (absent: all),
 * which a list of resources (`collections`, `sources`) is compared on, as the caller is shown it (CONTRACT §7).
 */
export function compileFilter(
  eb: Builder,
  node: Filter,
  engine: Engine,
  narrowed = false,
  visible?: VisibleRows,
): Expression<SqlBool> {
  switch (node.operator) {
    case 'and': {
      const inner = narrowed || narrows(node)
      return eb.and(node.operands.map((operand) => compileFilter(eb, operand, engine, inner, visible)))
    }
    case 'or':
      return eb.or(node.operands.map((operand) => compileFilter(eb, operand, engine, narrowed, visible)))
    case 'not':
      // The rows a condition excludes cannot be found through an index of what they hold.
      return eb.not(compileFilter(eb, node.operand, engine, true, visible))
    default:
      return compileLeaf(eb, node, engine, narrowed, visible)
  }
}
