import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import pg from 'pg'
import { openStore } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Engine, Store } from '../src/db/types.ts'
import { buildCatalog, type CatalogInfo, findCatalog } from './build-catalog.ts'

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', multiple: true },
    resources: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    out: { type: 'string' },
  },
})
const resources = Number(args.resources)
const duration = Number(args.duration)
const connections = Number(args.connections)
const engines = (args.engine ?? ['sqlite', 'postgres']) as Engine[]
const outDir = resolve(args.out ?? join('bench', 'results', new Date().toISOString().replace(/[:.]/g, '-')))
const POSTGRES_URL = process.env.DOCENT_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
const ROOT = resolve(import.meta.dirname, '..')

for (const [name, value] of [
  ['resources', resources],
  ['duration', duration],
  ['connections', connections],
] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`)
}
for (const engine of engines) {
  if (engine !== 'sqlite' && engine !== 'postgres')
    throw new Error(`--engine must be sqlite or postgres, not ${engine}`)
}

const log = (message: string) => process.stderr.write(`${message}\n`)

/** The store's URL: a file under bench/data, or a database of its own on the PostgreSQL server. */
async function storeUrl(engine: Engine): Promise<string> {
  if (engine === 'sqlite') {
    return `sqlite:${join(ROOT, 'bench', 'data', `catalog-${resources}.db`)}`
  }
  const database = `docent_bench_${resources}`
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database])
  if (rowCount === 0) await client.query(`create database ${database}`)
  await client.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${database}`
  return url.toString()
}

async function prepareCatalog(engine: Engine, url: string): Promise<CatalogInfo> {
  const store: Store = await openStore(url)
  try {
    await migrateToLatest(store.db)
    const existing = await findCatalog(store, resources)
    if (existing !== undefined) {
      log(
        `${engine}: reusing the catalog of ${existing.resources} resources built in ${existing.buildSeconds.toFixed(1)} s`,
      )
      return existing
    }
    const count = await store.db
      .selectFrom('resources')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst()
    if (Number(count?.n) > 0) {
      throw new Error(`${url} holds another catalog: delete it (or drop the database) and run again`)
    }
    log(`${engine}: building a catalog of ${resources} resources`)
    let last = 0
    const info = await buildCatalog(store, resources, (done) => {
      if (done - last >= 50_000 || done === resources) {
        last = done
        log(`  ${done} resources`)
      }
    })
    await sql`analyze`.execute(store.db)
    log(`${engine}: built in ${info.buildSeconds.toFixed(1)} s`)
    return info
  } finally {
    await store.close()
  }
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port')),
      )
    })
  })
}

interface Server {
  child: ChildProcess
  base: string
  coldStartMs: number
}

async function startServer(url: string, key: string): Promise<Server> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'docent.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DOCENT_DATABASE_URL: url, DOCENT_ADMIN_API_KEY: key, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const base = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docent exited with ${child.exitCode} before answering`)
    if (performance.now() - started > 60_000) throw new Error('docent did not answer within 60 s')
    try {
      const response = await fetch(`${base}/api/v1/database/databases/?page_size=1`, {
        headers: { authorization: `Bearer ${key}` },
      })
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  return { child, base, coldStartMs: performance.now() - started }
}

function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1])
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null
  } catch {
    return null
  }
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r))
  server.child.kill('SIGTERM')
  await exited
}

export interface ScenarioResult {
  scenario: string
  engine: Engine
  requests_per_second: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  errors: number
  requests: number
}

/** Drives `url` (or, with `vary`, a new path for each request) and summarizes what the server answered. */
async function load(
  engine: Engine,
  scenario: string,
  url: string,
  key: string,
  vary?: () => string,
): Promise<ScenarioResult> {
  const result = await autocannon({
    url,
    connections,
    duration,
    headers: { authorization: `Bearer ${key}` },
    ...(vary === undefined
      ? {}
      : {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => {
                request.path = vary()
                return request
              },
            },
          ],
        }),
  })
  const errors = result.errors + result.timeouts + result.non2xx
  log(
    `  ${scenario}: ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors ${errors}`,
  )
  return {
    scenario,
    engine,
    requests_per_second: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    errors,
    requests: result.requests.total,
  }
}

/** `customers` in a random mix of cases: the same matches, but a text the result cache has not seen. */
function randomCase(word: string): string {
  return [...word].map((c) => (Math.random() < 0.5 ? c.toUpperCase() : c)).join('')
}

/** The reference docs' example filter, over half the integrations' schemas: enough matches for page 200. */
function exampleFilter(info: CatalogInfo, word = 'customers'): string {
  const integrations = info.integrations.slice(0, Math.max(1, Math.ceil(info.integrations.length * 0.5)))
  const schemas = info.schemas
    .filter((s) => integrations.includes(s.integration))
    .map((s) => s.id)
    .slice(0, 1000)
  return JSON.stringify({
    operator: 'and',
    operands: [
      { operator: 'contains', field: 'title', value: word },
      { operator: 'in', field: 'native_type', value: ['table', 'view'] },
      { operator: 'in', field: 'integration_id', value: integrations },
      { operator: 'in', field: 'parent_id', value: schemas },
    ],
  })
}

const results: ScenarioResult[] = []
const catalogs: Record<
  string,
  { resources: number; build_seconds: number; cold_start_ms: number; peak_rss_mb: number | null }
> = {}
for (const engine of engines) {
  const url = await storeUrl(engine)
  const info = await prepareCatalog(engine, url)
  const server = await startServer(url, info.adminKey)
  log(`${engine}: first 200 after ${server.coldStartMs.toFixed(0)} ms`)
  try {
    const filter = encodeURIComponent(exampleFilter(info))
    const first = await fetch(`${server.base}/api/v1/resource/catalog?filter=${filter}`, {
      headers: { authorization: `Bearer ${info.adminKey}` },
    })
    const { total_pages: totalPages, count } = (await first.json()) as { total_pages: number; count: number }
    const deep = Math.min(200, totalPages)
    log(`  the example filter matches ${count} (pages: ${totalPages}); deep page: ${deep}`)
    results.push(
      await load(
        engine,
        'filtered list, page 1',
        `${server.base}/api/v1/resource/catalog?filter=${filter}`,
        info.adminKey,
      ),
    )
    results.push(
      await load(
        engine,
        `filtered list, page ${deep}`,
        `${server.base}/api/v1/resource/catalog?filter=${filter}&page=${deep}`,
        info.adminKey,
      ),
    )
    results.push(
      await load(engine, 'filtered list, page 1, never cached', `${server.base}/`, info.adminKey, () => {
        return `/api/v1/resource/catalog?filter=${encodeURIComponent(exampleFilter(info, randomCase('customers')))}`
      }),
    )
    catalogs[engine] = {
      resources: info.resources,
      build_seconds: info.buildSeconds,
      cold_start_ms: Math.round(server.coldStartMs),
      peak_rss_mb: peakRssMb(server.child.pid),
    }
  } finally {
    await stopServer(server)
  }
}

mkdirSync(outDir, { recursive: true })
const report = { created_at: new Date().toISOString(), resources, duration_s: duration, connections, catalogs, results }
writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)
const lines = [
  `# docent benchmark (${resources} resources, ${connections} connections, ${duration} s per scenario)`,
  '',
  '| engine | scenario | req/s | p50 ms | p99 ms | max ms | errors |',
  '|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.engine} | ${r.scenario} | ${r.requests_per_second} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} | ${r.errors} |`,
  ),
  '',
  '| engine | resources | build s | cold start ms | peak RSS MB |',
  '|---|---|---|---|---|',
  ...Object.entries(catalogs).map(
    ([engine, c]) =>
      `| ${engine} | ${c.resources} | ${c.build_seconds.toFixed(1)} | ${c.cold_start_ms} | ${c.peak_rss_mb ?? 'n/a'} |`,
  ),
  '',
]
writeFileSync(join(outDir, 'report.md'), lines.join('\n'))
process.stdout.write(lines.join('\n'))
log(`reports in ${outDir}`)
if (!existsSync(outDir)) process.exitCode = 1
