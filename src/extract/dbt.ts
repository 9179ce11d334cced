import type { Kysely } from 'kysely'
import type { RelationRow } from '../catalog/repository/relations.ts'
import { insertResourceRows, newResourceValues, type ResourceValues } from '../catalog/repository/writes.ts'
import { placeUnder } from '../catalog/titles.ts'
import { inIds } from '../db/dialect.ts'
import { newResourceId } from '../db/ids.ts'
import type { DB, Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { type FieldError, validationFailed } from '../errors.ts'
import { type FoundEdges, pairOf, replaceFoundEdges } from '../lineage/repository.ts'

/**
 * dbt artifacts (issue 15): the models, seeds, sources and snapshots of a `manifest.json` become resources, or
 * match the tables a sync already read (by database, schema and name), their descriptions fill empty descriptions
 * (never a person's), `depends_on` becomes lineage, and the tests (with `run_results.json`, their last results)
 * are shown on the resources they test. One transaction: an upload is taken whole or not at all.
 */

const RELATION_TYPES = ['model', 'seed', 'source', 'snapshot'] as const

interface Relation {
  uniqueId: string
  database: string
  schema: string
  name: string
  description: string
  columns: { name: string; description: string; dataType: string | null }[]
  dependsOn: string[]
  materialized: string | null
}

interface DbtTest {
  uniqueId: string
  name: string
  attachedTo: string
  column: string | null
}

export interface TestResult {
  unique_id: string
  name: string
  column: string | null
  status: string | null
  message: string | null
  completed_at: string | null
}

export interface DbtReport {
  created: number
  matched: number
  described: number
  columns_described: number
  lineage: { added: number; removed: number }
  tests: number
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The relations and tests of a manifest; every refusal names its place (`manifest.nodes["model.x"].schema`). */
export function readManifest(input: unknown): { relations: Relation[]; tests: DbtTest[] } {
  if (!isObject(input) || !isObject(input.nodes)) {
    throw validationFailed([{ field: 'manifest', message: 'must be a dbt manifest.json: a JSON object with "nodes"' }])
  }
  const errors: FieldError[] = []
  const text = (node: Record<string, unknown>, key: string, at: string, optional = false): string | null => {
    const value = node[key]
    if (typeof value === 'string') {
      if (!value.includes('\u0000')) return value
      errors.push({ field: `${at}.${key}`, message: 'must not contain NUL characters' })
      return null
    }
    if (optional && (value === undefined || value === null)) return null
    errors.push({ field: `${at}.${key}`, message: 'must be a string' })
    return null
  }
  const relations: Relation[] = []
  const tests: DbtTest[] = []
  const groups = [
    ['nodes', input.nodes],
    ['sources', input.sources ?? {}],
  ] as const
  for (const [group, nodes] of groups) {
    if (!isObject(nodes)) {
      errors.push({ field: `manifest.${group}`, message: 'must be an object' })
      continue
    }
    for (const [key, node] of Object.entries(nodes)) {
      const at = `manifest.${group}[${JSON.stringify(key)}]`
      if (!isObject(node)) {
        errors.push({ field: at, message: 'must be an object' })
        continue
      }
      const type = node.resource_type
      if (type === 'test') {
        const attached =
          typeof node.attached_node === 'string'
            ? node.attached_node
            : isObject(node.depends_on) && Array.isArray(node.depends_on.nodes)
              ? node.depends_on.nodes.find((n): n is string => typeof n === 'string' && !n.startsWith('macro.'))
              : undefined
        const name = text(node, 'name', at)
        if (attached !== undefined && name !== null) {
          tests.push({ uniqueId: key, name, attachedTo: attached, column: text(node, 'column_name', at, true) })
        }
        continue
      }
      if (!RELATION_TYPES.includes(type as (typeof RELATION_TYPES)[number])) continue
      const database = text(node, 'database', at, true)
      const schema = text(node, 'schema', at)
      const name = text(node, 'alias', at, true) ?? text(node, 'identifier', at, true) ?? text(node, 'name', at)
      if (schema === null || name === null) continue
      // Each becomes a title (1–1024 characters).
      for (const [field, value] of [
        ['schema', schema],
        ['name', name],
        ['database', database ?? 'x'],
      ] as const) {
        if (value.length === 0 || value.length > 1024) {
          errors.push({ field: `${at}.${field}`, message: 'must hold 1 to 1,024 characters' })
        }
      }
      const columns: Relation['columns'] = []
      if (node.columns !== undefined && node.columns !== null) {
        if (!isObject(node.columns)) errors.push({ field: `${at}.columns`, message: 'must be an object' })
        else
          for (const [columnKey, column] of Object.entries(node.columns)) {
            if (!isObject(column)) {
              errors.push({ field: `${at}.columns[${JSON.stringify(columnKey)}]`, message: 'must be an object' })
              continue
            }
            const columnAt = `${at}.columns[${JSON.stringify(columnKey)}]`
            const columnName = text(column, 'name', columnAt, true) ?? columnKey
            if (columnName.length === 0 || columnName.length > 1024 || columnName.includes('\u0000')) {
              errors.push({ field: `${columnAt}.name`, message: 'must hold 1 to 1,024 characters, none of them NUL' })
              continue
            }
            columns.push({
              name: columnName,
              description: text(column, 'description', columnAt, true) ?? '',
              dataType: text(column, 'data_type', columnAt, true),
            })
          }
      }
      const dependsOn =
        isObject(node.depends_on) && Array.isArray(node.depends_on.nodes)
          ? node.depends_on.nodes.filter((n): n is string => typeof n === 'string')
          : []
      const config = isObject(node.config) ? node.config : {}
      relations.push({
        uniqueId: key,
        database: database ?? '',
        schema,
        name,
        description: text(node, 'description', at, true) ?? '',
        columns,
        dependsOn,
        materialized: typeof config.materialized === 'string' ? config.materialized : null,
      })
    }
  }
  if (errors.length > 0) throw validationFailed(errors.slice(0, 50))
  return { relations, tests }
}

/** The last result of each node a `run_results.json` holds, by unique id. */
export function readRunResults(
  input: unknown,
): Map<string, { status: string; message: string | null; at: string | null }> {
  const results = new Map<string, { status: string; message: string | null; at: string | null }>()
  if (input === undefined || input === null) return results
  if (!isObject(input) || !Array.isArray(input.results)) {
    throw validationFailed([
      { field: 'run_results', message: 'must be a dbt run_results.json: an object with "results"' },
    ])
  }
  for (const [index, result] of input.results.entries()) {
    if (!isObject(result) || typeof result.unique_id !== 'string' || typeof result.status !== 'string') {
      throw validationFailed([
        { field: `run_results.results[${index}]`, message: 'must be an object with unique_id and status strings' },
      ])
    }
    const timing = Array.isArray(result.timing) ? result.timing : []
    const last = timing.at(-1)
    const at = isObject(last) && typeof last.completed_at === 'string' ? last.completed_at : null
    results.set(result.unique_id, {
      status: result.status,
      message: typeof result.message === 'string' ? result.message.slice(0, 1000) : null,
      at,
    })
  }
  return results
}

/** A name as one part of a databuilder_id, as syncs write them (extract/sync.ts). */
const part = (name: string) => name.replace(/%/g, '%25').replace(/\./g, '%2E')
const lower = (text: string | null | undefined) => (text ?? '').toLowerCase()

interface Found {
  id: string
  entity_type: string
  title: string
  title_full: string
  search_database: string | null
  search_schema: string | null
  integration_id: string | null
  parent_id: string | null
  description: string
  description_by_person: boolean | number
  databuilder_id: string | null
  display_metadata: string
  created_at: string | Date
}

const COLUMNS = [
  'created_at',
  'id',
  'entity_type',
  'title',
  'title_full',
  'search_database',
  'search_schema',
  'integration_id',
  'parent_id',
  'description',
  'description_by_person',
  'databuilder_id',
  'display_metadata',
] as const

export async function importDbt(
  store: Store,
  target: { integrationId: string; workspaceId: string; teamIds: string[] },
  manifest: unknown,
  runResults: unknown,
): Promise<DbtReport> {
  const { relations, tests } = readManifest(manifest)
  const results = readRunResults(runResults)
  return store.write(async (trx) => {
    const report: DbtReport = {
      created: 0,
      matched: 0,
      described: 0,
      columns_described: 0,
      lineage: { added: 0, removed: 0 },
      tests: 0,
    }
    const now = nowIso()
    const key = (...parts: string[]) => [target.integrationId, ...parts.map(part)].join('.')
    // Tables of the workspace with one of the names: a sync's, or this integration's from an earlier upload.
    const names = [...new Set(relations.flatMap((r) => [r.name, r.name.toLowerCase(), r.name.toUpperCase()]))]
    const candidates = (
      names.length === 0
        ? []
        : await trx
            .selectFrom('resources')
            .select(COLUMNS)
            .where('workspace_id', '=', target.workspaceId)
            .where('entity_type', '=', 'table')
            .where((eb) => inIds(trx, eb.ref('title'), names))
            .execute()
    ) as Found[]
    // What earlier uploads made in this integration, by databuilder_id.
    const own = (await trx
      .selectFrom('resources')
      .select(COLUMNS)
      .where('workspace_id', '=', target.workspaceId)
      .where('integration_id', '=', target.integrationId)
      .execute()) as Found[]
    const byKey = new Map(own.filter((c) => c.databuilder_id !== null).map((c) => [c.databuilder_id as string, c]))
    const resolved = new Map<string, Found>()
    const rows: (ResourceValues & { id: string })[] = []
    const lists: RelationRow[] = []
    const describe: [string, string][] = []
    const created = new Map<string, Found>()
    /** A resource this upload creates (in this integration), or the one an earlier upload created. */
    const ensure = (
      entityType: string,
      title: string,
      parent: Found | undefined,
      builderKey: string,
      extra: Partial<ResourceValues> = {},
    ) => {
      const earlier = created.get(builderKey) ?? byKey.get(builderKey)
      if (earlier !== undefined) return earlier
      const id = newResourceId()
      const values = {
        ...newResourceValues({
          workspaceId: target.workspaceId,
          entityType,
          title,
          parent,
          integrationId: target.integrationId,
          now,
        }),
        id,
        databuilder_id: builderKey,
        native_type: entityType,
        ...extra,
      }
      rows.push(values)
      for (const [position, teamId] of target.teamIds.entries()) {
        lists.push({ field: 'teams', resource_id: id, target_id: teamId, position })
      }
      const found: Found = {
        id,
        entity_type: entityType,
        title,
        ...placeUnder(parent, entityType, title),
        integration_id: target.integrationId,
        parent_id: parent?.id ?? null,
        description: String(values.description ?? ''),
        description_by_person: false,
        databuilder_id: builderKey,
        display_metadata: '{}',
        created_at: now,
      }
      created.set(builderKey, found)
      report.created += 1
      return found
    }
    for (const relation of relations) {
      const own = byKey.get(key(relation.database, relation.schema, relation.name))
      const synced = candidates.filter(
        (c) =>
          c.integration_id !== target.integrationId &&
          lower(c.title) === lower(relation.name) &&
          lower(c.search_schema) === lower(relation.schema) &&
          (relation.database === '' || lower(c.search_database) === lower(relation.database)),
      )
      // Two tables of other integrations with the path: the one made first (a warehouse's sync, as a rule).
      let found =
        synced.sort((a, b) =>
          a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1,
        )[0] ?? own
      if (found === undefined) {
        const database = ensure('database', relation.database || relation.schema, undefined, key(relation.database))
        const schema = ensure('schema', relation.schema, database, key(relation.database, relation.schema))
        found = ensure('table', relation.name, schema, key(relation.database, relation.schema, relation.name), {
          native_type: relation.materialized === 'view' ? 'VIEW' : 'BASE TABLE',
        })
      } else if (found.integration_id !== target.integrationId) {
        report.matched += 1
      }
      resolved.set(relation.uniqueId, found)
      // An empty description is filled; one this integration wrote follows the manifest; a person's is never touched.
      const mine = found.integration_id === target.integrationId
      if (
        relation.description !== '' &&
        relation.description !== found.description &&
        (found.description === '' || mine) &&
        !found.description_by_person
      ) {
        describe.push([found.id, relation.description])
        found.description = relation.description
        report.described += 1
      }
    }
    // Columns: an upload's own table gets the manifest's columns; a synced table's columns (the warehouse's) only
    // their descriptions. The columns of every resolved table, read at once.
    const tableIds = [...new Set([...resolved.values()].map((r) => r.id))]
    const children = new Map<
      string,
      { id: string; title: string; description: string; description_by_person: boolean | number }[]
    >()
    for (let i = 0; i < tableIds.length; i += 500) {
      const chunk = tableIds.slice(i, i + 500)
      const found = await trx
        .selectFrom('resources')
        .select(['id', 'parent_id', 'title', 'description', 'description_by_person'])
        .where('entity_type', '=', 'column')
        .where((eb) => inIds(trx, eb.ref('parent_id'), chunk))
        .execute()
      for (const child of found) {
        const list = children.get(child.parent_id as string) ?? []
        list.push(child)
        children.set(child.parent_id as string, list)
      }
    }
    for (const relation of relations) {
      const found = resolved.get(relation.uniqueId) as Found
      const columns = children.get(found.id) ?? []
      for (const [position, column] of relation.columns.entries()) {
        const child = columns.find((c) => lower(c.title) === lower(column.name))
        if (child === undefined) {
          if (found.integration_id === target.integrationId) {
            ensure('column', column.name, found, `${found.databuilder_id}.${part(column.name)}`, {
              description: column.description,
              data_type: column.dataType,
              sort_order: position + 1,
            })
          }
        } else if (
          column.description !== '' &&
          column.description !== child.description &&
          (child.description === '' || found.integration_id === target.integrationId) &&
          !child.description_by_person
        ) {
          describe.push([child.id, column.description])
          child.description = column.description
          report.columns_described += 1
        }
      }
    }
    // New resources, parents before children (a child's parent is in the same call or an earlier one).
    await insertResourceRows(trx, rows, lists)
    for (const [id, description] of describe) {
      await trx.updateTable('resources').set({ description, updated_at: now }).where('id', '=', id).execute()
    }
    // Lineage: this integration's edges become the manifest's.
    const wanted: FoundEdges = new Map()
    for (const relation of relations) {
      const downstream = resolved.get(relation.uniqueId)?.id
      for (const dependency of relation.dependsOn) {
        const upstream = resolved.get(dependency)?.id
        if (downstream !== undefined && upstream !== undefined && upstream !== downstream) {
          wanted.set(pairOf(upstream, downstream), { upstream, downstream })
        }
      }
    }
    const edges = await replaceFoundEdges(trx, target, wanted, { remove: true })
    report.lineage = { added: edges.added.size, removed: edges.removed }
    // Tests, with their last results, on the resources they test: `display_metadata.dbt_tests`, this integration's
    // replaced, another's kept.
    const byResource = new Map<string, TestResult[]>()
    for (const test of tests) {
      const resource = resolved.get(test.attachedTo)
      if (resource === undefined) continue
      const result = results.get(test.uniqueId)
      const list = byResource.get(resource.id) ?? []
      list.push({
        unique_id: test.uniqueId,
        name: test.name,
        column: test.column,
        status: result?.status ?? null,
        message: result?.message ?? null,
        completed_at: result?.at ?? null,
      })
      byResource.set(resource.id, list)
      report.tests += 1
    }
    // Tables an earlier upload made that this manifest no longer names are marked stale, as a sync marks what
    // left its source.
    const resolvedIds = new Set([...resolved.values()].map((r) => r.id))
    const left = own.filter((r) => r.entity_type === 'table' && !resolvedIds.has(r.id)).map((r) => r.id)
    for (let i = 0; i < left.length; i += 500) {
      await trx
        .updateTable('resources')
        .set({ stale: true, stale_at: now, updated_at: now })
        .where((eb) => inIds(trx, eb.ref('id'), left.slice(i, i + 500)))
        .where('stale', '=', false)
        .execute()
    }
    const back = [...resolved.values()].filter((r) => r.integration_id === target.integrationId).map((r) => r.id)
    for (let i = 0; i < back.length; i += 500) {
      await trx
        .updateTable('resources')
        .set({ stale: false, stale_at: null, updated_at: now })
        .where((eb) => inIds(trx, eb.ref('id'), back.slice(i, i + 500)))
        .where('stale', '=', true)
        .execute()
    }
    // Every resource that holds this integration's tests, and every one this upload names.
    const holding = await trx
      .selectFrom('resources')
      .select('id')
      .where('workspace_id', '=', target.workspaceId)
      .where('display_metadata', 'like', `%${target.integrationId}%`)
      .execute()
    const touched = [...new Set([...resolvedIds, ...holding.map((r) => r.id)])]
    await writeTests(trx, target.integrationId, touched, byResource, now)
    return report
  })
}

/** Replaces this integration's tests in `display_metadata.dbt_tests` of the resources (and of those that had some). */
async function writeTests(
  trx: Kysely<DB>,
  integrationId: string,
  ids: string[],
  byResource: Map<string, TestResult[]>,
  now: string,
) {
  if (ids.length === 0) return
  const rows = await trx
    .selectFrom('resources')
    .select(['id', 'display_metadata'])
    .where((eb) => inIds(trx, eb.ref('id'), ids))
    .execute()
  for (const row of rows) {
    const metadata = JSON.parse(row.display_metadata) as Record<string, unknown>
    const kept = (
      Array.isArray(metadata.dbt_tests) ? (metadata.dbt_tests as (TestResult & { integration?: string })[]) : []
    ).filter((test) => test.integration !== integrationId)
    const mine = (byResource.get(row.id) ?? []).map((test) => ({ ...test, integration: integrationId }))
    const next = [...kept, ...mine]
    const before = JSON.stringify(metadata.dbt_tests ?? [])
    if (JSON.stringify(next) === before) continue
    const written =
      next.length === 0 ? (({ dbt_tests: _, ...rest }) => rest)(metadata) : { ...metadata, dbt_tests: next }
    await trx
      .updateTable('resources')
      .set({ display_metadata: JSON.stringify(written), updated_at: now })
      .where('id', '=', row.id)
      .execute()
  }
}

/** Takes an integration's tests out of `display_metadata.dbt_tests` of every resource (the integration goes). */
export async function forgetDbtTests(trx: Kysely<DB>, workspaceId: string, integrationId: string): Promise<void> {
  const holding = await trx
    .selectFrom('resources')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('display_metadata', 'like', `%${integrationId}%`)
    .execute()
  await writeTests(
    trx,
    integrationId,
    holding.map((r) => r.id),
    new Map(),
    nowIso(),
  )
}
