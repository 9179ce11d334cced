// The web catalog on the benchmark catalog (issue 16): in Debian's Chromium, how long after the last keystroke the
// search results show, how long a table page takes to show its columns, and how much JavaScript the first page
// loads (gzip). Run `npm run bench` once first (it builds the catalog).
//   npm run bench:ui -- [--engine sqlite|postgres] [--resources 1000000] [--rounds 10]
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { openStore } from '../src/db/connect.ts'
import type { Engine } from '../src/db/types.ts'
import { findCatalog, tableTitle } from './build-catalog.ts'
import { catalogUrl, percentile, ROOT, startDocent, stop } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', multiple: true },
    resources: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '10' },
  },
})
const resources = Number(args.resources)
const rounds = Number(args.rounds)
const engines = (args.engine ?? ['sqlite', 'postgres']) as Engine[]
const log = (message: string) => process.stderr.write(`${message}\n`)

// What the first page loads: the page's own script and style (the lineage graph and the Markdown renderer load
// later, on the pages that need them).
const assets = join(ROOT, 'ui', 'dist', 'assets')
const page = readFileSync(join(ROOT, 'ui', 'dist', 'index.html'), 'utf8')
const initial = readdirSync(assets).filter((name) => page.includes(`/ui/assets/${name}`) && name.endsWith('.js'))
const initialGzip = initial.reduce((sum, name) => sum + gzipSync(readFileSync(join(assets, name))).length, 0)
const lines = [
  `initial JavaScript: ${initial.join(', ')}, ${(initialGzip / 1024).toFixed(1)} KB gzip`,
  '',
  '| engine | scenario | p50 ms | max ms | rounds |',
  '|---|---|---|---|---|',
]

for (const engine of engines) {
  const url = catalogUrl(engine, resources)
  const store = await openStore(url)
  const info = await findCatalog(store, resources)
  await store.close()
  if (info === undefined) throw new Error(`${url} holds no benchmark catalog: run npm run bench first`)
  const server = await startDocent(url, info.adminKey)
  const browser = await chromium.launch({
    executablePath: process.env.DOCENT_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  })
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const tab = await context.newPage()
    await tab.goto(`${server.base}/ui/`)
    await tab.getByLabel('API key').fill(info.adminKey)
    await tab.getByRole('button', { name: 'Sign in' }).click()
    await tab.getByRole('heading', { name: 'Databases' }).waitFor()
    // Checked at every frame the page paints (a locator's waitFor polls at 100 ms, then 500 ms, which added up to
    // half a second to what a person would see).
    const shown = (selector: string, text?: string) =>
      tab.waitForFunction(
        ([selector, text]) =>
          [...document.querySelectorAll(selector)].some((e) => text === undefined || e.textContent === text),
        [selector, text] as const,
        { polling: 'raf', timeout: 60_000 },
      )
    const search: number[] = []
    const table: number[] = []
    for (let round = 0; round < rounds; round++) {
      // A table's name, typed a key at a time; the clock starts at the last key.
      const title = tableTitle((n) => Math.floor(Math.random() * n))
      await tab.goto(`${server.base}/ui/`)
      await tab.getByRole('heading', { name: 'Databases' }).waitFor()
      const box = tab.getByLabel('Search the catalog')
      await box.pressSequentially(title.slice(0, -1), { delay: 60 })
      await box.press(title.slice(-1))
      const typed = performance.now()
      await shown('a[href]', title)
      search.push(performance.now() - typed)
      // A table's page, from navigation to its columns shown.
      const id = info.tables[Math.floor(Math.random() * info.tables.length)] as string
      const started = performance.now()
      await tab.goto(`${server.base}/ui/r/${id}`)
      await shown('[data-testid="children-count"]')
      table.push(performance.now() - started)
    }
    for (const [name, values] of [
      ['search results shown after the last keystroke', search],
      ['a table page shows its columns', table],
    ] as const) {
      lines.push(
        `| ${engine} | ${name} | ${percentile(values, 50).toFixed(0)} | ${Math.max(...values).toFixed(0)} | ${values.length} |`,
      )
      log(`${engine}: ${name}: p50 ${percentile(values, 50).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`)
    }
  } finally {
    await browser.close()
    await stop(server)
  }
}
process.stdout.write(`${lines.join('\n')}\n`)
