import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { openStore } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Engine } from '../src/db/types.ts'
import { nowIso } from '../src/db/values.ts'
import { insertIntegration } from '../src/directory/integrations/repository.ts'
import { generateApiKey } from '../src/directory/keys/repository.ts'
import { createWorkspace } from '../src/directory/workspaces/repository.ts'
import { carryOutRun } from '../src/extract/runner.ts'
import { insertRun } from '../src/extract/runs.ts'
import { sourceAccess } from '../src/extract/source-access.ts'

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', multiple: true },
    tables: { type: 'string', default: '2000' },
    columns: { type: 'string', default: '25' },
  },
})
const tables = Number(args.tables)
const columns = Number(args.columns)
const engines = (args.engine ?? ['sqlite', 'postgres']) as Engine[]
const SERVER = process.env.DOCENT_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
const log = (message: string) => process.stderr.write(`${message}\n`)

function urlFor(database: string): string {
  const url = new URL(SERVER)
  url.pathname = `/${database}`
  return url.toString()
}

/** A PostgreSQL source of `tables` tables of `columns` columns in 10 schemas, made once and reused. */
async function prepareSource(): Promise<string> {
  const database = `docent_bench_src_${tables}x${columns}`
  const admin = new pg.Client({ connectionString: SERVER })
  await admin.connect()
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [database])).rowCount === 1
  if (!exists) {
    await admin.query(`create database ${database}`)
  }
  await admin.end()
  const source = new pg.Client({ connectionString: urlFor(database) })
  await source.connect()
  const made = await source.query(
    "select count(*)::int as n from information_schema.tables where table_schema like 'bench_%'",
  )
  if (made.rows[0].n !== tables) {
    log(`making the source: ${tables} tables × ${columns} columns in ${database}`)
    await source.query('begin')
    for (let s = 0; s < 10; s++) await source.query(`create schema if not exists bench_${s}`)
    for (let t = 0; t < tables; t++) {
      const cols = Array.from({ length: columns }, (_, c) => `c${c} ${c === 0 ? 'bigint primary key' : 'text'}`)
      await source.query(`create table if not exists bench_${t % 10}.table_${t} (${cols.join(', ')})`)
      if (t % 4 === 0) await source.query(`comment on table bench_${t % 10}.table_${t} is 'table number ${t}'`)
    }
    await source.query('commit')
    await source.query('analyze')
  }
  await source.end()
  return urlFor(database)
}

const sourceUrl = await prepareSource()
const results: { engine: Engine; first_s: number; resync_s: number; resources: number }[] = []
for (const engine of engines) {
  const dir = mkdtempSync(join(tmpdir(), 'docent-sync-bench-'))
  const schema = `docent_sync_bench_${process.pid}`
  const store =
    engine === 'sqlite' ? await openStore(`sqlite:${join(dir, 'catalog.db')}`) : await openStore(SERVER, { schema })
  try {
    await migrateToLatest(store.db)
    const { workspaceId, defaultTeamId } = await store.write((trx) =>
      createWorkspace(trx, {
        name: 'bench',
        adminEmail: 'admin@bench.example',
        adminKey: generateApiKey(),
      }),
    )
    const integrationId = await insertIntegration(
      store.db,
      workspaceId,
      { name: 'bench source', type: 'postgres', credentials: { url: sourceUrl } },
      [defaultTeamId],
      nowIso(),
    )
    const timed = async () => {
      const run = await insertRun(store.db, { workspaceId, integrationId })
      if (run === undefined) throw new Error('a run is active')
      const started = performance.now()
      const access = sourceAccess(store, { sqliteDirs: undefined, allowedHosts: undefined })
      const outcome = await carryOutRun(store, run.id, integrationId, { access })
      const seconds = (performance.now() - started) / 1000
      if (outcome.status !== 'succeeded') throw new Error(`sync ${outcome.status}: ${outcome.error}`)
      return { seconds, outcome }
    }
    const first = await timed()
    log(`${engine}: first sync ${first.seconds.toFixed(1)} s ${JSON.stringify(first.outcome.counts)}`)
    const again = await timed()
    log(`${engine}: re-sync ${again.seconds.toFixed(1)} s ${JSON.stringify(again.outcome.counts)}`)
    results.push({ engine, first_s: first.seconds, resync_s: again.seconds, resources: first.outcome.counts.created })
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
    if (engine === 'postgres') {
      const client = new pg.Client({ connectionString: SERVER })
      await client.connect()
      await client.query(`drop schema if exists ${schema} cascade`)
      await client.end()
    }
  }
}
const lines = [
  `| engine | source | resources | first sync s | re-sync s |`,
  '|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.engine} | ${tables} tables × ${columns} columns | ${r.resources} | ${r.first_s.toFixed(1)} | ${r.resync_s.toFixed(1)} |`,
  ),
  '',
]
process.stdout.write(lines.join('\n'))
