/**
 * A client that writes where docent never reads, at a steady rate, until SIGTERM; then prints
 * `{"writes": n, "seconds": s}` and exits. Run as its own process so that its commits (and SQLite's fsyncs) never
 * stall the load generator.
 *
 *   node --import tsx bench/unrelated-writer.ts postgres <server URL> <writes a second>
 *     inserts into `unrelated_writes` of the database `docent_bench_unrelated` on that PostgreSQL server
 *   node --import tsx bench/unrelated-writer.ts sqlite <catalog file> <writes a second>
 *     inserts into the table `bench_unrelated_writes` of that SQLite file, which docent has no use for
 *
 * It prints `ready` once it is connected and has written once.
 */
import SQLite from 'better-sqlite3'
import pg from 'pg'

const [engine, target, rateText] = process.argv.slice(2)
const rate = Number(rateText ?? 50)
if ((engine !== 'postgres' && engine !== 'sqlite') || target === undefined || !(rate > 0)) {
  throw new Error('usage: unrelated-writer.ts postgres|sqlite <server URL|catalog file> <writes a second>')
}

let insert: () => Promise<void>
let close: () => Promise<void>
if (engine === 'postgres') {
  const admin = new pg.Client({ connectionString: target })
  await admin.connect()
  const { rowCount } = await admin.query(`select 1 from pg_database where datname = 'docent_bench_unrelated'`)
  if (rowCount === 0) await admin.query('create database docent_bench_unrelated')
  await admin.end()
  const url = new URL(target)
  url.pathname = '/docent_bench_unrelated'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  await client.query(
    'create table if not exists unrelated_writes (id bigserial primary key, at timestamptz, note text)',
  )
  await client.query('truncate unrelated_writes')
  insert = async () => {
    await client.query('insert into unrelated_writes (at, note) values (now(), $1)', ['an unrelated write'])
  }
  close = () => client.end()
} else {
  const sqlite = new SQLite(target)
  sqlite.pragma('busy_timeout = 5000')
  sqlite.exec('create table if not exists bench_unrelated_writes (id integer primary key, at text, note text)')
  const statement = sqlite.prepare('insert into bench_unrelated_writes (at, note) values (?, ?)')
  insert = async () => {
    statement.run(new Date().toISOString(), 'an unrelated write')
  }
  close = async () => {
    sqlite.exec('drop table if exists bench_unrelated_writes')
    sqlite.close()
  }
}

await insert()
let writes = 1
const started = performance.now()
process.stdout.write('ready\n')

// Each write is due at a fixed time from the start, so a slow one is caught up on and the rate holds.
let stopping = false
process.once('SIGTERM', () => {
  stopping = true
})
while (!stopping) {
  const due = started + (writes / rate) * 1000
  const wait = due - performance.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  if (stopping) break
  await insert()
  writes++
}
const seconds = (performance.now() - started) / 1000
await close()
process.stdout.write(`${JSON.stringify({ writes, seconds })}\n`)
