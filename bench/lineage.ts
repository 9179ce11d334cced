// Lineage at scale (issue 15): on the catalog `npm run bench` built, 2,000,000 edges (added once, kept in the
// store), then a 3-hop graph from a table and one table's edges under 32 connections, and a dbt manifest of
// 5,000 models uploaded (and uploaded again).
//   npm run bench:lineage -- [--engine sqlite|postgres] [--resources 1000000] [--duration 10] [--models 5000]
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { openStore } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Engine, Store } from '../src/db/types.ts'
import { nowIso } from '../src/db/values.ts'
import { type CatalogInfo, findCatalog } from './build-catalog.ts'
import { catalogUrl, startDocent, stop } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', multiple: true },
    resources: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '10' },
    models: { type: 'string', default: '5000' },
  },
})
const resources = Number(args.resources)
const duration = Number(args.duration)
const models = Number(args.models)
const engines = (args.engine ?? ['sqlite', 'postgres']) as Engine[]
const log = (message: string) => process.stderr.write(`${message}\n`)
const META_KEY = 'bench_lineage'

/**
 * Two edges from every table (to the next table and the seventh next, so walks meet cycles) and two from every
 * column (to a column of those tables), a tenth of them drawn by hand: about twice as many edges as resources.
 */
async function addEdges(store: Store, info: CatalogInfo): Promise<number> {
  const done = await store.db.selectFrom('docent_meta').select('value').where('key', '=', META_KEY).executeTakeFirst()
  if (done !== undefined) return Number(done.value)
  const started = performance.now()
  const tables = info.tables
  const columns = await store.db
    .selectFrom('resources')
    .select(['id', 'parent_id'])
    .where('entity_type', '=', 'column')
    .where('workspace_id', '=', info.workspaceId)
    .orderBy('parent_id')
    .execute()
  const columnsOf = new Map<string, string[]>()
  for (const column of columns) {
    const list = columnsOf.get(column.parent_id as string) ?? []
    list.push(column.id)
    columnsOf.set(column.parent_id as string, list)
  }
  const integration = info.integrations[0] as string
  const now = nowIso()
  let rows: Record<string, unknown>[] = []
  let count = 0
  const seen = new Set<string>()
  const flush = async () => {
    const batch = rows
    rows = []
    await store.db.transaction().execute(async (trx) => {
      for (let i = 0; i < batch.length; i += 500) {
        await trx
          .insertInto('lineage_edges')
          .values(batch.slice(i, i + 500) as never)
          .execute()
      }
    })
  }
  const edge = async (upstream: string, downstream: string, n: number) => {
    const key = `${upstream} ${downstream}`
    if (upstream === downstream || seen.has(key)) return
    seen.add(key)
    const manual = n % 10 === 0
    rows.push({
      id: randomUUID(),
      workspace_id: info.workspaceId,
      upstream_id: upstream,
      downstream_id: downstream,
      from_id: upstream,
      to_id: downstream,
      direction: 'DOWNSTREAM',
      is_manual: manual,
      integration_id: manual ? null : integration,
      created_at: now,
      updated_at: now,
    })
    count += 1
    if (rows.length >= 20_000) {
      await flush()
      if (count % 200_000 < 20_000) log(`  ${count} edges`)
    }
  }
  for (const [i, table] of tables.entries()) {
    for (const step of [1, 7]) {
      const next = tables[(i + step) % tables.length] as string
      await edge(table, next, i * 2 + step)
      const mine = columnsOf.get(table) ?? []
      const theirs = columnsOf.get(next) ?? []
      for (const [c, column] of mine.entries()) {
        const target = theirs[c % Math.max(1, theirs.length)]
        if (target !== undefined) await edge(column, target, c + step)
      }
    }
  }
  await flush()
  await store.db
    .insertInto('docent_meta')
    .values({ key: META_KEY, value: String(count) })
    .execute()
  log(`  ${count} edges added in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return count
}

/** A manifest of `n` models in 50 schemas, each reading two earlier ones, with five described columns. */
function manifestOf(n: number): unknown {
  const nodes: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) {
    const dependsOn = i < 2 ? [] : [`model.bench.m_${Math.floor(i / 2)}`, `model.bench.m_${i - 1}`]
    nodes[`model.bench.m_${i}`] = {
      resource_type: 'model',
      database: 'analytics',
      schema: `dbt_${i % 50}`,
      name: `m_${i}`,
      alias: `m_${i}`,
      description: `Model number ${i}`,
      columns: Object.fromEntries(
        Array.from({ length: 5 }, (_, c) => [`c${c}`, { name: `c${c}`, description: `column ${c} of model ${i}` }]),
      ),
      depends_on: { nodes: dependsOn },
      config: { materialized: 'table' },
    }
  }
  return { metadata: { dbt_version: '1.7.2' }, nodes, sources: {} }
}

function drive(base: string, key: string, path: () => string) {
  return new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url: base,
        connections: 32,
        duration,
        headers: { authorization: `Bearer ${key}` },
        requests: [{ setupRequest: (request) => ({ ...request, path: path() }) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
  })
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T
const lines: string[] = ['| engine | scenario | req/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|---|']

for (const engine of engines) {
  const url = catalogUrl(engine, resources)
  const store = await openStore(url)
  let info: CatalogInfo | undefined
  let edges: number
  try {
    await migrateToLatest(store.db)
    info = await findCatalog(store, resources)
    if (info === undefined) throw new Error(`${url} holds no benchmark catalog: run npm run bench first`)
    log(`${engine}: edges`)
    edges = await addEdges(store, info)
    // Statistics for the planner, as a store in use would have them (the catalog's build analyzes the rest).
    await sql`analyze lineage_edges`.execute(store.db)
  } finally {
    await store.close()
  }
  const server = await startDocent(url, info.adminKey, [])
  try {
    const base = server.base
    const tables = info.tables
    for (const [name, path] of [
      ['lineage graph, 3 hops both ways from a table', () => `/api/v1/lineage/graph/${pick(tables)}?depth=3`],
      ["one table's lineage edges", () => `/api/v1/lineage/manual?from_entity=${pick(tables)}`],
    ] as const) {
      const result = await drive(base, info.adminKey, path)
      const errors = result.errors + result.non2xx
      lines.push(
        `| ${engine} | ${name} (${edges.toLocaleString('en')} edges) | ${result.requests.average} | ${result.latency.p50} | ${result.latency.p99} | ${errors} |`,
      )
      log(
        `  ${name}: ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors ${errors}`,
      )
    }
    const created = await fetch(`${base}/api/v1/integration/integrations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `dbt bench ${randomUUID()}`, type: 'dbt' }),
    })
    const integration = ((await created.json()) as { id: string }).id
    const body = JSON.stringify({ manifest: manifestOf(models) })
    for (const round of ['first', 'again']) {
      const started = performance.now()
      const response = await fetch(`${base}/api/v1/integration/dbt/${integration}/upload_artifacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.adminKey}`, 'content-type': 'application/json' },
        body,
      })
      const seconds = (performance.now() - started) / 1000
      const report = await response.text()
      if (response.status !== 200) throw new Error(`dbt upload: ${response.status} ${report}`)
      lines.push(`| ${engine} | dbt manifest of ${models} models, ${round} upload: ${seconds.toFixed(1)} s | | | | 0 |`)
      log(`  dbt manifest of ${models} models, ${round} upload: ${seconds.toFixed(1)} s ${report}`)
    }
    // The bench catalog is reused: what the upload made goes with its integration.
    await fetch(`${base}/api/v1/integration/integrations/${integration}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${info.adminKey}` },
    })
  } finally {
    await stop(server)
  }
}
process.stdout.write(`${lines.join('\n')}\n`)
