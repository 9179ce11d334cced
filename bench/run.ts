import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { hashApiKey } from '../src/access/keys.ts'
import { findResourceForKey } from '../src/catalog/repository/reads.ts'
import { openStore } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Engine, Store } from '../src/db/types.ts'
import {
  buildCatalog,
  type CatalogInfo,
  exampleFilter,
  findCatalog,
  neverCachedLists,
  postedTableTitle,
  removePostedTables,
} from './build-catalog.ts'
import { type BurstReport, burstAfterWrite, type WriterReport, withUnrelatedWriter } from './cache-scenarios.ts'
import { catalogUrl, POSTGRES_URL, peakRssMb, ROOT, type Server, startCeiling, startDocent, stop } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', multiple: true },
    resources: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    burst: { type: 'string', default: '500' },
    'burst-rounds': { type: 'string', default: '5' },
    'unrelated-writes': { type: 'string', default: '50' },
  },
})
const resources = Number(args.resources)
const duration = Number(args.duration)
const connections = Number(args.connections)
const burst = Number(args.burst)
const burstRounds = Number(args['burst-rounds'])
const unrelatedWrites = Number(args['unrelated-writes'])
const engines = (args.engine ?? ['sqlite', 'postgres']) as Engine[]
const outDir = resolve(args.out ?? join(ROOT, 'bench', 'results', new Date().toISOString().replace(/[:.]/g, '-')))

for (const [name, value] of [
  ['resources', resources],
  ['duration', duration],
  ['connections', connections],
  ['burst', burst],
  ['burst-rounds', burstRounds],
  ['unrelated-writes', unrelatedWrites],
] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`)
}
for (const engine of engines) {
  if (engine !== 'sqlite' && engine !== 'postgres')
    throw new Error(`--engine must be sqlite or postgres, not ${engine}`)
}

const log = (message: string) => process.stderr.write(`${message}\n`)
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T

/** The catalog's store (`catalogUrl`), its PostgreSQL database created when missing. */
async function storeUrl(engine: Engine): Promise<string> {
  const url = catalogUrl(engine, resources)
  if (engine === 'sqlite') return url
  const database = new URL(url).pathname.slice(1)
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database])
  if (rowCount === 0) await client.query(`create database ${database}`)
  await client.end()
  return url
}

/** The store's size on disk, in MB. */
async function storeSizeMb(engine: Engine, url: string): Promise<number> {
  if (engine === 'sqlite') {
    const file = url.slice('sqlite:'.length)
    const bytes = [file, `${file}-wal`].reduce((sum, path) => sum + (existsSync(path) ? statSync(path).size : 0), 0)
    return Math.round(bytes / 2 ** 20)
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query('select pg_database_size(current_database()) as bytes')
    return Math.round(Number(rows[0].bytes) / 2 ** 20)
  } finally {
    await client.end()
  }
}

/** Reuses the catalog of this size that an earlier run built, or builds it. */
async function prepareCatalog(engine: Engine, url: string): Promise<CatalogInfo> {
  const store: Store = await openStore(url)
  try {
    await migrateToLatest(store.db)
    const existing = await findCatalog(store, resources)
    if (existing !== undefined) {
      log(
        `${engine}: reusing the catalog of ${existing.resources} resources built in ${existing.buildSeconds.toFixed(1)} s`,
      )
      const removed = await removePostedTables(store)
      if (removed > 0) log(`${engine}: removed ${removed} tables that earlier runs' POST scenario created`)
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
      if (done - last >= 100_000) {
        last = done
        log(`  ${done} resources`)
      }
    })
    log(`${engine}: built in ${info.buildSeconds.toFixed(1)} s`)
    return info
  } finally {
    await store.close()
  }
}

/**
 * Reads the whole catalog once, so that the scenarios measure docent and not the disk: the OS keeps what was read
 * in its page cache (some virtual machines reclaim pages left cold for a while, so this runs right before).
 * SQLite: the file; PostgreSQL: every table and index of the database, through pg_prewarm where it is available.
 */
async function warmCatalog(engine: Engine, url: string): Promise<void> {
  const started = performance.now()
  let bytes = 0
  if (engine === 'sqlite') {
    const file = url.slice('sqlite:'.length)
    const handle = openSync(file, 'r')
    const buffer = Buffer.alloc(1 << 20)
    try {
      for (let read = readSync(handle, buffer); read > 0; read = readSync(handle, buffer)) bytes += read
    } finally {
      closeSync(handle)
    }
  } else {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query('create extension if not exists pg_prewarm')
      const { rows } = await client.query<{ blocks: string }>(
        `select coalesce(sum(pg_prewarm(c.oid::regclass, 'read')), 0) as blocks from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = current_schema() and c.relkind in ('r', 'i')`,
      )
      bytes = Number(rows[0]?.blocks) * 8192
    } catch (error) {
      log(`${engine}: could not warm the catalog (${(error as Error).message}); measuring it as it is`)
      return
    } finally {
      await client.end()
    }
  }
  log(
    `${engine}: read ${Math.round(bytes / 2 ** 20)} MB of the catalog in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
}

export interface ScenarioResult {
  engine: Engine
  scenario: string
  requests_per_second: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  errors: number
  requests: number
  /** requests_per_second ÷ the ceiling's requests_per_second on the same machine, same connections. */
  ratio: number | null
}

interface Scenario {
  name: string
  method?: 'GET' | 'POST' | 'PATCH'
  /** A fixed path, or one made anew for each request. */
  path: string | (() => string)
  body?: () => string
  /** Driven while another client writes elsewhere on the database server (see cache-scenarios.ts). */
  unrelatedWriter?: boolean
}

async function drive(
  engine: Engine,
  base: string,
  key: string,
  scenario: Scenario,
  seconds = duration,
): Promise<ScenarioResult> {
  const varies = typeof scenario.path === 'function' || scenario.body !== undefined
  const pathFor = () => (typeof scenario.path === 'function' ? scenario.path() : scenario.path)
  const result = await autocannon({
    url: `${base}${pathFor()}`,
    connections,
    duration: seconds,
    method: scenario.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(varies
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => {
                request.path = pathFor()
                if (scenario.body !== undefined) request.body = scenario.body()
                return request
              },
            },
          ],
        }
      : {}),
  })
  const errors = result.errors + result.timeouts + result.non2xx
  log(
    `  ${scenario.name}: ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors ${errors}`,
  )
  return {
    engine,
    scenario: scenario.name,
    requests_per_second: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    errors,
    requests: result.requests.total,
    ratio: null,
  }
}

/**
 * The store's own share of a GET by id, without HTTP: `connections` loops in this process run the statements the
 * route runs (the key and the resource with its lists, as `findResourceForKey` reads them) on random tables, for
 * `duration` seconds, on a store opened as the server opens it. It bounds what the HTTP scenario can reach.
 */
async function storeOnly(engine: Engine, url: string, info: CatalogInfo): Promise<ScenarioResult> {
  const store = await openStore(url)
  const latencies: number[] = []
  let failures = 0
  try {
    const hash = hashApiKey(info.adminKey)
    const end = performance.now() + duration * 1000
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          const started = performance.now()
          const { found } = await findResourceForKey(store.db, hash, pick(info.tables), undefined)
          latencies.push(performance.now() - started)
          if (found === undefined) failures++
        }
      }),
    )
  } finally {
    await store.close()
  }
  latencies.sort((a, b) => a - b)
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2))
  const result: ScenarioResult = {
    engine,
    scenario: 'GET by id, store only (no HTTP)',
    requests_per_second: Number((latencies.length / duration).toFixed(1)),
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: Number((latencies.at(-1) ?? 0).toFixed(2)),
    errors: failures,
    requests: latencies.length,
    ratio: null,
  }
  log(`  ${result.scenario}: ${result.requests_per_second} reads/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms`)
  return result
}

/**
 * Waits until the server has worked off what the last scenario left queued (requests the load generator gave up
 * on are still served), so that each scenario is measured on its own: three health checks in a row answer within
 * 20 ms, and on PostgreSQL no statement of the catalog's database is still running (a search the client gave up
 * on keeps a backend busy after the pool has freed a connection for the health check).
 */
async function settle(base: string, postgresUrl?: string): Promise<void> {
  const deadline = performance.now() + 120_000
  let fast = 0
  while (performance.now() < deadline && fast < 3) {
    const started = performance.now()
    await fetch(`${base}/healthcheck`).catch(() => undefined)
    fast = performance.now() - started < 20 ? fast + 1 : 0
    if (fast < 3) await new Promise((r) => setTimeout(r, 100))
  }
  if (postgresUrl === undefined) return
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    while (performance.now() < deadline) {
      const { rows } = await client.query(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
      )
      if (rows[0].n === 0) return
      await new Promise((r) => setTimeout(r, 100))
    }
    log('  (statements were still running on the catalog database after 120 s; measuring anyway)')
  } finally {
    await client.end()
  }
}

const BULK_SCENARIO = 'bulk update of 1,000 columns (tags and description), one request at a time'

/**
 * CONTRACT §12's bulk update as a client sends it: 1,000 columns given a tag and a description in one request (one
 * transaction), five times in sequence, each time other columns; reported per request.
 */
async function bulkOfColumns(engine: Engine, base: string, key: string): Promise<ScenarioResult> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  const tagAnswer = await fetch(`${base}/api/v1/tag`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: `bench bulk ${Date.now()}` }),
  })
  if (tagAnswer.status !== 201) throw new Error(`creating the bulk scenario's tag: ${tagAnswer.status}`)
  const tag = ((await tagAnswer.json()) as { id: string }).id
  // Up to 5,000 columns, 1,000 a round (a small catalog's columns are reused, and may be fewer than 1,000).
  const columns: string[] = []
  for (let page = 1; columns.length < 5000; page++) {
    const listed = await fetch(`${base}/api/v1/resource/catalog?entity_type=column&page_size=100&page=${page}`, {
      headers,
    })
    if (listed.status !== 200) break
    const results = ((await listed.json()) as { results: { id: string }[] }).results
    if (results.length === 0) break
    columns.push(...results.map((r) => r.id))
  }
  if (columns.length === 0) throw new Error('the bulk scenario found no columns in the catalog')
  const times: number[] = []
  let errors = 0
  for (let round = 0; round < 5; round++) {
    const start = (round * 1000) % columns.length
    const ids = [...columns.slice(start), ...columns.slice(0, start)].slice(0, 1000)
    const body = JSON.stringify(ids.map((id) => ({ id, data: { tags: [tag], description: `bulk ${round} ${id}` } })))
    const started = performance.now()
    const answer = await fetch(`${base}/api/v1/resource/all/bulk_update`, { method: 'POST', headers, body })
    await answer.arrayBuffer()
    times.push(performance.now() - started)
    if (answer.status !== 200) errors++
  }
  times.sort((a, b) => a - b)
  const p50 = Math.round(times[Math.floor(times.length / 2)] ?? 0)
  const max = Math.round(times.at(-1) ?? 0)
  log(`  ${BULK_SCENARIO}: p50 ${p50} ms, max ${max} ms, errors ${errors}`)
  return {
    engine,
    scenario: BULK_SCENARIO,
    requests_per_second: Number((1000 / Math.max(1, p50)).toFixed(2)),
    p50_ms: p50,
    p99_ms: max,
    max_ms: max,
    errors,
    requests: times.length,
    ratio: null,
  }
}

/** Slices of one scenario as one result: requests and errors add up, p99 and max are the slices' largest. */
function mergeSlices(name: string, slices: ScenarioResult[]): ScenarioResult {
  const sum = (pick: (r: ScenarioResult) => number) => slices.reduce((n, r) => n + pick(r), 0)
  const p50s = slices.map((r) => r.p50_ms).sort((a, b) => a - b)
  return {
    engine: slices[0]?.engine as Engine,
    scenario: name,
    requests_per_second: Number((sum((r) => r.requests_per_second) / slices.length).toFixed(1)),
    p50_ms: p50s[Math.floor(p50s.length / 2)] ?? 0,
    p99_ms: Math.max(...slices.map((r) => r.p99_ms)),
    max_ms: Math.max(...slices.map((r) => r.max_ms)),
    errors: sum((r) => r.errors),
    requests: sum((r) => r.requests),
    ratio: null,
  }
}

/**
 * A list with and without an unrelated writer, in three pairs of slices in the order AB BA AB, so that a load that
 * drifts over the run (other processes on the machine) weighs on both alike.
 */
async function alongsideWriter(
  engine: Engine,
  base: string,
  key: string,
  scenario: Scenario,
  target: string,
): Promise<{ alone: ScenarioResult; along: ScenarioResult; writer: WriterReport }> {
  const seconds = Math.max(1, Math.ceil(duration / 3))
  const alone: ScenarioResult[] = []
  const along: ScenarioResult[] = []
  const writers: WriterReport[] = []
  for (const order of [
    [false, true],
    [true, false],
    [false, true],
  ]) {
    for (const withWriter of order) {
      if (withWriter) {
        const run = await withUnrelatedWriter(engine, target, unrelatedWrites, () =>
          drive(engine, base, key, scenario, seconds),
        )
        along.push(run.result)
        writers.push(run.writer)
      } else {
        alone.push(await drive(engine, base, key, { ...scenario, name: ALONE_SCENARIO }, seconds))
      }
      await settle(base)
    }
  }
  const writes = writers.reduce((n, w) => n + w.writes, 0)
  const writing = writers.reduce((n, w) => n + w.seconds, 0)
  const writer = {
    ...(writers[0] as WriterReport),
    writes,
    seconds: Number(writing.toFixed(1)),
    writes_per_second: Number((writes / writing).toFixed(1)),
  }
  return { alone: mergeSlices(ALONE_SCENARIO, alone), along: mergeSlices(scenario.name, along), writer }
}

/** `id in [...]` over 1,000 tables picked at random: a list the result cache has not seen. */
function idListFilter(info: CatalogInfo): string {
  const ids = Array.from({ length: 1000 }, () => pick(info.tables))
  return encodeURIComponent(JSON.stringify({ operator: 'in', field: 'id', value: ids }))
}

const results: ScenarioResult[] = []
const engineFacts: Record<
  string,
  {
    resources: number
    build_seconds: number
    /** The store's size on disk as the run found it: the SQLite file and its WAL, or the PostgreSQL database. */
    store_mb: number
    cold_start_ms: number
    /** Over the scenarios (GET, lists, PATCH, POST). */
    peak_rss_mb: number | null
    /** Over every scenario, the never-cached list too. */
    peak_rss_mb_all: number | null
    /** The List Resources cache under an unrelated writer and under a burst of identical lists after a write. */
    cache: {
      unrelated_writer: WriterReport & {
        plain_list_rps: number
        list_rps: number
        /** How much the writer changed the list's throughput, in percent. */
        change_percent: number
      }
      burst_after_write: BurstReport
    }
  }
> = {}
const WRITER_SCENARIO = 'filtered list, page 1, with an unrelated writer'
const ALONE_SCENARIO = 'filtered list, page 1, alone (slices alternating with the writer)'
const BURST_SCENARIO = 'a write, then a burst of identical lists'
for (const engine of engines) {
  const url = await storeUrl(engine)
  const info = await prepareCatalog(engine, url)
  const storeMb = await storeSizeMb(engine, url)
  await warmCatalog(engine, url)
  // With --profile, V8 writes a CPU profile of the server (`node --cpu-prof`) when it stops; it slows the server.
  const profileArgs = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(outDir, 'profiles', engine)}`] : []
  const server: Server = await startDocent(url, info.adminKey, profileArgs)
  log(`${engine}: first 200 after ${server.coldStartMs.toFixed(0)} ms`)
  const ours: ScenarioResult[] = []
  try {
    const get = async (path: string) =>
      fetch(`${server.base}${path}`, { headers: { authorization: `Bearer ${info.adminKey}` } })
    const filter = exampleFilter(info)
    const firstPage = (await (await get(`/api/v1/resource/catalog?filter=${filter}`)).json()) as {
      total_pages: number
      count: number
    }
    const deep = Math.min(200, firstPage.total_pages)
    log(`  the example filter matches ${firstPage.count} (pages: ${firstPage.total_pages}); deep page: ${deep}`)
    const scenarios: Scenario[] = [
      { name: 'GET by id', path: () => `/api/v1/resource/all/${pick(info.tables)}` },
      { name: 'filtered list, page 1', path: `/api/v1/resource/catalog?filter=${filter}` },
      { name: WRITER_SCENARIO, path: `/api/v1/resource/catalog?filter=${filter}`, unrelatedWriter: true },
      { name: `filtered list, page ${deep}`, path: `/api/v1/resource/catalog?filter=${filter}&page=${deep}` },
      {
        name: 'PATCH description',
        method: 'PATCH',
        path: () => `/api/v1/resource/all/${pick(info.tables)}`,
        body: () => JSON.stringify({ description: `benchmark note ${Math.random()}` }),
      },
      {
        name: 'POST a table',
        method: 'POST',
        path: '/api/v1/table/tables',
        body: () => JSON.stringify({ title: postedTableTitle(), parent: pick(info.schemas).id }),
      },
      {
        // CONTRACT §5's `in` with 1,000 values: one bound parameter for the whole list, a new list each request.
        name: 'an `in` list of 1,000 ids (never cached)',
        path: () => `/api/v1/resource/catalog?filter=${idListFilter(info)}`,
      },
      ...neverCachedLists(info),
    ]
    let peakBeforeNeverCached: number | null = null
    let writer: WriterReport | undefined
    for (const scenario of scenarios) {
      if (scenario.name.endsWith('never cached')) peakBeforeNeverCached = peakRssMb(server.child.pid)
      if (scenario.unrelatedWriter) {
        const target = engine === 'postgres' ? POSTGRES_URL : url.slice('sqlite:'.length)
        const run = await alongsideWriter(engine, server.base, info.adminKey, scenario, target)
        writer = run.writer
        ours.push(run.alone, run.along)
        log(
          `  the list alone ${run.alone.requests_per_second} req/s, with the writer ${run.along.requests_per_second} req/s; the writer: ${writer.writes_per_second} writes/s, ${writer.target}`,
        )
      } else {
        ours.push(await drive(engine, server.base, info.adminKey, scenario))
        if (scenario.method === 'POST') {
          // What the scenario created goes, so that the lists after it (and the next run) see the built catalog.
          const store = await openStore(url)
          try {
            log(`  removed the ${await removePostedTables(store)} tables the scenario created`)
          } finally {
            await store.close()
          }
        }
      }
      await settle(server.base, engine === 'postgres' ? url : undefined)
    }
    ours.push(await bulkOfColumns(engine, server.base, info.adminKey))
    await settle(server.base, engine === 'postgres' ? url : undefined)
    const peakAll = peakRssMb(server.child.pid)
    // The burst runs on a server of its own, started for it, as the last thing: its peak RSS is then what a burst
    // costs, not what the scenarios before it left in the heap for V8 to collect some time later (with them, the
    // peak moved by 100 MB between runs of the same code).
    // One round first, not measured: a server that has run a while has compiled its code and prepared its
    // statements on every connection, which a fresh one does during its first burst (p99 868 ms in the first of
    // three runs of bench/burst.ts on PostgreSQL, 326–391 ms in the next two).
    const burstServer = await startDocent(url, info.adminKey, [])
    let bursts: BurstReport
    try {
      const burstOf = (rounds: number) =>
        burstAfterWrite({
          base: burstServer.base,
          key: info.adminKey,
          listPath: `/api/v1/resource/catalog?filter=${filter}`,
          patch: () => ({
            path: `/api/v1/resource/all/${pick(info.tables)}`,
            body: JSON.stringify({ description: `benchmark burst ${Math.random()}` }),
          }),
          rounds,
          burst,
          serverPid: burstServer.child.pid,
        })
      await burstOf(1)
      bursts = await burstOf(burstRounds)
    } finally {
      await stop(burstServer)
    }
    log(
      `  ${BURST_SCENARIO} (a fresh server): ${burstRounds} × ${burst}, p50 ${bursts.p50_ms} ms, p99 ${bursts.p99_ms} ms, errors ${bursts.errors}, server peak RSS ${bursts.peak_rss_mb} MB (private ${bursts.peak_private_mb} MB)`,
    )
    ours.push({
      engine,
      scenario: BURST_SCENARIO,
      requests_per_second: bursts.requests_per_second,
      p50_ms: bursts.p50_ms,
      p99_ms: bursts.p99_ms,
      max_ms: bursts.max_ms,
      errors: bursts.errors,
      requests: bursts.requests,
      ratio: null,
    })
    const rps = (name: string) => ours.find((r) => r.scenario === name)?.requests_per_second ?? 0
    if (writer === undefined) throw new Error('the unrelated writer did not run')
    // The ceiling answers with the very bytes of a GET by id, driven the same way.
    const sample = await (await get(`/api/v1/resource/all/${pick(info.tables)}`)).arrayBuffer()
    const bodyFile = join(mkdtempSync(join(tmpdir(), 'docent-ceiling-')), 'body.json')
    writeFileSync(bodyFile, Buffer.from(sample))
    engineFacts[engine] = {
      resources: info.resources,
      build_seconds: Number(info.buildSeconds.toFixed(1)),
      store_mb: storeMb,
      cold_start_ms: Math.round(server.coldStartMs),
      peak_rss_mb: peakBeforeNeverCached,
      peak_rss_mb_all: peakAll,
      cache: {
        unrelated_writer: {
          ...writer,
          plain_list_rps: rps(ALONE_SCENARIO),
          list_rps: rps(WRITER_SCENARIO),
          change_percent: Number(((rps(WRITER_SCENARIO) / rps(ALONE_SCENARIO) - 1) * 100).toFixed(1)),
        },
        burst_after_write: bursts,
      },
    }
    await stop(server)
    ours.push(await storeOnly(engine, url, info))
    const ceilingServer = await startCeiling(bodyFile)
    try {
      const ceiling = await drive(engine, ceilingServer.base, info.adminKey, { name: 'ceiling', path: '/' })
      for (const r of ours) {
        // One request at a time, not under 32 connections: no ratio to the ceiling means anything.
        if (r.scenario === BULK_SCENARIO) continue
        r.ratio =
          ceiling.requests_per_second > 0
            ? Number((r.requests_per_second / ceiling.requests_per_second).toFixed(3))
            : null
      }
      ceiling.ratio = 1
      results.push(...ours, ceiling)
    } finally {
      await stop(ceilingServer)
    }
  } finally {
    await stop(server)
  }
}

mkdirSync(outDir, { recursive: true })
const report = {
  created_at: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  resources,
  duration_s: duration,
  connections,
  engines: engineFacts,
  results,
}
writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)
const lines = [
  `# docent benchmark: ${resources} resources, ${connections} connections, ${duration} s per scenario`,
  '',
  '| engine | scenario | req/s | p50 ms | p99 ms | max ms | errors | ratio |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.engine} | ${r.scenario} | ${r.requests_per_second} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} | ${r.errors} | ${r.ratio ?? ''} |`,
  ),
  '',
  '| engine | resources | build s | store MB | cold start to first 200 ms | server peak RSS MB | with the never-cached list |',
  '|---|---|---|---|---|---|---|',
  ...Object.entries(engineFacts).map(
    ([engine, f]) =>
      `| ${engine} | ${f.resources} | ${f.build_seconds} | ${f.store_mb} | ${f.cold_start_ms} | ${f.peak_rss_mb ?? 'n/a'} | ${f.peak_rss_mb_all ?? 'n/a'} |`,
  ),
  '',
  '## The List Resources cache',
  '',
  `An unrelated writer: the filtered list, page 1, alone and while another process makes ${unrelatedWrites} writes a second where docent does not read, in slices that alternate (AB BA AB).`,
  '',
  '| engine | plain list req/s | with the writer req/s | change | writes/s | the writer |',
  '|---|---|---|---|---|---|',
  ...Object.entries(engineFacts).map(([engine, { cache: c }]) => {
    const w = c.unrelated_writer
    return `| ${engine} | ${w.plain_list_rps} | ${w.list_rps} | ${w.change_percent}% | ${w.writes_per_second} | ${w.target} |`
  }),
  '',
  `A write, then a burst: ${burstRounds} times, one PATCH and then ${burst} identical filtered lists (page 1) sent at once.`,
  '',
  '| engine | requests | p50 ms | p99 ms | max ms | errors | server peak RSS MB during the bursts | of which private (peak) |',
  '|---|---|---|---|---|---|---|---|',
  ...Object.entries(engineFacts).map(([engine, { cache: c }]) => {
    const b = c.burst_after_write
    return `| ${engine} | ${b.requests} | ${b.p50_ms} | ${b.p99_ms} | ${b.max_ms} | ${b.errors} | ${b.peak_rss_mb ?? 'n/a'} | ${b.peak_private_mb ?? 'n/a'} |`
  }),
  '',
]
writeFileSync(join(outDir, 'report.md'), lines.join('\n'))
process.stdout.write(lines.join('\n'))
log(`reports in ${outDir}`)
