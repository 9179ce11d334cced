// Issue 18's scenarios alone, on a catalog `npm run bench` built: GET by id, PATCH description and POST a table
// under 32 connections, then the ceiling with the bytes of one GET, in the same run. A quicker loop than the whole
// benchmark when working on the read or write path (`npm run build` first: the server runs dist/ when it is newer).
//
//   node --import tsx bench/read-write.ts --url sqlite:bench/data/catalog-1000000.db [--only get,patch,post]
//     [--seconds 10] [--resources 1000000] [-- node options for the server, e.g. --cpu-prof]
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { openStore } from '../src/db/connect.ts'
import { findCatalog, postedTableTitle, removePostedTables } from './build-catalog.ts'
import { peakRssMb, startCeiling, startDocent, stop } from './processes.ts'

const { values: args, positionals } = parseArgs({
  options: {
    url: { type: 'string' },
    only: { type: 'string', default: 'get,patch,post' },
    seconds: { type: 'string', default: '10' },
    resources: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '32' },
  },
  allowPositionals: true,
})
if (args.url === undefined) throw new Error('--url <store url of a catalog npm run bench built> is required')
const seconds = Number(args.seconds)
const connections = Number(args.connections)
const store = await openStore(args.url)
const info = await findCatalog(store, Number(args.resources))
// Tables an earlier run's POST scenario created go first, and this run's at the end (bench/build-catalog.ts).
await removePostedTables(store)
await store.close()
if (info === undefined) throw new Error(`${args.url} holds no benchmark catalog of ${args.resources} resources`)
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T
const headers = { authorization: `Bearer ${info.adminKey}`, 'content-type': 'application/json' }

async function drive(
  base: string,
  name: string,
  method: 'GET' | 'PATCH' | 'POST',
  path: () => string,
  body?: () => string,
) {
  const result = await autocannon({
    url: `${base}${path()}`,
    connections,
    duration: seconds,
    method,
    headers,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          request.path = path()
          if (body !== undefined) request.body = body()
          return request
        },
      },
    ],
  })
  const errors = result.errors + result.timeouts + result.non2xx
  process.stdout.write(
    `${name.padEnd(8)} ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors ${errors}\n`,
  )
  return result.requests.average
}

const server = await startDocent(args.url, info.adminKey, positionals)
const rates: Record<string, number> = {}
try {
  for (const scenario of (args.only ?? '').split(',')) {
    if (scenario === 'get')
      rates.get = await drive(server.base, 'GET', 'GET', () => `/api/v1/resource/all/${pick(info.tables)}`)
    else if (scenario === 'patch')
      rates.patch = await drive(
        server.base,
        'PATCH',
        'PATCH',
        () => `/api/v1/resource/all/${pick(info.tables)}`,
        () => JSON.stringify({ description: `benchmark note ${Math.random()}` }),
      )
    else if (scenario === 'post')
      rates.post = await drive(
        server.base,
        'POST',
        'POST',
        () => '/api/v1/table/tables',
        () => JSON.stringify({ title: postedTableTitle(), parent: pick(info.schemas).id }),
      )
    else throw new Error(`--only takes get, patch and post, not ${scenario}`)
  }
  process.stdout.write(`server peak RSS ${peakRssMb(server.child.pid)} MB\n`)
  const sample = await (
    await fetch(`${server.base}/api/v1/resource/all/${pick(info.tables)}`, { headers })
  ).arrayBuffer()
  const bodyFile = join(mkdtempSync(join(tmpdir(), 'docent-ceiling-')), 'body.json')
  writeFileSync(bodyFile, Buffer.from(sample))
  await stop(server)
  const ceiling = await startCeiling(bodyFile)
  try {
    const rate = await drive(ceiling.base, 'ceiling', 'GET', () => '/')
    if (rates.get !== undefined) process.stdout.write(`GET by id / ceiling: ${(rates.get / rate).toFixed(3)}\n`)
  } finally {
    await stop(ceiling)
  }
} finally {
  await stop(server)
  const cleanup = await openStore(args.url)
  await removePostedTables(cleanup).finally(() => cleanup.close())
}
