import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  type Harness,
  holdOpenOnPeer,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeResource,
  makeTeam,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

const INTEGRATIONS = '/api/v1/integration/integrations'
const FIELDS = ['id', 'name', 'type', 'teams', 'workspace_id', 'created_at', 'updated_at']
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type Integration = { id: string; name: string; type: string; teams: string[]; workspace_id: string }

/** Credentials are write-only: no answer has the field, and the secret appears nowhere in the raw body. */
function assertNoCredentials(response: LightMyRequestResponse, secret: string) {
  assert.equal(response.body.includes(secret), false, `the secret leaked: ${response.body}`)
  assert.equal(response.body.includes('credentials'), false, `credentials answered: ${response.body}`)
}

for (const { engine, skip } of ENGINES) {
  describe(`integrations on ${engine}`, { skip }, () => {
    let h: Harness
    let editorKey: string
    before(async () => {
      h = await startHarness(engine)
      editorKey = await makeKey(h, await makeUser(h, { role: 'editor' }))
    })
    after(() => h?.close())

    const as = (authorization?: string) => (authorization === undefined ? {} : { authorization })
    const get = (id: string, authorization?: string) =>
      h.request({ method: 'GET', url: `${INTEGRATIONS}/${id}`, headers: as(authorization) })
    const post = (body: Record<string, unknown>, authorization?: string) =>
      h.request({ method: 'POST', url: INTEGRATIONS, body, headers: as(authorization) })
    const patch = (id: string, body: Record<string, unknown>, authorization?: string) =>
      h.request({ method: 'PATCH', url: `${INTEGRATIONS}/${id}`, body, headers: as(authorization) })
    const remove = (id: string, authorization?: string) =>
      h.request({ method: 'DELETE', url: `${INTEGRATIONS}/${id}`, headers: as(authorization) })
    const storedCredentials = async (id: string) =>
      (await h.store.db.selectFrom('integrations').select('credentials').where('id', '=', id).executeTakeFirstOrThrow())
        .credentials

    describe('GET /integration/integrations', () => {
      test('lists the integrations in the list envelope, ordered by name', async () => {
        const suffix = randomUUID()
        const zeta = await makeIntegration(h, { name: `zeta ${suffix}` })
        const alpha = await makeIntegration(h, { name: `alpha ${suffix}` })
        const mid = await makeIntegration(h, { name: `mid ${suffix}` })
        const response = await h.request({ method: 'GET', url: `${INTEGRATIONS}/?page_size=100` })
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
        assert.deepEqual(body.links, { next: null, previous: null })
        assert.deepEqual(body.meta, { page: 1, previous_page: null, next_page: null })
        assert.equal(body.count, body.results.length)
        assert.equal(body.total_pages, 1)
        const ids = body.results.map((r: Integration) => r.id)
        const positions = [alpha, mid, zeta].map((id) => ids.indexOf(id))
        assert.ok(positions[0] !== -1, 'alpha is listed')
        assert.deepEqual(
          [...positions].sort((a, b) => a - b),
          positions,
          `not ordered by name: ${JSON.stringify(body.results.map((r: Integration) => r.name))}`,
        )
        for (const result of body.results) {
          assert.deepEqual(Object.keys(result), FIELDS)
        }
      })

      test('pages with page_size and links back to the path called', async () => {
        for (let i = 0; i < 3; i++) {
          await makeIntegration(h)
        }
        const response = await h.request({ method: 'GET', url: '/integration/integrations?page_size=2' })
        const body = response.json()
        assert.equal(body.results.length, 2)
        assert.equal(body.total_pages, Math.ceil(body.count / 2))
        const next = new URL(body.links.next)
        assert.equal(next.pathname, '/integration/integrations')
        assert.equal(next.searchParams.get('page'), '2')
        assert.equal(next.searchParams.get('page_size'), '2')
        const past = await h.request({ method: 'GET', url: `${INTEGRATIONS}?page_size=2&page=${body.total_pages + 1}` })
        assert.equal(assertErrorBody(past, 404, 'INVALID_PAGE').detail, 'Invalid page.')
      })

      test("does not list another workspace's integrations", async () => {
        const other = await makeWorkspace(h)
        const theirs = (await post({ name: 'Theirs', type: 'postgres' }, other.authorization)).json().id
        const ours = (await h.request({ method: 'GET', url: `${INTEGRATIONS}?page_size=100` })).json()
        assert.equal(
          ours.results.some((r: Integration) => r.id === theirs),
          false,
        )
        const listed = (await h.request({ method: 'GET', url: INTEGRATIONS, headers: as(other.authorization) })).json()
        assert.deepEqual(
          listed.results.map((r: Integration) => r.id),
          [theirs],
        )
      })

      test('is open to an editor', async () => {
        const response = await h.request({ method: 'GET', url: INTEGRATIONS, headers: as(editorKey) })
        assert.equal(response.statusCode, 200, response.body)
      })
    })

    describe('POST /integration/integrations', () => {
      test('creates an integration in the default team and answers 201 with it', async () => {
        const response = await post({ name: 'Warehouse', type: 'postgres' })
        assert.equal(response.statusCode, 201, response.body)
        const created = response.json()
        assert.deepEqual(Object.keys(created), FIELDS)
        assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        assert.equal(created.name, 'Warehouse')
        assert.equal(created.type, 'postgres')
        assert.deepEqual(created.teams, [h.defaultTeamId])
        assert.equal(created.workspace_id, h.workspaceId)
        assert.match(created.created_at, ISO_MS)
        assert.match(created.updated_at, ISO_MS)
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('puts it in the default team when teams is empty', async () => {
        const response = await post({ name: 'Empty teams', type: 'postgres', teams: [] })
        assert.equal(response.statusCode, 201, response.body)
        assert.deepEqual(response.json().teams, [h.defaultTeamId])
      })

      test('keeps the teams given in order, without duplicates', async () => {
        const [t1, t2] = [await makeTeam(h), await makeTeam(h)]
        const response = await post({ name: 'Teams', type: 'postgres', teams: [t2, t1, t2] })
        assert.equal(response.statusCode, 201, response.body)
        assert.deepEqual(response.json().teams, [t2, t1])
      })

      test('stores credentials and never returns them from create, get, list or patch', async () => {
        const secret = `s3cret-${randomUUID()}`
        const created = await post({
          name: 'Secretive',
          type: 'snowflake',
          credentials: { user: 'u', password: secret },
        })
        assert.equal(created.statusCode, 201, created.body)
        assertNoCredentials(created, secret)
        const id = created.json().id
        assert.ok((await storedCredentials(id)).includes(secret), 'the credentials were not stored')
        assertNoCredentials(await get(id), secret)
        assertNoCredentials(await h.request({ method: 'GET', url: `${INTEGRATIONS}?page_size=100` }), secret)
        assertNoCredentials(await patch(id, { name: 'Still secretive' }), secret)
        const newSecret = `n3w-${randomUUID()}`
        const replaced = await patch(id, { credentials: { password: newSecret } })
        assert.equal(replaced.statusCode, 200, replaced.body)
        assertNoCredentials(replaced, newSecret)
        assertNoCredentials(replaced, secret)
        const stored = await storedCredentials(id)
        assert.ok(stored.includes(newSecret) && !stored.includes(secret), 'the credentials were not replaced')
      })

      test('returns 400 naming the team for an unknown team, writing nothing', async () => {
        const team = await makeTeam(h)
        const before = await countRows(h, 'integrations')
        assertFieldError(await post({ name: 'Bad team', type: 'postgres', teams: [team, randomUUID()] }), 'teams[1]')
        assertFieldError(await post({ name: 'Bad team', type: 'postgres', teams: ['nope'] }), 'teams[0]')
        assert.equal(await countRows(h, 'integrations'), before)
      })

      test("returns 400 for another workspace's team", async () => {
        const other = await makeWorkspace(h)
        assertFieldError(
          await post({ name: 'Foreign team', type: 'postgres', teams: [other.defaultTeamId] }),
          'teams[0]',
        )
      })

      test('returns 400 naming each missing or wrong field', async () => {
        const before = await countRows(h, 'integrations')
        assertFieldError(await post({ type: 'postgres' }), 'name', /required/)
        assertFieldError(await post({ name: 'No type' }), 'type', /required/)
        assertFieldError(await post({ name: '', type: 'postgres' }), 'name')
        assertFieldError(await post({ name: 5, type: 'postgres' }), 'name')
        assertFieldError(
          await post({ name: 'Bad credentials', type: 'postgres', credentials: 'secret' }),
          'credentials',
        )
        assert.equal(await countRows(h, 'integrations'), before)
      })

      test('returns 403 to an editor, writing nothing', async () => {
        const before = await countRows(h, 'integrations')
        assertErrorBody(await post({ name: 'By an editor', type: 'postgres' }, editorKey), 403, 'PERMISSION_DENIED')
        assert.equal(await countRows(h, 'integrations'), before)
      })
    })

    describe('GET /integration/integrations/{id}', () => {
      test('returns the integration', async () => {
        const id = await makeIntegration(h, { name: 'Readable' })
        const response = await get(id)
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(response.json().id, id)
        assert.equal(response.json().name, 'Readable')
        assert.equal((await get(id, editorKey)).statusCode, 200)
      })

      test('returns 404 for an id that does not exist', async () => {
        assertErrorBody(await get(randomUUID()), 404, 'NOT_FOUND')
      })

      test('returns 404 for a malformed id', async () => {
        assertErrorBody(await get('abc'), 404, 'NOT_FOUND')
      })

      test("returns 404 for another workspace's integration", async () => {
        const other = await makeWorkspace(h)
        const theirs = (await post({ name: 'Theirs', type: 'postgres' }, other.authorization)).json().id
        assertErrorBody(await get(theirs), 404, 'NOT_FOUND')
      })
    })

    describe('PATCH /integration/integrations/{id}', () => {
      test('changes the name and nothing else', async () => {
        const created = (await post({ name: 'Before', type: 'postgres' })).json()
        const response = await patch(created.id, { name: 'After' })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), { ...created, name: 'After', updated_at: response.json().updated_at })
        assert.match(response.json().updated_at, ISO_MS)
        assert.equal((await get(created.id)).json().name, 'After')
      })

      test('replaces the teams, in order and without duplicates; empty means the default team', async () => {
        const [t1, t2] = [await makeTeam(h), await makeTeam(h)]
        const id = await makeIntegration(h)
        const response = await patch(id, { teams: [t2, t1, t2] })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().teams, [t2, t1])
        assert.deepEqual((await get(id)).json().teams, [t2, t1])
        assert.deepEqual((await patch(id, { teams: [] })).json().teams, [h.defaultTeamId])
      })

      test('returns 400 for an unknown team and changes nothing', async () => {
        const team = await makeTeam(h)
        const created = (await post({ name: 'Unchanged', type: 'postgres', teams: [team] })).json()
        assertFieldError(await patch(created.id, { name: 'Changed', teams: [randomUUID()] }), 'teams[0]')
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('ignores unknown fields', async () => {
        const created = (await post({ name: 'Lenient', type: 'postgres' })).json()
        const response = await patch(created.id, { name: 'Lenient too', no_such_field: 1 })
        assert.equal(response.statusCode, 200, response.body)
        assert.equal((await get(created.id)).json().name, 'Lenient too')
      })

      test('ignores workspace_id: an integration never moves to another workspace', async () => {
        const other = await makeWorkspace(h)
        const created = (await post({ name: 'Staying', type: 'postgres' })).json()
        const response = await patch(created.id, { name: 'Staying put', workspace_id: other.workspaceId })
        assert.equal(response.statusCode, 200, response.body)
        const fetched = await get(created.id)
        assert.equal(fetched.statusCode, 200, fetched.body)
        assert.equal(fetched.json().workspace_id, h.workspaceId)
        assertErrorBody(await get(created.id, other.authorization), 404, 'NOT_FOUND')
      })

      test('ignores id and created_at', async () => {
        const created = (await post({ name: 'Fixed', type: 'postgres' })).json()
        const response = await patch(created.id, {
          name: 'Fixed too',
          id: randomUUID(),
          created_at: '2001-01-01T00:00:00.000Z',
        })
        assert.equal(response.statusCode, 200, response.body)
        const fetched = await get(created.id)
        assert.equal(fetched.statusCode, 200, fetched.body)
        assert.equal(fetched.json().name, 'Fixed too')
        assert.equal(fetched.json().created_at, created.created_at)
      })

      test('returns 403 to an editor and changes nothing', async () => {
        const created = (await post({ name: 'Admin only', type: 'postgres' })).json()
        assertErrorBody(await patch(created.id, { name: 'Editor was here' }, editorKey), 403, 'PERMISSION_DENIED')
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('returns 404 for a missing or malformed id', async () => {
        assertErrorBody(await patch(randomUUID(), { name: 'x' }), 404, 'NOT_FOUND')
        assertErrorBody(await patch('abc', { name: 'x' }), 404, 'NOT_FOUND')
      })
    })

    describe('DELETE /integration/integrations/{id}', () => {
      test('returns 204 with an empty body, after which the integration is 404', async () => {
        const id = await makeIntegration(h)
        const response = await remove(id)
        assert.equal(response.statusCode, 204)
        assert.equal(response.body, '')
        assertErrorBody(await get(id), 404, 'NOT_FOUND')
      })

      test('deletes its databases and their subtrees, and nothing of other integrations', async () => {
        const id = await makeIntegration(h)
        const owner = await makeUser(h)
        const databases = [
          await makeDatabase(h, { integration: id, owners: [owner] }),
          await makeDatabase(h, { integration: id }),
        ]
        const schema = await makeResource(h, { entityType: 'schema', parentId: databases[0].id })
        const table = await makeResource(h, { entityType: 'table', parentId: schema })
        await makeResource(h, { entityType: 'column', parentId: table })
        const kept = await makeDatabase(h)
        const keptSchema = await makeResource(h, { entityType: 'schema', parentId: kept.id })
        const before = { resources: await countRows(h, 'resources'), teams: await countRows(h, 'resource_teams') }
        assert.equal((await remove(id)).statusCode, 204)
        assert.deepEqual(
          { resources: await countRows(h, 'resources'), teams: await countRows(h, 'resource_teams') },
          { resources: before.resources - 5, teams: before.teams - 5 },
        )
        for (const database of databases) {
          const response = await h.request({ method: 'GET', url: `/api/v1/database/databases/${database.id}` })
          assertErrorBody(response, 404, 'NOT_FOUND')
        }
        const left = await h.store.db.selectFrom('resources').select('id').where('integration_id', '=', id).execute()
        assert.deepEqual(left, [])
        const keptIds = await h.store.db
          .selectFrom('resources')
          .select('id')
          .where('id', 'in', [kept.id, keptSchema])
          .execute()
        assert.equal(keptIds.length, 2)
      })

      test('returns 403 to an editor and deletes nothing', async () => {
        const id = await makeIntegration(h)
        await makeDatabase(h, { integration: id })
        const before = [await countRows(h, 'integrations'), await countRows(h, 'resources')]
        assertErrorBody(await remove(id, editorKey), 403, 'PERMISSION_DENIED')
        assert.deepEqual([await countRows(h, 'integrations'), await countRows(h, 'resources')], before)
      })

      test("returns 404 for a missing, malformed or another workspace's id", async () => {
        const other = await makeWorkspace(h)
        const theirs = (await post({ name: 'Theirs', type: 'postgres' }, other.authorization)).json().id
        for (const id of [randomUUID(), 'abc', theirs]) {
          assertErrorBody(await remove(id), 404, 'NOT_FOUND')
        }
        assert.equal((await get(theirs, other.authorization)).statusCode, 200)
      })
    })

    if (engine === 'postgres') {
      describe('a team deleted while an integration is written', () => {
        // The team exists when the request checks it; its deletion, committed while the request waits to insert
        // the membership row, makes that insert break a foreign key: a 409 saying to try again, never a 500.
        for (const write of ['create', 'update'] as const) {
          test(`${write}: 409 CONFLICT, and nothing is written`, async () => {
            const team = await makeTeam(h)
            const existing = write === 'update' ? (await post({ name: 'Existing', type: 'postgres' })).json().id : ''
            const before = await countRows(h, 'integration_teams')
            const commit = await holdOpenOnPeer(h, async (trx) => {
              await trx.deleteFrom('teams').where('id', '=', team).execute()
            })
            const answer =
              write === 'create'
                ? post({ name: 'Racing', type: 'postgres', teams: [team] })
                : patch(existing, { teams: [team] })
            await new Promise((resolve) => setTimeout(resolve, 200))
            await commit()
            assertErrorBody(await answer, 409, 'CONFLICT')
            assert.equal(await countRows(h, 'integration_teams'), before)
          })
        }
      })
    }
  })
}
