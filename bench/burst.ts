// One scenario of `npm run bench` on its own, against a freshly started server: a write (or none), then a burst
// of identical lists of the reference docs' example filter, a few times. It measures what a burst costs without
// what earlier scenarios left in the heap, and with --no-write what serving a crowd costs without any recomputation.
//   node --import tsx bench/burst.ts --url sqlite:bench/data/catalog-1000000.db [--resources 1000000]
//     [--rounds 5] [--burst 500] [--repeat 3] [--no-write]
// The catalog is one `npm run bench` built (the same --resources); the server is dist/ when it is current.
import { parseArgs } from 'node:util'
import { openStore } from '../src/db/connect.ts'
import { exampleFilter, findCatalog } from './build-catalog.ts'
import { burstAfterWrite } from './cache-scenarios.ts'
import { startDocent, stop } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    resources: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    burst: { type: 'string', default: '500' },
    repeat: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
  },
})
if (args.url === undefined) throw new Error('--url is required: the store of a catalog `npm run bench` built')
const store = await openStore(args.url)
const info = await findCatalog(store, Number(args.resources))
await store.close()
if (info === undefined) throw new Error(`${args.url} holds no benchmark catalog of ${args.resources} resources`)

const server = await startDocent(args.url, info.adminKey, [])
const listPath = `/api/v1/resource/catalog?filter=${exampleFilter(info)}`
// Nothing matches this id: the PATCH answers 404 and changes nothing, so every list of the burst is cached.
const missing = '00000000-0000-4000-8000-000000000000'
try {
  for (let i = 0; i < Number(args.repeat); i++) {
    const report = await burstAfterWrite({
      base: server.base,
      key: info.adminKey,
      listPath,
      patch: () => ({
        path: `/api/v1/resource/all/${args['no-write'] ? missing : info.tables[Math.floor(Math.random() * info.tables.length)]}`,
        body: JSON.stringify({ description: `burst ${Math.random()}` }),
      }),
      rounds: Number(args.rounds),
      burst: Number(args.burst),
      serverPid: server.child.pid,
    })
    const { p50_ms, p99_ms, max_ms, errors, peak_rss_mb, peak_private_mb } = report
    // With --no-write, each round's PATCH is a 404 and counts as one error.
    console.log(
      JSON.stringify({
        run: i + 1,
        write: !args['no-write'],
        p50_ms,
        p99_ms,
        max_ms,
        errors,
        peak_rss_mb,
        peak_private_mb,
      }),
    )
  }
} finally {
  await stop(server)
}
