// Where a lineage graph's time goes (issue 15), in-process on the catalog `npm run bench:lineage` filled: the one
// statement that reads the graph alone (`findGraph`: the walk both ways, the nodes' rows and forms, the edges among
// them), then the whole of `lineageGraph` (that statement, the lists as the caller sees them, the resources),
// averaged over graphs of random tables, 3 hops both ways, as an admin sees them; the second round is warm.
//   node --import tsx bench/lineage-phases.ts <store url, e.g. sqlite:bench/data/catalog-1000000.db> [graphs]
import type { Principal } from '../src/access/principal.ts'
import { openStore } from '../src/db/connect.ts'
import { findGraph } from '../src/lineage/repository.ts'
import { lineageGraph, MAX_NODES } from '../src/lineage/service.ts'
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
const tables = Array.from(
  { length: graphs },
  () => info.tables[Math.floor(Math.random() * info.tables.length)] as string,
)
for (const round of ['cold', 'warm']) {
  let started = performance.now()
  for (const id of tables) {
    await findGraph(
      store.db,
      { start: id, workspaceId: principal.workspaceId, userId: principal.userId },
      `all|upstream,downstream|3|${MAX_NODES}`,
    )
  }
  const statement = performance.now() - started
  let nodes = 0
  let edges = 0
  started = performance.now()
  for (const id of tables) {
    const graph = await lineageGraph(store, principal, id, 'both', 3)
    nodes += graph.nodes.length
    edges += graph.edges.length
  }
  const whole = performance.now() - started
  process.stdout.write(
    `${round}: ${(whole / graphs).toFixed(2)} ms a graph (${(nodes / graphs).toFixed(1)} nodes, ${(edges / graphs).toFixed(1)} edges); the statement alone ${(statement / graphs).toFixed(2)} ms\n`,
  )
}
await store.close()
