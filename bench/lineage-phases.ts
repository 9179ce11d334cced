// Where a lineage graph's time goes (issue 15), in-process on the catalog `npm run bench:lineage` filled: the start
// row, the walks, the node rows, their lists (hydrate) and the edges among them, averaged over graphs of random
// tables, 3 hops both ways, as an admin sees them; the second round is warm.
//   node --import tsx bench/lineage-phases.ts <store url, e.g. sqlite:bench/data/catalog-1000000.db> [graphs]
import type { Principal } from '../src/access/principal.ts'
import { scopeOf } from '../src/access/visibility.ts'
import { findResourceRow, findRowsInOrder } from '../src/catalog/repository/reads.ts'
import { hydrate } from '../src/catalog/service.ts'
import { openStore } from '../src/db/connect.ts'
import { edgesAmong, walk } from '../src/lineage/repository.ts'
import { findCatalog } from './build-catalog.ts'

const url = process.argv[2]
if (url === undefined) throw new Error('usage: bench/lineage-phases.ts <store url> [graphs]')
const graphs = Number(process.argv[3] ?? 300)
const store = await openStore(url)
const info = await findCatalog(store, 1_000_000)
if (info === undefined) throw new Error(`${url} holds no benchmark catalog of 1,000,000 resources`)
const admin = await store.db
  .selectFrom('users')
  .select(['id', 'workspace_id'])
  .where('role', '=', 'admin')
  .executeTakeFirstOrThrow()
const principal: Principal = { keyId: 'bench', userId: admin.id, workspaceId: admin.workspace_id, role: 'admin' }
const pick = () => info.tables[Math.floor(Math.random() * info.tables.length)] as string
for (const round of ['cold', 'warm']) {
  const spent = { start: 0, walk: 0, rows: 0, hydrate: 0, edges: 0 }
  let nodes = 0
  let edges = 0
  for (let i = 0; i < graphs; i++) {
    const id = pick()
    let mark = performance.now()
    const lap = (phase: keyof typeof spent) => {
      const now = performance.now()
      spent[phase] += now - mark
      mark = now
    }
    await findResourceRow(store.db, scopeOf(principal, 'row'), id)
    lap('start')
    const reached = new Set<string>()
    for (const way of ['upstream', 'downstream'] as const) {
      for (const node of await walk(store.db, id, way, 3, undefined, 1000)) reached.add(node.id)
    }
    lap('walk')
    const ids = [id, ...reached]
    const rows = await findRowsInOrder(store.db, ids, undefined)
    lap('rows')
    await hydrate(store.db, principal, rows)
    lap('hydrate')
    edges += (await edgesAmong(store.db, ids)).length
    lap('edges')
    nodes += ids.length
  }
  const total = Object.values(spent).reduce((a, b) => a + b, 0)
  process.stdout.write(
    `${round}: ${(total / graphs).toFixed(2)} ms a graph (${(nodes / graphs).toFixed(1)} nodes, ${(edges / graphs).toFixed(1)} edges): ${Object.entries(
      spent,
    )
      .map(([phase, ms]) => `${phase} ${(ms / graphs).toFixed(2)}`)
      .join(', ')}\n`,
  )
}
await store.close()
