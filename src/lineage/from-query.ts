import type { Principal } from '../access/principal.ts'
import { visibleResources } from '../access/visibility.ts'
import type { Store } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { findNamedColumns, findNamedTables, type NamedTable } from './repository.ts'
import { DIALECTS, readsOf, SqlReadError } from './sql-reads.ts'

/** CONTRACT §11: the tables (and columns) a SQL statement reads, matched to the catalog by their path. */

export interface SourceTable {
  id: string | null
  title: string
  schema_name: string | null
  database_name: string | null
  native_type: string | null
  integration_id: string | null
}

export interface ColumnLineage {
  id: string | null
  table: string | null
  column: string
  table_id: string | null
}

export interface FromQuery {
  sql: string
  dialect?: string | undefined
  /** Where an unqualified name is looked for. */
  database?: string | undefined
  schema?: string | undefined
  /** Only resources of this integration. */
  integration?: string | undefined
}

const same = (a: string | null | undefined, b: string | null | undefined) =>
  a !== null && a !== undefined && b !== null && b !== undefined && a.toLowerCase() === b.toLowerCase()

/**
 * The best catalog table for a name: its title (exact case first), in the schema written or else the default one
 * (`schema.table` in MySQL names a database: either matches), in the default database when one is given; ties go
 * to the most used, then the path.
 */
function bestMatch(
  candidates: NamedTable[],
  name: { schema: string | null; table: string },
  defaults: { database?: string | undefined; schema?: string | undefined },
): NamedTable | undefined {
  const schema = name.schema ?? defaults.schema
  const fits = candidates.filter(
    (c) =>
      same(c.title, name.table) &&
      (schema === undefined ||
        same(c.search_schema, schema) ||
        (name.schema !== null && same(c.search_database, schema))) &&
      (defaults.database === undefined || name.schema !== null || same(c.search_database, defaults.database)),
  )
  const score = (c: NamedTable) => (c.title === name.table ? 1 : 0)
  return fits.sort(
    (a, b) =>
      score(b) - score(a) ||
      Number(b.external_usage) - Number(a.external_usage) ||
      (a.title_full < b.title_full ? -1 : a.title_full > b.title_full ? 1 : a.id < b.id ? -1 : 1),
  )[0]
}

export async function lineageFromQuery(
  store: Store,
  principal: Principal,
  query: FromQuery,
): Promise<{ sql: string; source_tables: SourceTable[]; column_lineages: ColumnLineage[] }> {
  const dialect = (query.dialect ?? 'postgresql').toLowerCase()
  if (!Object.hasOwn(DIALECTS, dialect)) {
    throw fieldError(
      'dialect',
      `must be one of ${Object.keys(DIALECTS).join(', ')}, not ${JSON.stringify(query.dialect)}`,
    )
  }
  if (query.sql.trim() === '') throw fieldError('sql', 'is required: the SQL statement to read')
  let reads: Awaited<ReturnType<typeof readsOf>>
  try {
    reads = await readsOf(query.sql, dialect)
  } catch (error) {
    if (error instanceof SqlReadError)
      throw fieldError('sql', `could not be read as ${dialect}: ${error.message.slice(0, 300)}`)
    throw error
  }
  const visible = visibleResources(principal)
  const names = [...new Set(reads.tables.map((t) => t.table))]
  const candidates = await findNamedTables(
    store.db,
    principal.workspaceId,
    names,
    visible,
    query.integration?.toLowerCase(),
  )
  const matched = reads.tables.map((name) => ({ name, found: bestMatch(candidates, name, query) }))
  const tables = new Map<string, NamedTable>()
  for (const { name, found } of matched) if (found !== undefined) tables.set(name.table.toLowerCase(), found)
  const onlyTable = matched.length === 1 ? matched[0]?.found : undefined
  const wanted = reads.columns.map((c) => ({
    ...c,
    found: c.table === null ? onlyTable : tables.get(c.table.toLowerCase()),
  }))
  const columns = await findNamedColumns(
    store.db,
    wanted.flatMap((c) => (c.found === undefined ? [] : [{ tableId: c.found.id, column: c.column }])),
    visible,
  )
  return {
    sql: query.sql,
    source_tables: matched.map(({ name, found }) =>
      found === undefined
        ? {
            id: null,
            title: name.table,
            schema_name: name.schema ?? query.schema ?? null,
            database_name: query.database ?? null,
            native_type: null,
            integration_id: null,
          }
        : {
            id: found.id,
            title: found.title,
            schema_name: found.search_schema,
            database_name: found.search_database,
            native_type: found.native_type,
            integration_id: found.integration_id,
          },
    ),
    column_lineages: wanted.map((c) => {
      const id = c.found === undefined ? undefined : columns.get(`${c.found.id}\u0000${c.column.toLowerCase()}`)
      return { id: id ?? null, table: c.found?.title ?? c.table, column: c.column, table_id: c.found?.id ?? null }
    }),
  }
}
