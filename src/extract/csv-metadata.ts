import { CsvError, parse } from 'csv-parse/sync'
import type { Store } from '../db/types.ts'
import { importFiles, type JsonlReport, type LineOutcome, type Records } from './jsonl.ts'

/**
 * A custom integration's metadata as CSV (`import_metadata`, issue 15): the same fields as the JSONL files, one
 * column each, so a spreadsheet can carry them. `resources.csv` has a header row naming its columns (any order,
 * any case); `lineage.csv` flattens each end of an edge into `from_type`, `from_databuilder_id`, `from_database`,
 * `from_schema`, `from_table`, `from_column` (and the same with `to_`). An empty cell is a field not given. The
 * records become the JSONL import's records, so both formats are imported by the very same code.
 */

/** The columns docent reads, and those Secoda documents that docent accepts and does not keep. */
const RESOURCE_COLUMNS = {
  read: ['entity_type', 'databuilder_id', 'parent_databuilder_id', 'title', 'description', 'definition', 'native_type'],
  required: ['entity_type', 'databuilder_id'],
  ignored: ['external_updated_at', 'sort_order', 'type', 'is_pk', 'schema', 'database', 'group', 'product'],
}
const END_FIELDS = ['type', 'databuilder_id', 'database', 'schema', 'table', 'column']
const LINEAGE_COLUMNS = {
  read: ['from', 'to'].flatMap((end) => END_FIELDS.map((field) => `${end}_${field}`)),
  required: ['from_type', 'to_type'],
  ignored: [] as string[],
}

/** Where each line starts in `text`: line n (1-based) starts at `starts[n - 1]`. CRLF, LF and a lone CR end a line. */
function lineStarts(buffer: Buffer): number[] {
  const starts = [0]
  for (let i = 0; i < buffer.length; i++) {
    const byte = buffer[i]
    if (byte === 0x0a || (byte === 0x0d && buffer[i + 1] !== 0x0a)) starts.push(i + 1)
  }
  return starts
}

/** The 1-based line holding byte `offset`. */
function lineAt(starts: number[], offset: number): number {
  let [low, high] = [0, starts.length - 1]
  while (low < high) {
    const middle = (low + high + 1) >> 1
    if ((starts[middle] as number) <= offset) low = middle
    else high = middle - 1
  }
  return low + 1
}

/**
 * The rows of one CSV file as records keyed by the header's column names, each with the line it starts on (a
 * quoted cell may span lines). A header naming a column docent does not know, twice, or without a required one
 * refuses the file at line 1; a row with another number of cells than the header is refused by its line. Rows
 * whose cells are all empty (what a spreadsheet leaves below its data) are skipped.
 */
export function csvRecords(
  text: string,
  file: LineOutcome['file'],
  refused: LineOutcome[],
  columns = file === 'resources' ? RESOURCE_COLUMNS : LINEAGE_COLUMNS,
): Records {
  const refuse = (line: number, reason: string) =>
    refused.push({ file, line, databuilder_id: null, outcome: 'refused', reason })
  const buffer = Buffer.from(text.replace(/^\uFEFF/, ''), 'utf8')
  let rows: { record: string[]; info: { bytes: number } }[]
  try {
    rows = parse(buffer, { info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof rows
  } catch (error) {
    if (!(error instanceof CsvError)) throw error
    const line = (error as CsvError & { lines?: number }).lines ?? 1
    refuse(line, `is not valid CSV: ${error.message}`)
    return []
  }
  const starts = lineStarts(buffer)
  const at = (index: number) => {
    // A row starts where the previous one ended, past the empty lines between them.
    let offset = index === 0 ? 0 : (rows[index - 1] as { info: { bytes: number } }).info.bytes
    while (buffer[offset] === 0x0a || buffer[offset] === 0x0d) offset++
    return lineAt(starts, offset)
  }
  const isBlank = (record: string[]) => record.every((cell) => cell.trim() === '')
  const headerIndex = rows.findIndex((row) => !isBlank(row.record))
  if (headerIndex === -1) return []
  const header = (rows[headerIndex] as { record: string[] }).record.map((name) => name.trim().toLowerCase())
  const headerLine = at(headerIndex)
  const known = [...columns.read, ...columns.ignored]
  // A column without a name (a spreadsheet's trailing comma) is read past, as long as its cells are empty.
  const unknown = header.filter((name) => name !== '' && !known.includes(name))
  const repeated = header.filter((name, i) => name !== '' && header.indexOf(name) !== i)
  const missing = columns.required.filter((name) => !header.includes(name))
  if (unknown.length > 0 || repeated.length > 0 || missing.length > 0) {
    refuse(
      headerLine,
      unknown.length > 0
        ? `the header names unknown column(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')}; the columns are ${known.join(', ')}`
        : repeated.length > 0
          ? `the header names column(s) ${[...new Set(repeated)].map((n) => JSON.stringify(n)).join(', ')} twice`
          : `the header lacks the required column(s) ${missing.join(', ')}`,
    )
    return []
  }
  const records: Records = []
  for (let index = headerIndex + 1; index < rows.length; index++) {
    const { record } = rows[index] as { record: string[] }
    if (isBlank(record)) continue
    const line = at(index)
    if (record.length !== header.length) {
      refuse(line, `has ${record.length} cell(s), the header names ${header.length}`)
      continue
    }
    const value: Record<string, unknown> = {}
    let unnamed = false
    header.forEach((name, i) => {
      const cell = record[i] as string
      // A cell of spaces only is as empty as an empty one: a field not given.
      if (cell.trim() === '') return
      if (name === '') unnamed = true
      else if (columns.read.includes(name)) value[name] = cell
    })
    if (unnamed) {
      refuse(line, 'has a value in a column the header does not name')
      continue
    }
    records.push([line, file === 'lineage' ? asEdge(value) : value])
  }
  return records
}

/** A lineage row's flat columns gathered into the JSONL form of an edge: `from_identifier`, `to_identifier`. */
function asEdge(row: Record<string, unknown>): Record<string, unknown> {
  const edge: Record<string, Record<string, unknown>> = { from_identifier: {}, to_identifier: {} }
  for (const end of ['from', 'to'] as const) {
    for (const field of END_FIELDS) {
      const value = row[`${end}_${field}`]
      if (value !== undefined) (edge[`${end}_identifier`] as Record<string, unknown>)[field] = value
    }
  }
  return edge
}

/** A custom integration's CSV files (the text of each), imported as the JSONL files are. */
export function importCsv(
  store: Store,
  target: { integrationId: string; workspaceId: string; teamIds: string[] },
  files: { resources?: string | undefined; lineage?: string | undefined },
): Promise<JsonlReport> {
  return importFiles(store, target, files, 'csv', (text, file, refused) => csvRecords(text, file, refused))
}
