// POST a table, A/B: the server of another checkout (built, with node_modules) and of this one on the same store,
// alternating, 32 connections, 8 s each, 3 rounds each, the order swapped every round.
//   node --import tsx bench/ab-post.ts <store url of a catalog npm run bench built> <other checkout's folder>

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { findCatalog } from '../bench/build-catalog.ts'
import { openStore } from '../src/db/connect.ts'

const url = process.argv[2] as string
const other = process.argv[3] as string
const here = fileURLToPath(new URL('..', import.meta.url))
const store = await openStore(url)
const info = await findCatalog(store, 1000000)
if (info === undefined) throw new Error(`${url} holds no benchmark catalog`)
await store.close()
const start = async (root: string, port: number) => {
  const child = spawn(process.execPath, [`${root}/bin/docent.js`, 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      DOCENT_DATABASE_URL: url,
      DOCENT_ADMIN_API_KEY: info.adminKey,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthcheck`)
      if (r.ok) break
    } catch {}
    await new Promise((r) => setTimeout(r, 50))
  }
  return child
}
const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)] as T
const results: Record<'before' | 'after', number[]> = { before: [], after: [] }
for (let round = 0; round < 3; round++) {
  for (const which of (round % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as ('before' | 'after')[]) {
    const root = which === 'before' ? other : here
    const port = 18000 + round * 2 + (which === 'before' ? 0 : 1)
    const child = await start(root, port)
    const r = await autocannon({
      url: `http://127.0.0.1:${port}/api/v1/table/tables`,
      connections: 32,
      duration: 8,
      method: 'POST',
      headers: { authorization: `Bearer ${info.adminKey}`, 'content-type': 'application/json' },
      requests: [
        {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            body: JSON.stringify({ title: `ab_${Math.random().toString(36).slice(2)}`, parent: pick(info.schemas).id }),
          }),
        },
      ],
    })
    results[which].push(Math.round(r.requests.average))
    console.log(which, Math.round(r.requests.average), 'req/s', 'errors', r.errors, 'non2xx', r.non2xx)
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
}
console.log(JSON.stringify(results))
