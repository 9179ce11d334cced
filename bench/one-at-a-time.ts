// The never-cached scenarios of `npm run bench` one request at a time, against a freshly started server: what one
// search or one new filter costs, without the queueing of 32 connections on top.
//   node --import tsx bench/one-at-a-time.ts --url sqlite:bench/data/catalog-1000000.db [--resources 1000000]
//     [--requests 30]
// The catalog is one `npm run bench` built (the same --resources); the server is dist/ when it is current.
import { parseArgs } from 'node:util'
import { openStore } from '../src/db/connect.ts'
import { findCatalog, neverCachedLists } from './build-catalog.ts'
import { startDocent, stop } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    resources: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '30' },
  },
})
if (args.url === undefined) throw new Error('--url is required: the store of a catalog `npm run bench` built')
const requests = Number(args.requests)
if (!Number.isInteger(requests) || requests < 1) throw new Error('--requests must be a whole number ≥ 1')
const store = await openStore(args.url)
const info = await findCatalog(store, Number(args.resources))
await store.close()
if (info === undefined) throw new Error(`${args.url} holds no benchmark catalog of ${args.resources} resources`)

const server = await startDocent(args.url, info.adminKey, [])
try {
  for (const { name, path } of neverCachedLists(info)) {
    const times: number[] = []
    for (let i = 0; i < requests; i++) {
      const started = performance.now()
      const response = await fetch(server.base + path(), { headers: { authorization: `Bearer ${info.adminKey}` } })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`${name}: ${response.status}`)
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0)
    process.stdout.write(
      `${JSON.stringify({ scenario: name, requests, p50_ms: at(0.5), p90_ms: at(0.9), max_ms: at(1) })}\n`,
    )
  }
} finally {
  await stop(server)
}
