import { openStore } from '../src/db/connect.ts'
import { findCatalog } from './build-catalog.ts'
import { walk, edgesAmong } from '../src/lineage/repository.ts'
import { findRowsInOrder, findResourceRow } from '../src/catalog/repository/reads.ts'
import { hydrate } from '../src/catalog/service.ts'
import { scopeOf } from '../src/access/visibility.ts'
const url = process.argv[2] as string
const store = await openStore(url)
const info = (await findCatalog(store, 1000000))!
const admin = await store.db.selectFrom('users').select(['id','workspace_id']).where('role','=','admin').executeTakeFirstOrThrow()
const principal = { keyId: 'x', userId: admin.id, workspaceId: admin.workspace_id, role: 'admin' } as never
const pick = () => info.tables[Math.floor(Math.random() * info.tables.length)] as string
const t = { start: 0, walk: 0, rows: 0, hydrate: 0, edges: 0 }
const n = 300
for (let round = 0; round < 2; round++) {
  for (const k of Object.keys(t)) (t as any)[k] = 0
  for (let i = 0; i < n; i++) {
    const id = pick()
    let a = performance.now()
    await findResourceRow(store.db, scopeOf(principal, 'row'), id)
    let b = performance.now(); t.start += b - a; a = b
    const hops = new Map<string, number>()
    for (const way of ['upstream', 'downstream'] as const) for (const node of await walk(store.db, id, way, 3, undefined, 1000)) hops.set(node.id, node.hops)
    b = performance.now(); t.walk += b - a; a = b
    const ids = [id, ...hops.keys()]
    const rows = await findRowsInOrder(store.db, ids, undefined)
    b = performance.now(); t.rows += b - a; a = b
    await hydrate(store.db, principal, rows)
    b = performance.now(); t.hydrate += b - a; a = b
    await edgesAmong(store.db, ids)
    b = performance.now(); t.edges += b - a; a = b
  }
  console.log(Object.entries(t).map(([k, v]) => `${k} ${(v / n).toFixed(2)}`).join(', '))
}
await store.close()
