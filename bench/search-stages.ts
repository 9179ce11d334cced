// Each stage of one search (src/catalog/search.ts `searchStages`) as the statement List Resources runs, timed on a
// store a benchmark built: SQLite prints the plan and the mean of 5 warm runs; PostgreSQL EXPLAIN ANALYZE.
//   node --import tsx bench/search-stages.ts <store url> [search term, default customers_7]
import Database from 'better-sqlite3'
import pg from 'pg'
import { parseSearchTerm, planSearch, searchStages } from '../src/catalog/search.ts'
import { openStore } from '../src/db/connect.ts'

const url = process.argv[2]
if (url === undefined) throw new Error('give the store url of a catalog npm run bench built')
const store = await openStore(url)
const admin = await store.db
  .selectFrom('users')
  .select(['id', 'workspace_id'])
  .where('role', '=', 'admin')
  .executeTakeFirstOrThrow()
const search = await planSearch(store.db, admin.workspace_id, parseSearchTerm(process.argv[3] ?? 'customers_7'))
const compiled = searchStages(store.engine, search, false).map((stage) =>
  stage
    .order(
      store.db
        .selectFrom('resources')
        .select('resources.id')
        .where('resources.workspace_id', '=', admin.workspace_id)
        .where(stage.where),
    )
    .limit(10_000)
    .compile(),
)
await store.close()
if (url.startsWith('sqlite:')) {
  const raw = new Database(url.slice('sqlite:'.length), { readonly: true })
  raw.pragma('mmap_size = 2147418112')
  raw.function('lower', { deterministic: true }, (text: unknown) =>
    typeof text === 'string' ? text.toLowerCase() : text,
  )
  for (const [i, query] of compiled.entries()) {
    const parameters = query.parameters as unknown[]
    const plan = raw.prepare(`explain query plan ${query.sql}`).all(...parameters) as { detail: string }[]
    const statement = raw.prepare(query.sql)
    let rows = statement.all(...parameters).length
    const started = performance.now()
    for (let run = 0; run < 5; run++) rows = statement.all(...parameters).length
    console.log(`stage ${i}: ${((performance.now() - started) / 5).toFixed(1)} ms, ${rows} rows`)
    console.log(plan.map((p) => `  ${p.detail}`).join('\n'))
  }
  raw.close()
} else {
  const client = new pg.Client({ connectionString: url, options: '-c jit=off' })
  await client.connect()
  for (const [i, query] of compiled.entries()) {
    const { rows } = await client.query(`explain (analyze, buffers) ${query.sql}`, query.parameters as unknown[])
    console.log(`stage ${i}:`)
    console.log(rows.map((r: Record<string, string>) => `  ${r['QUERY PLAN']}`).join('\n'))
  }
  await client.end()
}
