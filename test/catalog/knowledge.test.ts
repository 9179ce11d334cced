import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeIntegration,
  makeKey,
  makeTeam,
  makeUser,
  startHarness,
} from '../helpers.ts'

// CONTRACT §9: glossary terms, documents, dashboards and charts have typed routes shaped like the Databases routes,
// with their own hierarchy rules, and are resources like any other (List Resources, search, visibility).

interface Made {
  id: string
  entity_type: string
  parent: string | null
  integration: string | null
  title_full: string
}

const ROUTES = {
  glossary: '/dictionary/terms',
  document: '/document/documents',
  dashboard: '/dashboard/dashboards',
  chart: '/dashboard/charts',
} as const

for (const { engine, skip } of ENGINES) {
  describe(`knowledge resources on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const create = async (path: string, body: Record<string, unknown>, authorization?: string) => {
      const response = await h.request({
        method: 'POST',
        url: `/api/v1${path}`,
        body,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 201, response.body)
      return response.json() as Made
    }
    const ids = (response: { json(): { results: { id: string }[] } }) => response.json().results.map((r) => r.id)

    for (const [type, path] of Object.entries(ROUTES)) {
      test(`${path}: list, create, get, PATCH and DELETE under every path form, typed as ${type}`, async () => {
        const integration = type === 'chart' ? undefined : await makeIntegration(h)
        const parent =
          type === 'chart'
            ? await create(ROUTES.dashboard, { title: `board for ${path}`, integration: await makeIntegration(h) })
            : undefined
        const made = await create(path, {
          title: `${type} one`,
          ...(parent === undefined ? { integration } : { parent: parent.id }),
        })
        assert.equal(made.entity_type, type)
        for (const base of [`/api/v1${path}`, path, `${path}/`]) {
          const listed = await h.request({ method: 'GET', url: `${base}?title=${encodeURIComponent(`${type} one`)}` })
          assert.equal(listed.statusCode, 200, `${base}: ${listed.body}`)
          assert.deepEqual(ids(listed), [made.id])
        }
        const item = `/api/v1${path}/${made.id}`
        for (const url of [item, `${item}/`, `${path}/${made.id.toUpperCase()}`]) {
          const got = await h.request({ method: 'GET', url })
          assert.equal(got.statusCode, 200, `${url}: ${got.body}`)
          assert.equal(got.json().id, made.id)
        }
        if (type === 'document') {
          const aliased = await h.request({ method: 'GET', url: `/api/v1/document/${made.id}` })
          assert.equal(aliased.json().id, made.id)
        }
        const patched = await h.request({ method: 'PATCH', url: item, body: { description: 'what it means' } })
        assert.equal(patched.statusCode, 200, patched.body)
        assert.equal(patched.json().description, 'what it means')
        // Another type's route does not serve it.
        const elsewhere = type === 'document' ? ROUTES.glossary : ROUTES.document
        assertErrorBody(await h.request({ method: 'GET', url: `/api/v1${elsewhere}/${made.id}` }), 404, 'NOT_FOUND')
        assert.equal((await h.request({ method: 'DELETE', url: item })).statusCode, 204)
        assertErrorBody(await h.request({ method: 'GET', url: item }), 404, 'NOT_FOUND')
      })
    }

    test('glossary terms and documents nest under their own kind only; a subtree goes with its root', async () => {
      const term = await create(ROUTES.glossary, { title: 'Revenue' })
      const child = await create(ROUTES.glossary, { title: 'Net revenue', parent: term.id })
      assert.equal(child.title_full, 'Revenue.Net revenue')
      const doc = await create(ROUTES.document, { title: 'Runbook' })
      const page = await create('/document', { title: 'On call', parent: doc.id })
      assert.equal(page.parent, doc.id)
      const underDoc = await h.request({
        method: 'POST',
        url: `/api/v1${ROUTES.glossary}`,
        body: { title: 'Misplaced', parent: doc.id },
      })
      assertFieldError(underDoc, 'parent', /glossary/)
      const underTerm = await h.request({
        method: 'POST',
        url: `/api/v1${ROUTES.document}`,
        body: { title: 'Misplaced', parent: term.id },
      })
      assertFieldError(underTerm, 'parent', /document/)
      const children = await h.request({ method: 'GET', url: `/api/v1/document?parent_id=${doc.id}` })
      assert.deepEqual(ids(children), [page.id])
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1${ROUTES.glossary}/${term.id}` })).statusCode, 204)
      assertErrorBody(await h.request({ method: 'GET', url: `/api/v1/resource/all/${child.id}` }), 404, 'NOT_FOUND')
    })

    test("dashboards may have no integration; a chart takes its dashboard's and may not name another", async () => {
      const bare = await create(ROUTES.dashboard, { title: 'Hand-made board' })
      assert.equal(bare.integration, null)
      const bareChart = await create(ROUTES.chart, { title: 'A chart', parent: bare.id })
      assert.equal(bareChart.integration, null)
      const integration = await makeIntegration(h)
      const board = await create(ROUTES.dashboard, { title: 'Board', integration })
      const chart = await create(ROUTES.chart, { title: 'Weekly', parent: board.id })
      assert.equal(chart.integration, integration)
      const other = await makeIntegration(h)
      const wrong = await h.request({
        method: 'POST',
        url: `/api/v1${ROUTES.chart}`,
        body: { title: 'Weekly', parent: board.id, integration: other },
      })
      assertFieldError(wrong, 'integration')
      assertFieldError(
        await h.request({ method: 'POST', url: `/api/v1${ROUTES.chart}`, body: { title: 'Orphan' } }),
        'parent',
        /dashboard/,
      )
      const charts = await h.request({ method: 'GET', url: `/api/v1${ROUTES.chart}?parent_id=${board.id}` })
      assert.deepEqual(ids(charts), [chart.id])
      const byIntegration = await h.request({
        method: 'GET',
        url: `/api/v1${ROUTES.dashboard}?integration_id=${integration}`,
      })
      assert.deepEqual(ids(byIntegration), [board.id])
    })

    test('List Resources lists and creates them, and finds them by type and by search', async () => {
      const response = await h.request({
        method: 'POST',
        url: '/api/v1/resource/catalog',
        body: { entity_type: 'glossary', title: 'Churn rate', description: 'share of customers who leave' },
      })
      assert.equal(response.statusCode, 201, response.body)
      const term = response.json() as Made
      assert.equal(term.entity_type, 'glossary')
      const byType = await h.request({
        method: 'GET',
        url: '/api/v1/resource/catalog?entity_type=glossary&page_size=1000',
      })
      assert.ok(ids(byType).includes(term.id))
      const found = await h.request({ method: 'GET', url: '/api/v1/resource/catalog?search_term=chrun%20rate' })
      assert.equal(ids(found)[0], term.id)
      const typed = await h.request({ method: 'GET', url: `/api/v1${ROUTES.glossary}?search_term=customers` })
      assert.deepEqual(ids(typed), [term.id])
    })

    test('a document links to the tables it describes through sources: checked, filtered on, cleaned up', async () => {
      const integration = await makeIntegration(h)
      const database = await create('/database/databases', { title: 'warehouse', integration })
      const schema = await create('/database/schemas', { title: 'sales', parent: database.id })
      const table = await create('/table/tables', { title: 'orders', parent: schema.id })
      const doc = await create(ROUTES.document, { title: 'How orders flow', sources: [table.id, table.id] })
      assert.deepEqual((doc as unknown as { sources: string[] }).sources, [table.id])
      const missing = '00000000-0000-4000-8000-000000000000'
      assertFieldError(
        await h.request({ method: 'POST', url: `/api/v1${ROUTES.document}`, body: { title: 'x', sources: [missing] } }),
        'sources[0]',
        /not a resource of this workspace/,
      )
      const filter = encodeURIComponent(JSON.stringify({ operator: 'in', field: 'sources', value: [table.id] }))
      const about = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${filter}` })
      assert.deepEqual(ids(about), [doc.id])
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${table.id}` })).statusCode, 204)
      const after = await h.request({ method: 'GET', url: `/api/v1${ROUTES.document}/${doc.id}` })
      assert.deepEqual(after.json().sources, [])
    })

    test('a viewer or editor links only to what it may see; a resource it may not see stays linked, unseen', async () => {
      const team = await makeTeam(h, { type: 'OPEN' })
      const editor = await makeKey(h, await makeUser(h, { role: 'editor', teamIds: [team] }))
      const hidden = await create(ROUTES.glossary, {
        title: 'Hidden term',
        teams: [await makeTeam(h, { type: 'CLOSED' })],
      })
      const seen = await create(ROUTES.glossary, { title: 'Seen term', teams: [team] })
      const refused = await h.request({
        method: 'POST',
        url: `/api/v1${ROUTES.document}`,
        body: { title: 'x', teams: [team], sources: [hidden.id] },
        headers: { authorization: editor },
      })
      assertFieldError(refused, 'sources[0]', /not a resource of this workspace/)
      const doc = await create(ROUTES.document, { title: 'Both', teams: [team], sources: [hidden.id, seen.id] })
      const shown = await h.request({
        method: 'GET',
        url: `/api/v1${ROUTES.document}/${doc.id}`,
        headers: { authorization: editor },
      })
      assert.deepEqual(shown.json().sources, [seen.id])
      const patched = await h.request({
        method: 'PATCH',
        url: `/api/v1${ROUTES.document}/${doc.id}`,
        body: { sources: [] },
        headers: { authorization: editor },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.deepEqual(patched.json().sources, [])
      const asAdmin = await h.request({ method: 'GET', url: `/api/v1${ROUTES.document}/${doc.id}` })
      assert.deepEqual(asAdmin.json().sources, [hidden.id])
      // A filter on the list compares what the caller is shown: the hidden link matches nothing for the editor.
      for (const filter of [
        { operator: 'is_set', field: 'sources' },
        { operator: 'in', field: 'sources', value: [hidden.id] },
        { operator: 'exact', field: 'sources', value: hidden.id },
      ]) {
        const url = `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify(filter))}&page_size=100`
        const asEditor = await h.request({ method: 'GET', url, headers: { authorization: editor } })
        assert.equal(ids(asEditor).includes(doc.id), false, `${JSON.stringify(filter)} as the editor`)
        assert.equal(
          ids(await h.request({ method: 'GET', url })).includes(doc.id),
          true,
          `${JSON.stringify(filter)} as admin`,
        )
      }
    })

    test('a viewer sees no unpublished glossary term or document by any route, filter or search', async () => {
      const team = await makeTeam(h, { type: 'OPEN' })
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer', teamIds: [team] }))
      const editor = await makeKey(h, await makeUser(h, { role: 'editor', teamIds: [team] }))
      for (const [type, path] of [
        ['glossary', ROUTES.glossary],
        ['document', ROUTES.document],
      ] as const) {
        const word = `secretword${type}`
        const draft = await create(path, { title: `${word} draft`, teams: [team], published: false }, editor)
        const shown = await create(path, { title: `${word} shown`, teams: [team] }, editor)
        const as = (url: string, key: string) => h.request({ method: 'GET', url, headers: { authorization: key } })
        const filter = encodeURIComponent(JSON.stringify({ operator: 'contains', field: 'title', value: word }))
        for (const [key, expected] of [
          [viewer, [shown.id]],
          [editor, [draft.id, shown.id].sort()],
        ] as const) {
          for (const url of [
            `/api/v1${path}?page_size=1000`,
            `/api/v1/resource/catalog?filter=${filter}`,
            `/api/v1/resource/catalog?search_term=${word}`,
            `/api/v1${path}?search_term=${word}`,
          ]) {
            const response = await as(url, key)
            assert.equal(response.statusCode, 200, response.body)
            const seen = ids(response).filter((id: string) => id === draft.id || id === shown.id)
            assert.deepEqual(seen.sort(), [...expected], `${url} as ${key === viewer ? 'viewer' : 'editor'}`)
          }
        }
        assertErrorBody(await as(`/api/v1${path}/${draft.id}`, viewer), 404, 'NOT_FOUND')
        assertErrorBody(await as(`/api/v1/resource/all/${draft.id}`, viewer), 404, 'NOT_FOUND')
        assert.equal((await as(`/api/v1${path}/${shown.id}`, viewer)).statusCode, 200)
        assertErrorBody(
          await h.request({
            method: 'POST',
            url: `/api/v1${path}`,
            body: { title: 'not allowed' },
            headers: { authorization: viewer },
          }),
          403,
          'PERMISSION_DENIED',
        )
      }
    })
  })
}
