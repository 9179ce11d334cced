import { placementProblem } from '../catalog/hierarchy.ts'
import type { RelationRow } from '../catalog/repository/relations.ts'
import { insertResourceRows, newResourceValues, type ResourceValues } from '../catalog/repository/writes.ts'
import { placeUnder } from '../catalog/titles.ts'
import { inIds } from '../db/dialect.ts'
import { newResourceId } from '../db/ids.ts'
import type { Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { ApiError } from '../errors.ts'
import { pairOf, replaceFoundEdges } from '../lineage/repository.ts'

/**
 * A custom integration's metadata as Secoda's JSONL files carry it (issue 15): `resources.jsonl`, one resource a
 * line keyed by `databuilder_id` (its parent by `parent_databuilder_id`), and `lineage.jsonl`, one edge a line
 * between resources of the file (`internal_resource`) or tables and columns already in the catalog
 * (`external_table`, `external_column`). An upsert: a line whose databuilder_id the integration holds updates it,
 * a new one is created. All or nothing: one refused line refuses the import, and the report names every refused
 * line with why.
 */

export interface LineOutcome {
  file: 'resources' | 'lineage'
  line: number
  databuilder_id: string | null
  outcome: 'created' | 'updated' | 'unchanged' | 'added' | 'kept' | 'refused'
  reason?: string
}

export interface JsonlReport {
  created: number
  updated: number
  unchanged: number
  lineage: { added: number; removed: number }
  lines: LineOutcome[]
}

interface ResourceLine {
  line: number
  entityType: string
  key: string
  parentKey: string | null
  title: string
  description: string | null
  definition: string | null
  nativeType: string | null
}

type Identifier =
  | { type: 'internal_resource'; key: string }
  | { type: 'external_table'; database: string; schema: string; table: string }
  | { type: 'external_column'; database: string; schema: string; table: string; column: string }

/** A UTF-16 surrogate without its pair: not a character, and stored as U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const TYPES = ['database', 'schema', 'table', 'column', 'dashboard_group', 'dashboard', 'chart'] as const

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The records of one file, each with the line it starts on; the lines already refused while reading it. */
export type Records = [number, Record<string, unknown>][]

/** The formats of a custom integration's files: JSONL, or CSV with the same fields as columns (csv-metadata.ts). */
export type MetadataFormat = 'jsonl' | 'csv'

/** Non-empty lines of a file, each parsed; a line that is not a JSON object is refused. */
export function jsonlRecords(text: string, file: LineOutcome['file'], refused: LineOutcome[]): Records {
  const lines: Records = []
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      if (raw.trim() === '') return
      const line = index + 1
      let value: unknown
      try {
        value = JSON.parse(raw)
      } catch {
        refused.push({ file, line, databuilder_id: null, outcome: 'refused', reason: 'is not valid JSON' })
        return
      }
      if (!isObject(value)) {
        refused.push({ file, line, databuilder_id: null, outcome: 'refused', reason: 'must be a JSON object' })
        return
      }
      lines.push([line, value])
    })
  return lines
}

function text(value: unknown, max: number): string | null | undefined {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string' || value.length > max || value.includes('\u0000') || LONE_SURROGATE.test(value)) {
    return undefined
  }
  return value
}

function readResource(line: number, value: Record<string, unknown>): ResourceLine | string {
  const entityType = value.entity_type
  if (typeof entityType !== 'string' || !(TYPES as readonly string[]).includes(entityType)) {
    return `entity_type must be one of ${TYPES.join(', ')}`
  }
  const key = text(value.databuilder_id, 1024)
  if (!key) return 'databuilder_id is required: a string of 1 to 1,024 characters'
  const parentKey = text(value.parent_databuilder_id, 1024)
  if (parentKey === undefined) return 'parent_databuilder_id must be a string of at most 1,024 characters'
  const given = text(value.title, 1024)
  if (given === undefined || given === '') return 'title must be a string of 1 to 1,024 characters'
  const title = given ?? key.split('.').at(-1) ?? key
  const description = text(value.description, 100_000)
  if (description === undefined) return 'description must be a string of at most 100,000 characters'
  const definition = text(value.definition, 1_000_000)
  if (definition === undefined) return 'definition must be a string of at most 1,000,000 characters'
  const nativeType = text(value.native_type, 255)
  if (nativeType === undefined) return 'native_type must be a string of at most 255 characters'
  return { line, entityType, key, parentKey, title, description, definition, nativeType }
}

/**
 * One end of an edge: in JSONL the object `from_identifier` / `to_identifier`; in CSV the columns `from_type`,
 * `from_databuilder_id`, … gathered into the same object. `name` says what the format calls a field of it.
 */
function readIdentifier(value: unknown, name: (field: string) => string): Identifier | string {
  if (!isObject(value)) return `${name('')} must be an object with a type`
  const string = (key: string) => {
    const found = text(value[key], 1024)
    return found ? found : undefined
  }
  if (value.type === 'internal_resource') {
    const key = string('databuilder_id')
    return key === undefined
      ? `${name('databuilder_id')} is required for an internal_resource (1 to 1,024 characters)`
      : { type: 'internal_resource', key }
  }
  if (value.type === 'external_table' || value.type === 'external_column') {
    const [database, schema, table] = [string('database'), string('schema'), string('table')]
    if (database === undefined || schema === undefined || table === undefined) {
      return `${['database', 'schema', 'table'].map(name).join(', ')} are required for an ${value.type}`
    }
    if (value.type === 'external_table') return { type: 'external_table', database, schema, table }
    const column = string('column')
    if (column === undefined) return `${name('column')} is required for an external_column`
    return { type: 'external_column', database, schema, table, column }
  }
  return `${name('type')} must be internal_resource, external_table or external_column`
}

/** What each format calls a field of an edge's end, for the messages. */
const endNames: Record<MetadataFormat, (end: 'from' | 'to') => (field: string) => string> = {
  jsonl: (end) => (field) => (field === '' ? `${end}_identifier` : `${end}_identifier.${field}`),
  csv: (end) => (field) => (field === '' ? end : `${end}_${field}`),
}

/** A custom integration's files (the text of each) read by `readRecords` in `format`, then imported. */
export function importFiles(
  store: Store,
  target: { integrationId: string; workspaceId: string; teamIds: string[] },
  files: { resources?: string | undefined; lineage?: string | undefined },
  format: MetadataFormat,
  readRecords: (text: string, file: LineOutcome['file'], refused: LineOutcome[]) => Records,
): Promise<JsonlReport> {
  const refused: LineOutcome[] = []
  const read = (file: LineOutcome['file']) => {
    const text = files[file]
    return text === undefined ? undefined : readRecords(text, file, refused)
  }
  return importRecords(store, target, { resources: read('resources'), lineage: read('lineage') }, format, refused)
}

/** A custom integration's JSONL files (the text of each), imported. */
export function importJsonl(
  store: Store,
  target: { integrationId: string; workspaceId: string; teamIds: string[] },
  files: { resources?: string | undefined; lineage?: string | undefined },
): Promise<JsonlReport> {
  return importFiles(store, target, files, 'jsonl', jsonlRecords)
}

/**
 * The records of a custom integration's files imported: `refused` holds the lines the reading refused already.
 * A lineage file that was sent (even empty) replaces the integration's imported edges; without one they stay.
 */
async function importRecords(
  store: Store,
  target: { integrationId: string; workspaceId: string; teamIds: string[] },
  files: { resources?: Records | undefined; lineage?: Records | undefined },
  format: MetadataFormat,
  refused: LineOutcome[],
): Promise<JsonlReport> {
  const resources: ResourceLine[] = []
  const seenKeys = new Map<string, number>()
  for (const [line, value] of files.resources ?? []) {
    const read = readResource(line, value)
    const key = typeof value.databuilder_id === 'string' ? value.databuilder_id : null
    if (typeof read === 'string') {
      refused.push({ file: 'resources', line, databuilder_id: key, outcome: 'refused', reason: read })
    } else if (seenKeys.has(read.key)) {
      refused.push({
        file: 'resources',
        line,
        databuilder_id: read.key,
        outcome: 'refused',
        reason: `databuilder_id repeats line ${seenKeys.get(read.key)}`,
      })
    } else {
      seenKeys.set(read.key, line)
      resources.push(read)
    }
  }
  const edges: { line: number; from: Identifier; to: Identifier }[] = []
  for (const [line, value] of files.lineage ?? []) {
    const from = readIdentifier(value.from_identifier, endNames[format]('from'))
    const to = readIdentifier(value.to_identifier, endNames[format]('to'))
    const problem =
      typeof from === 'string'
        ? from
        : typeof to === 'string'
          ? to
          : from.type !== 'internal_resource' && to.type !== 'internal_resource'
            ? 'one end must be an internal_resource (a resource of this integration)'
            : undefined
    if (problem !== undefined || typeof from === 'string' || typeof to === 'string') {
      refused.push({ file: 'lineage', line, databuilder_id: null, outcome: 'refused', reason: problem })
    } else {
      edges.push({ line, from, to })
    }
  }
  const refuse = (report: LineOutcome[]): never => {
    const first = report[0] as LineOutcome
    throw new ApiError(
      'VALIDATION_ERROR',
      `${report.length} line(s) refused, nothing imported; first: ${first.file}.${format} line ${first.line}: ${first.reason}.`,
      report.slice(0, 100).map((r) => ({ field: `${r.file}.${format}:${r.line}`, message: r.reason ?? 'refused' })),
    )
  }
  // The report in file order: the resources file's lines, then the lineage file's, each by line.
  const fileOrder = { resources: 0, lineage: 1 }
  if (refused.length > 0) refuse(refused.sort((a, b) => fileOrder[a.file] - fileOrder[b.file] || a.line - b.line))

  return store.write(async (trx) => {
    const now = nowIso()
    const report: JsonlReport = { created: 0, updated: 0, unchanged: 0, lineage: { added: 0, removed: 0 }, lines: [] }
    const keys = resources.map((r) => r.key)
    const parentKeys = resources.flatMap((r) => (r.parentKey === null ? [] : [r.parentKey]))
    const wanted = [
      ...new Set([
        ...keys,
        ...parentKeys,
        ...edges.flatMap((e) => [e.from, e.to]).flatMap((i) => (i.type === 'internal_resource' ? [i.key] : [])),
      ]),
    ]
    type Held = {
      id: string
      entity_type: string
      title: string
      title_full: string
      search_database: string | null
      search_schema: string | null
      integration_id: string | null
      description: string
      description_by_person: boolean | number
      definition: string
      definition_version: number
      native_type: string | null
      databuilder_id: string | null
      parent_id: string | null
    }
    const held = new Map<string, Held>()
    for (let i = 0; i < wanted.length; i += 500) {
      const rows = (await trx
        .selectFrom('resources')
        .select([
          'id',
          'entity_type',
          'title',
          'title_full',
          'search_database',
          'search_schema',
          'integration_id',
          'description',
          'description_by_person',
          'definition',
          'definition_version',
          'native_type',
          'databuilder_id',
          'parent_id',
        ])
        .where('workspace_id', '=', target.workspaceId)
        .where((eb) => inIds(trx, eb.ref('databuilder_id'), wanted.slice(i, i + 500)))
        .execute()) as Held[]
      for (const row of rows) held.set(row.databuilder_id as string, row)
    }
    const late: LineOutcome[] = []
    const rows: (ResourceValues & { id: string })[] = []
    const lists: RelationRow[] = []
    for (const resource of resources) {
      const existing = held.get(resource.key)
      if (existing !== undefined) {
        const parentNow = resource.parentKey === null ? null : (held.get(resource.parentKey)?.id ?? 'nowhere')
        if (parentNow !== existing.parent_id && existing.integration_id === target.integrationId) {
          late.push({
            file: 'resources',
            line: resource.line,
            databuilder_id: resource.key,
            outcome: 'refused',
            reason:
              parentNow === 'nowhere'
                ? `parent_databuilder_id ${resource.parentKey} names no resource of this file (on an earlier line) or of the catalog`
                : 'moving a resource to another parent by import is not supported',
          })
          continue
        }
        if (existing.integration_id !== target.integrationId || existing.entity_type !== resource.entityType) {
          late.push({
            file: 'resources',
            line: resource.line,
            databuilder_id: resource.key,
            outcome: 'refused',
            reason:
              existing.integration_id !== target.integrationId
                ? 'databuilder_id belongs to a resource of another integration'
                : `databuilder_id belongs to a ${existing.entity_type}, not a ${resource.entityType}`,
          })
          continue
        }
        const changes: Partial<ResourceValues> = {}
        if (resource.title !== existing.title) changes.title = resource.title
        if (
          resource.description !== null &&
          resource.description !== existing.description &&
          !existing.description_by_person
        )
          changes.description = resource.description
        if (resource.definition !== null && resource.definition !== existing.definition) {
          changes.definition = resource.definition
          changes.definition_version = existing.definition_version + 1
        }
        if (resource.nativeType !== null && resource.nativeType !== existing.native_type)
          changes.native_type = resource.nativeType
        if (changes.title !== undefined) {
          late.push({
            file: 'resources',
            line: resource.line,
            databuilder_id: resource.key,
            outcome: 'refused',
            reason: 'renaming a resource by import is not supported yet; rename it with PATCH',
          })
          continue
        }
        if (Object.keys(changes).length === 0) {
          report.unchanged += 1
          report.lines.push({
            file: 'resources',
            line: resource.line,
            databuilder_id: resource.key,
            outcome: 'unchanged',
          })
          continue
        }
        await trx
          .updateTable('resources')
          .set({ ...changes, updated_at: now })
          .where('id', '=', existing.id)
          .execute()
        report.updated += 1
        report.lines.push({ file: 'resources', line: resource.line, databuilder_id: resource.key, outcome: 'updated' })
        continue
      }
      const parent = resource.parentKey === null ? undefined : held.get(resource.parentKey)
      const problem =
        resource.parentKey !== null && parent === undefined
          ? `parent_databuilder_id ${resource.parentKey} names no resource of this file (on an earlier line) or of the catalog`
          : parent !== undefined && parent.integration_id !== target.integrationId
            ? 'the parent belongs to another integration'
            : placementProblem(resource.entityType, parent?.entity_type)
      if (problem !== undefined) {
        late.push({
          file: 'resources',
          line: resource.line,
          databuilder_id: resource.key,
          outcome: 'refused',
          reason: problem,
        })
        continue
      }
      const id = newResourceId()
      const values = {
        ...newResourceValues({
          workspaceId: target.workspaceId,
          entityType: resource.entityType,
          title: resource.title,
          parent: parent === undefined ? undefined : { ...parent, id: parent.id },
          integrationId: target.integrationId,
          now,
        }),
        id,
        databuilder_id: resource.key,
        description: resource.description ?? '',
        definition: resource.definition ?? '',
        native_type: resource.nativeType,
      }
      rows.push(values)
      for (const [position, teamId] of target.teamIds.entries()) {
        lists.push({ field: 'teams', resource_id: id, target_id: teamId, position })
      }
      held.set(resource.key, {
        id,
        entity_type: resource.entityType,
        title: resource.title,
        ...placeUnder(parent, resource.entityType, resource.title),
        integration_id: target.integrationId,
        description: values.description,
        description_by_person: false,
        definition: values.definition,
        definition_version: 1,
        native_type: resource.nativeType,
        databuilder_id: resource.key,
        parent_id: parent?.id ?? null,
      })
      report.created += 1
      report.lines.push({ file: 'resources', line: resource.line, databuilder_id: resource.key, outcome: 'created' })
    }
    // Lineage ends: internal by databuilder_id, external by the path of a table (and its column) of the catalog.
    const resolve = async (identifier: Identifier): Promise<string | undefined> => {
      if (identifier.type === 'internal_resource') {
        // Internal: a resource of this integration (of the file, or of an earlier import).
        const found = held.get(identifier.key)
        return found?.integration_id === target.integrationId ? found.id : undefined
      }
      const table = await trx
        .selectFrom('resources')
        .select('id')
        .where('workspace_id', '=', target.workspaceId)
        .where('entity_type', '=', 'table')
        .where('title', '=', identifier.table)
        .where('search_schema', '=', identifier.schema)
        .where('search_database', '=', identifier.database)
        .orderBy('created_at')
        .orderBy('id')
        .executeTakeFirst()
      if (table === undefined || identifier.type === 'external_table') return table?.id
      const column = await trx
        .selectFrom('resources')
        .select('id')
        .where('parent_id', '=', table.id)
        .where('entity_type', '=', 'column')
        .where('title', '=', identifier.column)
        .executeTakeFirst()
      return column?.id
    }
    if (late.length === 0) {
      await insertResourceRows(trx, rows, lists)
    }
    const wantedEdges = new Map<string, { line: number; upstream: string; downstream: string }>()
    for (const edge of edges) {
      const [upstream, downstream] = [await resolve(edge.from), await resolve(edge.to)]
      const missing =
        upstream === undefined ? 'from_identifier' : downstream === undefined ? 'to_identifier' : undefined
      if (missing !== undefined || upstream === undefined || downstream === undefined || upstream === downstream) {
        late.push({
          file: 'lineage',
          line: edge.line,
          databuilder_id: null,
          outcome: 'refused',
          reason:
            missing === undefined ? 'an edge joins two resources, not one to itself' : `${missing} names no resource`,
        })
        continue
      }
      const pair = pairOf(upstream, downstream)
      if (wantedEdges.has(pair)) {
        report.lines.push({
          file: 'lineage',
          line: edge.line,
          databuilder_id: null,
          outcome: 'kept',
          reason: 'repeats an earlier line',
        })
        continue
      }
      wantedEdges.set(pair, { line: edge.line, upstream, downstream })
    }
    if (late.length > 0) refuse(late)
    // A sent lineage file replaces the integration's imported edges; without one they stay.
    const replaced = await replaceFoundEdges(trx, target, wantedEdges, { remove: files.lineage !== undefined })
    for (const [pair, edge] of wantedEdges) {
      const outcome = replaced.added.has(pair) ? 'added' : 'kept'
      report.lines.push({ file: 'lineage', line: edge.line, databuilder_id: null, outcome })
    }
    report.lineage = { added: replaced.added.size, removed: replaced.removed }
    return report
  })
}
