import { readsOf, SqlReadError } from '../lineage/sql-reads.ts'
import type { SourceDependency, SourceRef, SourceTable } from './source.ts'

/** A view of the source and the SQL that defines it (its SELECT, or the whole CREATE VIEW statement). */
export interface ViewDefinition {
  schema: string
  table: SourceTable
  sql: string
}

/**
 * What each view reads, from its definition, parsed by a SQL parser (lineage/sql-reads.ts, in a worker with a
 * time limit): an edge from every table or view it names (in its own schema when the name has none), and from each
 * column it names to its own column of the same name. A definition the parser cannot read (or could not read in
 * time) is `unread`: its edges stay as the last sync that read it left them. Lineage never stops a sync.
 */
export async function viewDependencies(
  database: string,
  views: ViewDefinition[],
  dialect: 'mysql' | 'mariadb' | 'sqlite',
): Promise<{ dependencies: SourceDependency[]; unread: SourceRef[] }> {
  const dependencies: SourceDependency[] = []
  const unread: SourceRef[] = []
  for (const view of views) {
    let reads: Awaited<ReturnType<typeof readsOf>>
    try {
      reads = await readsOf(view.sql, dialect)
    } catch (error) {
      if (!(error instanceof SqlReadError)) throw error
      unread.push({ database, schema: view.schema, table: view.table.name })
      continue
    }
    const to = { database, schema: view.schema, table: view.table.name }
    const schemaOf = new Map<string, string>()
    for (const read of reads.tables) {
      const schema = read.schema ?? view.schema
      if (schema === view.schema && read.table === view.table.name) continue
      schemaOf.set(read.table, schema)
      dependencies.push({ from: { database, schema, table: read.table }, to })
    }
    const own = new Set(view.table.columns.map((column) => column.name))
    const onlyTable = reads.tables.length === 1 ? reads.tables[0]?.table : undefined
    for (const read of reads.columns) {
      const table = read.table ?? onlyTable
      const schema = table === undefined ? undefined : schemaOf.get(table)
      if (table === undefined || schema === undefined || !own.has(read.column)) continue
      dependencies.push({
        from: { database, schema, table, column: read.column },
        to: { ...to, column: read.column },
      })
    }
  }
  return { dependencies, unread }
}
