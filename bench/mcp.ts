// The tools for AI assistants on the benchmark catalog (issue 17): `retrieve_entity` of a table with 1,000 columns,
// through Secoda's endpoint over HTTP, one call at a time, with and without `truncate_length`. The wide table is
// made through the API for the run and deleted afterwards. Run `npm run bench` once first (it builds the catalog).
//   npm run bench:mcp -- [--engine sqlite|postgres] [--resources 1000000] [--rounds 30]
import { parseArgs } from 'node:util'
import { openStore } from '../src/db/connect.ts'
import type { Engine } from '../src/db/types.ts'
import { findCatalog } from './build-catalog.ts'
import { catalogUrl, percentile, startDocent, stop } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', multiple: true },
    resources: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '30' },
  },
})
const resources = Number(args.resources)
const rounds = Number(args.rounds)
const engines = (args.engine ?? ['sqlite', 'postgres']) as Engine[]
const COLUMNS = 1000
const LIMIT = 4000

const lines = ['| engine | scenario | p50 ms | p99 ms | max ms | characters | calls |', '|---|---|---|---|---|---|---|']
for (const engine of engines) {
  const url = catalogUrl(engine, resources)
  const store = await openStore(url)
  const info = await findCatalog(store, resources)
  await store.close()
  if (info === undefined) throw new Error(`${url} holds no benchmark catalog: run npm run bench first`)
  const server = await startDocent(url, info.adminKey)
  const headers = { authorization: `Bearer ${info.adminKey}`, 'content-type': 'application/json' }
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
    return text === '' ? null : JSON.parse(text)
  }
  let table: { id: string } | undefined
  try {
    const schema = info.schemas[0]?.id as string
    table = await api('POST', '/table/tables', {
      title: 'bench_mcp_wide_table',
      parent: schema,
      description: 'A table of 1,000 columns, made by bench/mcp.ts.',
    })
    for (let i = 0; i < COLUMNS; i++) {
      await api('POST', '/table/columns', {
        title: `attribute_${String(i).padStart(4, '0')}`,
        parent: table?.id,
        native_type: i % 3 === 0 ? 'varchar' : 'bigint',
        description: `What attribute ${i} of an event holds, in a sentence or two of plain text.`,
      })
    }
    for (const [name, extra] of [
      ['retrieve_entity, a table of 1,000 columns', {}],
      [`the same, truncate_length ${LIMIT}`, { truncate_length: LIMIT }],
    ] as const) {
      const times: number[] = []
      let characters = 0
      for (let round = 0; round < rounds + 1; round++) {
        const started = performance.now()
        const answer = (await api('POST', '/ai/mcp/tools/call/', {
          name: 'retrieve_entity',
          arguments: { entity_id: table?.id, ...extra },
        })) as { isError: boolean; content: { text: string }[] }
        const took = performance.now() - started
        if (answer.isError) throw new Error(answer.content[0]?.text)
        characters = answer.content[0]?.text.length ?? 0
        if ('truncate_length' in extra && characters > LIMIT) throw new Error(`${characters} characters over ${LIMIT}`)
        // The first call warms the server's caches: not counted.
        if (round > 0) times.push(took)
      }
      lines.push(
        `| ${engine} | ${name} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 99).toFixed(1)} | ${Math.max(...times).toFixed(1)} | ${characters} | ${times.length} |`,
      )
      process.stderr.write(`${engine}: ${name}: p50 ${percentile(times, 50).toFixed(1)} ms\n`)
    }
  } finally {
    if (table !== undefined) await api('DELETE', `/resource/all/${table.id}`)
    await stop(server)
  }
}
process.stdout.write(`${lines.join('\n')}\n`)
