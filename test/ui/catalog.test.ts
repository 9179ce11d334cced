import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { insertResourceRows, newResourceValues } from '../../src/catalog/repository/writes.ts'
import { nowIso } from '../../src/db/values.ts'
import { type Harness, makeKey, makeUser, makeVia, startHarness } from '../helpers.ts'

// Issue 16: the web catalog in a real browser (Debian's Chromium driven by Playwright) against a real docent on
// SQLite: sign in, search and open a table, two people editing one description (the second is told, nothing is
// lost), a table of 30,000 columns, what a viewer is offered and may do, sign-out, a cross-site form, an
// accessibility scan of each main page, and screenshots (test-results/screenshots).

const CHROMIUM = process.env.DOCENT_CHROMIUM ?? '/usr/bin/chromium'
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SHOTS = join(ROOT, 'test-results', 'screenshots')
const missing = !existsSync(CHROMIUM)
if (missing && process.env.CI === 'true') {
  throw new Error(`CI=true and Chromium is not at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`)
}

/** The UI build npm test makes first (scripts/test.sh); run alone, this file makes it when it is missing. */
async function ensureUiBuilt(): Promise<void> {
  if (existsSync(join(ROOT, 'ui', 'dist', 'index.html'))) return
  const { build } = await import('vite')
  await build({ configFile: join(ROOT, 'ui', 'vite.config.ts'), logLevel: 'warn' })
}

describe('the web catalog in Chromium', {
  skip: missing ? `Chromium not found at ${CHROMIUM}: SKIPPED` : false,
}, () => {
  let h: Harness
  let base: string
  let browser: Browser
  let table: { id: string }
  let wide: { id: string }
  let viewerKey: string
  let editorKey: string

  before(async () => {
    await ensureUiBuilt()
    h = await startHarness('sqlite')
    await h.app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
    const integration = (
      await h.request({
        method: 'POST',
        url: '/api/v1/integration/integrations',
        body: { name: 'warehouse', type: 'snowflake' },
      })
    ).json().id
    const database = await makeVia(h, '/database/databases', { title: 'analytics', integration })
    const schema = await makeVia(h, '/database/schemas', { title: 'sales', parent: database.id })
    table = await makeVia(h, '/table/tables', {
      title: 'customer_orders',
      parent: schema.id,
      description: 'One row per order a customer placed.',
    })
    for (const title of ['order_id', 'customer_id', 'amount']) {
      await makeVia(h, '/table/columns', { title, parent: table.id })
    }
    // A table of 30,000 columns, written straight to the store (the API would take a minute).
    wide = await makeVia(h, '/table/tables', { title: 'event_wide', parent: schema.id })
    const parent = await h.store.db
      .selectFrom('resources')
      .selectAll()
      .where('id', '=', wide.id)
      .executeTakeFirstOrThrow()
    const now = nowIso()
    const rows = Array.from({ length: 30_000 }, (_, i) => ({
      ...newResourceValues({
        workspaceId: h.workspaceId,
        entityType: 'column',
        title: `attribute_${String(i).padStart(5, '0')}`,
        parent,
        integrationId: integration,
        now,
      }),
      id: randomUUID(),
      native_type: 'varchar',
    }))
    await h.store.write((trx) =>
      insertResourceRows(
        trx,
        rows,
        rows.map((row) => ({ field: 'teams' as const, resource_id: row.id, target_id: h.defaultTeamId, position: 0 })),
      ),
    )
    viewerKey = (await makeKey(h, await makeUser(h, { role: 'viewer' }))).replace('Bearer ', '')
    editorKey = (await makeKey(h, await makeUser(h, { role: 'editor' }))).replace('Bearer ', '')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
    })
    mkdirSync(SHOTS, { recursive: true })
  })
  after(async () => {
    await browser?.close()
    await h?.close()
  })

  /** A new browser context signed in with `key`; `scannable` lets the accessibility scan inject axe-core. */
  const signedIn = async (key: string, viewport = { width: 1280, height: 800 }, scannable = false) => {
    const context = await browser.newContext({ viewport, bypassCSP: scannable })
    const page = await context.newPage()
    await page.goto(`${base}/`)
    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Databases' }).waitFor()
    return { context, page }
  }

  /** Counts the page's requests in flight from now on; `idle()` resolves once none has been for 500 ms. */
  const requestsOf = (page: Page) => {
    let inFlight = 0
    let changed = Date.now()
    const finished = () => {
      inFlight--
      changed = Date.now()
    }
    page.on('request', () => {
      inFlight++
      changed = Date.now()
    })
    page.on('requestfinished', finished)
    page.on('requestfailed', finished)
    return {
      async idle() {
        while (inFlight > 0 || Date.now() - changed < 500) await new Promise((done) => setTimeout(done, 50))
      },
    }
  }

  /** axe-core over the page as it stands: no serious or critical violation. */
  const scan = async (page: Page, name: string) => {
    await page.addScriptTag({ content: readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8') })
    const violations = (await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: unknown[] }> } }).axe
      return (await axe.run()).violations
    })) as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[]
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    assert.deepEqual(
      bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `accessibility of ${name}`,
    )
  }

  test('sign in, search as you type, open a table and its columns', async () => {
    // bypassCSP: the page's policy allows its own scripts only, and the scan injects axe-core.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true })
    const page = await context.newPage()
    await page.goto(`${base}/`)
    await page.getByRole('heading', { name: 'Sign in to docent' }).waitFor()
    await scan(page, 'the sign-in page')
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') })
    // A wrong key is told so.
    await page.getByLabel('API key').fill('not-a-key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked' }).waitFor()
    await page.getByLabel('API key').fill(h.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Databases' }).waitFor()
    // The key is nowhere in the page's storage; the cookie is HttpOnly.
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    )
    assert.ok(!stored.includes(h.adminKey))
    const [cookie] = await context.cookies()
    assert.equal(cookie?.httpOnly, true)
    assert.equal(cookie?.sameSite, 'Strict')
    await scan(page, 'the browse page')
    await page.getByLabel('Search the catalog').pressSequentially('custmer_ord')
    const result = page.getByRole('link', { name: 'customer_orders' })
    await result.waitFor()
    await scan(page, 'the search page')
    await page.screenshot({ path: join(SHOTS, 'search.png') })
    await result.click()
    await page.getByRole('heading', { name: 'customer_orders' }).waitFor()
    await page.getByRole('link', { name: 'customer_id' }).waitFor()
    assert.equal(await page.getByTestId('description').textContent(), 'One row per order a customer placed.')
    // The path is navigable: the schema's link opens the schema.
    await page.getByRole('navigation', { name: 'Path' }).getByRole('link', { name: 'sales' }).waitFor()
    await scan(page, 'a table page')
    await page.screenshot({ path: join(SHOTS, 'table.png'), fullPage: true })
    await context.close()
  })

  test('two people edit one description: the second is told, and nothing is lost', async () => {
    const first = await signedIn(h.adminKey)
    const second = await signedIn(editorKey)
    for (const { page } of [first, second]) {
      await page.goto(`${base}/ui/r/${table.id}`)
      await page.getByRole('button', { name: 'Edit description' }).click()
    }
    await first.page.getByLabel('Description', { exact: true }).fill('Orders, one row each, from the web shop.')
    await first.page.getByRole('button', { name: 'Save' }).click()
    await first.page.getByTestId('description').filter({ hasText: 'from the web shop' }).waitFor()
    await second.page.getByLabel('Description', { exact: true }).fill('Orders placed by customers, net of refunds.')
    await second.page.getByRole('button', { name: 'Save' }).click()
    await second.page.getByTestId('conflict').waitFor()
    assert.equal(
      await second.page.getByTestId('their-description').textContent(),
      'Orders, one row each, from the web shop.',
    )
    // The second person's text is still in the editor; the first's is what is stored.
    assert.equal(
      await second.page.getByLabel('Description', { exact: true }).inputValue(),
      'Orders placed by customers, net of refunds.',
    )
    const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
    assert.equal(stored.description, 'Orders, one row each, from the web shop.')
    await second.page.screenshot({ path: join(SHOTS, 'edit-conflict.png') })
    // Having seen it, they save theirs on purpose.
    await second.page.getByRole('button', { name: 'Save mine over theirs' }).click()
    await second.page.getByTestId('description').filter({ hasText: 'net of refunds' }).waitFor()
    const after = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
    assert.equal(after.description, 'Orders placed by customers, net of refunds.')
    await first.context.close()
    await second.context.close()
  })

  test('draw lineage, then see it as a graph; documentation in Markdown, previewed and rendered safely', async () => {
    const { context, page } = await browser
      .newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
      .then(async (context) => {
        const page = await context.newPage()
        await page.goto(`${base}/`)
        await page.getByLabel('API key').fill(h.adminKey)
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.getByRole('heading', { name: 'Databases' }).waitFor()
        return { context, page }
      })
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByTestId('no-lineage').waitFor()
    await page.getByRole('radio', { name: 'customer_orders feeds…' }).check({ force: true })
    await page.getByPlaceholder('Search by name').fill('event_wide')
    await page.getByRole('option', { name: /event_wide \(table\)/ }).click()
    await page.getByRole('button', { name: 'Draw edge' }).click()
    await page.getByTestId('lineage-graph').getByText('event_wide · table').waitFor()
    const edges = (await h.request({ method: 'GET', url: `/api/v1/lineage/manual?from_entity=${table.id}` })).json()
      .results as { from_entity: string; to_entity: string; direction: string }[]
    assert.deepEqual(
      edges.map((e) => [e.from_entity, e.to_entity, e.direction]),
      [[table.id, wide.id, 'DOWNSTREAM']],
    )
    // The same, as lists of links: the way through by keyboard.
    const downstream = page.getByTestId('lineage-lists').getByRole('list', { name: /Downstream/ })
    await downstream.getByRole('link', { name: /event_wide/ }).waitFor()
    await scan(page, 'a table page with its lineage')
    await page.screenshot({ path: join(SHOTS, 'lineage.png'), fullPage: true })
    // The graph's node opens the other resource.
    await page.getByTestId('lineage-graph').getByText('event_wide · table').click()
    await page.getByRole('heading', { name: 'event_wide' }).waitFor()
    // Documentation: written in Markdown, previewed, saved, rendered; HTML in it is never run.
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('button', { name: 'Edit documentation' }).click()
    await page
      .getByRole('textbox', { name: 'Documentation' })
      .fill('# Orders\n\nOne **row** per order.\n\n<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>')
    await page.getByText('Preview', { exact: true }).click()
    await page.getByTestId('definition-preview').getByRole('heading', { name: 'Orders' }).waitFor()
    await page.getByRole('button', { name: 'Save' }).click()
    const shown = page.getByTestId('definition')
    await shown.getByRole('heading', { name: 'Orders' }).waitFor()
    assert.equal(await shown.locator('strong').textContent(), 'row')
    assert.equal(await shown.locator('img, script').count(), 0, 'raw HTML is dropped')
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined)
    const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
    assert.match(stored.definition, /^# Orders/)
    await context.close()
  })

  test('a session that ends while a person writes keeps the page and the draft; signing in again saves it', async (t) => {
    const { context, page } = await signedIn(h.adminKey)
    // What this test changes is put back even when it fails, so that a failure here is not also one in later tests.
    t.after(async () => {
      await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${table.id}`, body: { verified: false } })
      await context.close()
    })
    const requests = requestsOf(page)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('button', { name: 'Edit description' }).click()
    await page.getByLabel('Description', { exact: true }).fill('Written over the end of a session.')
    // The page done loading first: a read of it still under way when the session ends would open the sign-in
    // dialog before the Save below, and the dialog (rightly) takes that click.
    await requests.idle()
    // Someone flips a switch meanwhile (another field: not a conflict with the description).
    await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${table.id}`, body: { verified: true } })
    await h.store.db.updateTable('sessions').set({ expires_at: '2020-01-01T00:00:00.000Z' }).execute()
    await page.getByRole('button', { name: 'Save' }).click()
    const dialog = page.getByRole('dialog', { name: 'Your session has ended' })
    await dialog.waitFor()
    await dialog.getByLabel('API key').fill(h.adminKey)
    await dialog.getByRole('button', { name: 'Sign in' }).click()
    await dialog.waitFor({ state: 'hidden' })
    assert.equal(
      await page.getByLabel('Description', { exact: true }).inputValue(),
      'Written over the end of a session.',
    )
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByTestId('description').filter({ hasText: 'Written over the end of a session.' }).waitFor()
    const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
    assert.equal(stored.description, 'Written over the end of a session.')
    assert.equal(stored.verified, true, 'the other change is kept too')
  })

  test('a table of 30,000 columns opens with its first page and the count', async () => {
    const { context, page } = await signedIn(h.adminKey)
    const started = Date.now()
    await page.goto(`${base}/ui/r/${wide.id}`)
    await page
      .getByRole('link', { name: 'attribute_00000' })
      .or(page.getByRole('link', { name: /^attribute_/ }).first())
      .waitFor()
    const opened = Date.now() - started
    assert.equal(await page.getByTestId('children-count').textContent(), '(30,000)')
    assert.equal(await page.getByRole('row').count(), 51, 'a header and 50 columns')
    process.stdout.write(`# a table of 30,000 columns: first page shown ${opened} ms after navigation\n`)
    await context.close()
  })

  test('a viewer is offered no edit and cannot edit through the API with the cookie either', async () => {
    const { context, page } = await signedIn(viewerKey)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('heading', { name: 'customer_orders' }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Edit description' }).count(), 0)
    const answer = await page.evaluate(async (id) => {
      const session = await (await fetch('/api/v1/auth/session')).json()
      const response = await fetch(`/api/v1/resource/all/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: JSON.stringify({ description: 'by a viewer' }),
      })
      return { status: response.status, code: (await response.json()).code }
    }, table.id)
    assert.deepEqual(answer, { status: 403, code: 'PERMISSION_DENIED' })
    await context.close()
  })

  test('signing out revokes the cookie, and a cross-site form cannot use it', async () => {
    const { context, page } = await signedIn(h.adminKey)
    const [cookie] = await context.cookies()
    assert.ok(cookie !== undefined)
    // Another site's page auto-submits a form to docent: the browser does not send the SameSite=Strict cookie,
    // and docent would refuse it without the CSRF token anyway (test/access/sessions.test.ts).
    const evil: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html')
      response.end(
        `<form id="f" method="POST" action="${base}/api/v1/tag/tags" enctype="text/plain"><input name='{"name":"forged","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`,
      )
    })
    await new Promise<void>((resolve) => evil.listen(0, 'localhost', resolve))
    const evilPage = await context.newPage()
    const answer = evilPage.waitForResponse((response) => response.url().includes('/api/v1/tag/tags'))
    await evilPage.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`)
    const refused = await answer
    assert.ok(refused.status() === 401 || refused.status() === 403, `the forged POST answered ${refused.status()}`)
    evil.close()
    const tags = (await h.request({ method: 'GET', url: '/api/v1/tag/tags' })).json()
    assert.ok(!JSON.stringify(tags).includes('forged'))
    // Sign out: the same cookie, sent by hand afterwards, no longer works.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in to docent' }).waitFor()
    const after = await fetch(`${base}/api/v1/resource/catalog`, {
      headers: { cookie: `${cookie.name}=${cookie.value}` },
    })
    assert.equal(after.status, 401)
    await context.close()
  })

  test('settings: a new API key is shown once and works; integrations sync now; knowledge lists terms', async () => {
    await makeVia(h, '/dictionary/terms', { title: 'Churn', description: 'Customers who left in a month.' })
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true })
    const page = await context.newPage()
    await page.goto(`${base}/`)
    await page.getByLabel('API key').fill(h.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Databases' }).waitFor()
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('menuitem', { name: 'Settings' }).click()
    await page.getByRole('heading', { name: 'Settings' }).waitFor()
    await page.getByLabel('Description', { exact: true }).fill('made in the catalog')
    await page.getByRole('button', { name: 'Create key' }).click()
    const key = (await page.getByTestId('new-key').textContent())?.trim() ?? ''
    assert.match(key, /\S{20,}/)
    const works = await fetch(`${base}/api/v1/resource/catalog`, { headers: { authorization: `Bearer ${key}` } })
    assert.equal(works.status, 200, 'the key shown works')
    // The dialog's close button has a name while it is open; the page is scanned once the dialog has gone.
    assert.equal(await page.getByRole('button', { name: 'Close', exact: true }).count(), 1)
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    await page.getByRole('cell', { name: 'made in the catalog' }).waitFor()
    await scan(page, 'the settings page')
    await page.screenshot({ path: join(SHOTS, 'settings.png') })
    // Integrations: "sync now" starts a run whose outcome the row shows (this integration has no source, so the
    // run fails, and says why).
    await page.getByRole('tab', { name: 'Integrations' }).click()
    const row = page.getByRole('row').filter({ hasText: 'warehouse' })
    await row.getByRole('button', { name: 'Sync now' }).click()
    await page
      .getByTestId('run-warehouse')
      .filter({ hasText: /succeeded|failed|partial/ })
      .waitFor()
    await scan(page, 'the integrations tab')
    // Knowledge: the glossary lists the term, which opens on its own page.
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('menuitem', { name: 'Knowledge' }).click()
    await page.getByRole('link', { name: 'Churn' }).click()
    await page.getByRole('heading', { name: 'Churn' }).waitFor()
    await scan(page, 'a glossary term')
    // Search facets: verified only.
    await page.getByLabel('Search the catalog').fill('customer')
    await page.getByRole('link', { name: 'customer_orders' }).waitFor()
    await page.getByText('Verified', { exact: true }).click()
    await page.getByTestId('result-count').filter({ hasText: 'Nothing matches' }).waitFor()
    await context.close()
  })

  test('owners and tags are set from the page; what is written about a table is linked from it', async () => {
    const tag = (await h.request({ method: 'POST', url: '/api/v1/tag', body: { name: 'finance' } })).json()
    await makeVia(h, '/document/documents', { title: 'Orders handbook', sources: [table.id] })
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('link', { name: 'Orders handbook' }).waitFor()
    await page.getByRole('combobox', { name: 'Tags' }).click()
    await page.getByRole('option', { name: 'finance' }).click()
    await page.keyboard.press('Escape')
    for (let i = 0; i < 150; i++) {
      const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
      if (stored.tags.includes(tag.id)) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
    assert.deepEqual(stored.tags, [tag.id])
    await context.close()
  })

  test('the tree: integration databases open onto schemas and tables, each level loaded when opened', async () => {
    const { context, page } = await signedIn(h.adminKey)
    const tree = page.getByRole('navigation', { name: 'Catalog tree' })
    await tree.getByRole('button', { name: 'Open analytics' }).click()
    assert.equal(await tree.getByRole('button', { name: 'Close analytics' }).getAttribute('aria-expanded'), 'true')
    await tree.getByRole('button', { name: 'Open sales' }).click()
    await tree.getByRole('link', { name: 'customer_orders' }).click()
    await page.getByRole('heading', { name: 'customer_orders' }).waitFor()
    await context.close()
  })

  test('custom properties are set from the page by their type', async () => {
    const tier = await h.request({
      method: 'POST',
      url: '/api/v1/resource/all_v2/custom_properties',
      body: { name: 'tier', value_type: 'select', options: ['gold', 'silver'], entity_types: ['table'] },
    })
    assert.equal(tier.statusCode, 200, tier.body)
    const steward = await h.request({
      method: 'POST',
      url: '/api/v1/resource/all_v2/custom_properties',
      body: { name: 'steward', value_type: 'string' },
    })
    assert.equal(steward.statusCode, 200, steward.body)
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('combobox', { name: 'tier' }).click()
    await page.getByRole('option', { name: 'gold' }).click()
    await page.keyboard.press('Escape')
    for (let i = 0; i < 150; i++) {
      const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
      if (stored.custom_properties.tier !== undefined) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await page.getByRole('textbox', { name: 'steward' }).fill('the finance team')
    const row = page.getByRole('row').filter({ hasText: 'steward' })
    for (let i = 0; i < 150; i++) {
      const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
      if (stored.custom_properties.tier !== undefined) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await row.getByRole('button', { name: 'Save' }).click()
    for (let i = 0; i < 150; i++) {
      const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
      if (stored.custom_properties.steward !== undefined) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${table.id}` })).json()
    assert.equal(stored.custom_properties.steward, 'the finance team')
    assert.equal(stored.custom_properties.tier.length, 1)
    await context.close()
  })

  /** Polls the API until `check` holds of what it answers (a save from the page lands a moment after the click). */
  const until = async (url: string, check: (body: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 150; i++) {
      const body = (await h.request({ method: 'GET', url })).json()
      if (check(body)) return body
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return (await h.request({ method: 'GET', url })).json()
  }

  test('teams and collections are set from the page', async () => {
    const team = (await h.request({ method: 'POST', url: '/api/v1/auth/teams', body: { name: 'marketing' } })).json()
    const collection = await makeVia(h, '/collection/collections', { title: 'Sales KPIs' })
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('combobox', { name: 'Teams' }).click()
    await page.getByRole('option', { name: 'marketing' }).click()
    await page.keyboard.press('Escape')
    let stored = await until(`/api/v1/resource/all/${table.id}`, (r) => (r.teams as string[]).includes(team.id))
    assert.ok((stored.teams as string[]).includes(team.id), 'the team is added')
    assert.ok((stored.teams as string[]).includes(h.defaultTeamId), 'the team it had is kept')
    await page.getByRole('combobox', { name: 'Collections' }).click()
    await page.getByRole('option', { name: 'Sales KPIs' }).click()
    await page.keyboard.press('Escape')
    stored = await until(`/api/v1/resource/all/${table.id}`, (r) => (r.collections as string[]).length > 0)
    assert.deepEqual(stored.collections, [collection.id])
    await context.close()
  })

  test('a question is asked, replied to and its answer accepted from the page; a viewer is offered neither', async () => {
    const { context, page } = await signedIn(h.adminKey, undefined, true)
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('menuitem', { name: 'Knowledge' }).click()
    await page.getByRole('tab', { name: 'Questions' }).click()
    await page.getByRole('textbox', { name: 'Your question' }).fill('Where do refunds live?')
    await page.getByRole('button', { name: 'Ask' }).click()
    await page.getByRole('heading', { name: 'Where do refunds live?' }).waitFor()
    assert.equal(await page.getByTestId('question-status').textContent(), 'open')
    const question = page.url().split('/r/')[1] as string
    await page.getByText('No replies yet.').waitFor()
    await page.getByRole('textbox', { name: 'Your reply' }).fill('In the orders table, as negative amounts.')
    await page.getByRole('button', { name: 'Post reply' }).click()
    await page.getByTestId('reply').filter({ hasText: 'negative amounts' }).waitFor()
    assert.equal(await page.getByRole('textbox', { name: 'Your reply' }).inputValue(), '', 'the form is cleared')
    await page.getByRole('button', { name: 'Accept this answer' }).click()
    await page.getByTestId('question-status').filter({ hasText: 'answered' }).waitFor()
    // The pointer off the buttons: the scan below reads colours at rest.
    await page.mouse.move(0, 0)
    await page.getByTestId('reply').getByText('accepted answer').waitFor()
    const stored = (await h.request({ method: 'GET', url: `/api/v1/question/questions/${question}` })).json()
    assert.equal(stored.question_status, 'ANSWERED')
    await scan(page, 'a question with its replies')
    await page.screenshot({ path: join(SHOTS, 'question.png'), fullPage: true })
    await context.close()
    // A viewer: no form to ask, none to reply, no button to accept.
    const published = await h.request({
      method: 'PATCH',
      url: `/api/v1/question/questions/${question}`,
      body: { published: true },
    })
    assert.equal(published.statusCode, 200, published.body)
    const viewer = await signedIn(viewerKey)
    await viewer.page.goto(`${base}/ui/knowledge`)
    await viewer.page.getByRole('tab', { name: 'Questions' }).click()
    await viewer.page.getByRole('link', { name: 'Where do refunds live?' }).click()
    await viewer.page.getByRole('heading', { name: 'Where do refunds live?' }).waitFor()
    // The reply shown (a viewer sees the published question's replies), then what is offered around it.
    await viewer.page.getByTestId('reply').filter({ hasText: 'negative amounts' }).waitFor()
    assert.equal(await viewer.page.getByRole('textbox', { name: 'Your reply' }).count(), 0)
    assert.equal(await viewer.page.getByRole('button', { name: /Accept this answer|Take back/ }).count(), 0)
    await viewer.page.goto(`${base}/ui/knowledge`)
    await viewer.page.getByRole('tab', { name: 'Questions' }).click()
    await viewer.page.getByRole('link', { name: 'Where do refunds live?' }).waitFor()
    assert.equal(await viewer.page.getByRole('button', { name: 'Ask' }).count(), 0)
    await viewer.context.close()
  })

  test('what a document is about is linked from its page, and changed there', async () => {
    const handbook = await makeVia(h, '/document/documents', { title: 'Refunds guide', sources: [table.id] })
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/r/${handbook.id}`)
    const about = page.getByTestId('sources')
    await about.getByRole('link', { name: /customer_orders/ }).waitFor()
    await page.getByPlaceholder('Search by name').first().fill('event_wide')
    await page.getByRole('option', { name: /event_wide \(table\)/ }).click()
    await page.getByRole('button', { name: 'Link', exact: true }).click()
    await about.getByRole('link', { name: /event_wide/ }).waitFor()
    let stored = await until(`/api/v1/resource/all/${handbook.id}`, (r) => (r.sources as string[]).length === 2)
    assert.deepEqual(stored.sources, [table.id, wide.id])
    await page.getByRole('button', { name: 'Remove analytics.sales.customer_orders' }).click()
    stored = await until(`/api/v1/resource/all/${handbook.id}`, (r) => (r.sources as string[]).length === 1)
    assert.deepEqual(stored.sources, [wide.id])
    await about.getByRole('link', { name: /customer_orders/ }).waitFor({ state: 'detached' })
    await context.close()
  })

  test("a column's description is edited in its row; a change made meanwhile is shown, not overwritten", async () => {
    const columns = (await h.request({ method: 'GET', url: `/api/v1/table/columns?parent_id=${table.id}` })).json()
      .results as { id: string; title: string }[]
    const amount = columns.find((c) => c.title === 'amount') as { id: string }
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('button', { name: 'Edit the description of amount' }).click()
    const box = page.getByRole('textbox', { name: 'Description of amount' })
    await box.fill('Net of refunds, in cents.')
    // Someone else saves first.
    const other = await h.request({
      method: 'PATCH',
      url: `/api/v1/resource/all/${amount.id}`,
      body: { description: 'Gross, in dollars.' },
    })
    assert.equal(other.statusCode, 200, other.body)
    const row = page.getByRole('row').filter({ has: box })
    await row.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: 'Gross, in dollars.' }).waitFor()
    assert.equal(await box.inputValue(), 'Net of refunds, in cents.', 'the text typed is kept')
    let stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${amount.id}` })).json()
    assert.equal(stored.description, 'Gross, in dollars.', 'nothing was overwritten')
    // Having seen it, they save theirs on purpose; the keyboard is back on the row's edit button.
    await row.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByRole('cell', { name: /Net of refunds, in cents\./ }).waitFor()
    // (document.activeElement, not :focus, which a page without the window's focus never matches.)
    await page.waitForFunction(
      () => document.activeElement?.getAttribute('aria-label') === 'Edit the description of amount',
    )
    stored = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${amount.id}` })).json()
    assert.equal(stored.description, 'Net of refunds, in cents.')
    await context.close()
  })

  test('search facets: owners', async () => {
    const owned = await h.request({
      method: 'PATCH',
      url: `/api/v1/resource/all/${table.id}`,
      body: { owners: [h.adminUserId] },
    })
    assert.equal(owned.statusCode, 200, owned.body)
    const { context, page } = await signedIn(h.adminKey)
    await page.getByLabel('Search the catalog').fill('customer_ord')
    await page.getByRole('link', { name: 'customer_orders' }).waitFor()
    await page.getByRole('combobox', { name: 'Owners' }).click()
    await page.getByRole('option', { name: /admin@example\.com/ }).click()
    await page.keyboard.press('Escape')
    await page.getByTestId('result-count').filter({ hasText: '1 found' }).waitFor()
    await page.getByRole('link', { name: 'customer_orders' }).waitFor()
    await context.close()
  })

  test("an admin changes a user's role and teams, and a group's members", async () => {
    const email = `analyst-${randomUUID().slice(0, 8)}@example.com`
    const user = await makeUser(h, { role: 'viewer', email })
    const group = (await h.request({ method: 'POST', url: '/api/v1/auth/group', body: { name: 'stewards' } })).json()
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/settings`)
    await page.getByRole('tab', { name: 'Users' }).click()
    await page.getByRole('combobox', { name: `Role of ${email}` }).click()
    await page.getByRole('option', { name: 'editor' }).click()
    const stored = await until(`/api/v1/user/${user}`, (u) => u.role === 'editor')
    assert.equal(stored.role, 'editor')
    await page.getByRole('tab', { name: 'Groups' }).click()
    await page.getByRole('combobox', { name: 'Members of stewards' }).click()
    await page.getByRole('option', { name: email }).click()
    await page.keyboard.press('Escape')
    const members = await until(`/api/v1/auth/group/${group.id}`, (g) => (g.users as string[]).includes(user))
    assert.deepEqual(members.users, [user])
    await context.close()
  })

  test('going elsewhere in the catalog with unsaved text asks first; saying no keeps the text', async () => {
    const { context, page } = await signedIn(h.adminKey)
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('button', { name: 'Edit description' }).click()
    await page.getByLabel('Description', { exact: true }).fill('half a thought')
    await page.locator('[data-unsaved="true"]').waitFor()
    const path = page.getByRole('navigation', { name: 'Path' })
    // The page's confirm() blocks it until answered: the answer is set up before the click.
    const prompts: string[] = []
    let answer: 'accept' | 'dismiss' = 'dismiss'
    page.on('dialog', (dialog) => {
      prompts.push(`${dialog.type()}: ${dialog.message()}`)
      void (answer === 'accept' ? dialog.accept() : dialog.dismiss())
    })
    await path.getByRole('link', { name: 'sales' }).click()
    assert.deepEqual(prompts, ['confirm: You have unsaved text on this page. Leave it and lose what you wrote?'])
    assert.equal(await page.getByLabel('Description', { exact: true }).inputValue(), 'half a thought')
    assert.ok(page.url().endsWith(`/r/${table.id}`), 'still on the page')
    answer = 'accept'
    await path.getByRole('link', { name: 'sales' }).click()
    await page.getByRole('heading', { name: 'sales' }).waitFor()
    assert.equal(prompts.length, 2)
    // With nothing unsaved, nothing is asked.
    await page.getByRole('link', { name: 'customer_orders' }).click()
    await page.getByRole('heading', { name: 'customer_orders' }).waitFor()
    assert.equal(prompts.length, 2)
    await context.close()
  })

  test('closing a page with an unsaved draft asks first', async () => {
    // A browser of its own: closing a page through its beforeunload prompt must not touch the other tests' one.
    const own = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
    })
    try {
      const context = await own.newContext({ viewport: { width: 1280, height: 800 } })
      const page = await context.newPage()
      await page.goto(`${base}/ui/`)
      await page.getByLabel('API key').fill(h.adminKey)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Databases' }).waitFor()
      await page.goto(`${base}/ui/r/${table.id}`)
      await page.getByRole('button', { name: 'Edit description' }).click()
      await page.getByLabel('Description', { exact: true }).fill('not saved yet')
      // The page marks itself as holding unsaved text as it renders; the listener follows right after.
      await page.locator('[data-unsaved="true"]').waitFor()
      await page.waitForTimeout(200)
      const asked = new Promise<string>((resolve) =>
        page.once('dialog', (dialog) => {
          resolve(dialog.type())
          void dialog.accept()
        }),
      )
      await page.close({ runBeforeUnload: true })
      const none = new Promise<string>((resolve) => setTimeout(() => resolve('no dialog within 5 s'), 5000))
      assert.equal(await Promise.race([asked, none]), 'beforeunload')
    } finally {
      await own.close()
    }
  })

  test('the keyboard alone signs in, searches and opens a result', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto(`${base}/ui/`)
    await page.getByRole('heading', { name: 'Sign in to docent' }).waitFor()
    // The key field takes the focus first; Enter submits.
    for (let i = 0; i < 5 && !(await page.getByLabel('API key').evaluate((e) => e === document.activeElement)); i++) {
      await page.keyboard.press('Tab')
    }
    assert.ok(
      await page.getByLabel('API key').evaluate((e) => e === document.activeElement),
      'the key field is reached',
    )
    await page.keyboard.type(h.adminKey)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Databases' }).waitFor()
    // Tab to the search box, type, Tab on to the first result, Enter opens it.
    for (
      let i = 0;
      i < 10 && !(await page.getByLabel('Search the catalog').evaluate((e) => e === document.activeElement));
      i++
    ) {
      await page.keyboard.press('Tab')
    }
    assert.ok(
      await page.getByLabel('Search the catalog').evaluate((e) => e === document.activeElement),
      'the search box is reached',
    )
    await page.keyboard.type('customer_orders')
    const result = page.getByRole('link', { name: 'customer_orders' })
    await result.waitFor()
    for (let i = 0; i < 30 && !(await result.evaluate((e) => e === document.activeElement)); i++) {
      await page.keyboard.press('Tab')
    }
    assert.ok(await result.evaluate((e) => e === document.activeElement), 'the result is reached')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'customer_orders', level: 1 }).waitFor()
    await context.close()
  })

  test('a phone-width window shows the same pages', async () => {
    const { context, page } = await signedIn(h.adminKey, { width: 390, height: 844 })
    await page.goto(`${base}/ui/r/${table.id}`)
    await page.getByRole('heading', { name: 'customer_orders' }).waitFor()
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 390 + 1, `no sideways scrolling (the page is ${width} px wide)`)
    await page.screenshot({ path: join(SHOTS, 'table-phone.png') })
    // Every control of the header is within the window; signing out is in the menu.
    for (const box of await page.locator('header button, header input, header a').all()) {
      const bounds = await box.boundingBox()
      if (bounds !== null && bounds.width > 0) assert.ok(bounds.x + bounds.width <= 390, 'inside the window')
    }
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('menuitem', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in to docent' }).waitFor()
    await context.close()
  })
})
