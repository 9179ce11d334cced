import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  collectionClient,
  countRows,
  ENGINES,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeTeam,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

const TEAMS = '/api/v1/auth/teams'
const FIELDS = ['id', 'name', 'icon', 'description', 'type', 'is_default', 'workspace_id', 'created_at', 'updated_at']
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type Team = { id: string; name: string; type: string; is_default: boolean; created_at: string }

const named = (name: string) => `${name} ${randomUUID().slice(0, 8)}`

for (const { engine, skip } of ENGINES) {
  describe(`teams on ${engine}`, { skip }, () => {
    let h: Harness
    let editorKey: string
    let viewerKey: string
    before(async () => {
      h = await startHarness(engine)
      editorKey = await makeKey(h, await makeUser(h, { role: 'editor' }))
      viewerKey = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    const client = collectionClient(() => h, TEAMS)
    const { list, get, post, patch, remove } = client
    const listedIds = async (authorization?: string) =>
      (await list('?page_size=100', authorization)).json().results.map((t: Team) => t.id) as string[]
    const countTeams = () => countRows(h, 'teams')
    const created = (body: Record<string, unknown>) => client.created<Team>(body)
    const database = async (id: string) =>
      (await h.request({ method: 'GET', url: `/api/v1/database/databases/${id}` })).json()

    describe('GET /auth/teams', () => {
      test('lists the teams in the list envelope, ordered by name, the default team marked', async () => {
        const zeta = await created({ name: named('Zeta') })
        const alpha = await created({ name: named('Alpha') })
        const response = await list('?page_size=100')
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
        assert.equal(body.count, body.results.length)
        const names = body.results.map((t: Team) => t.name)
        assert.deepEqual(names, [...names].sort())
        const ids = body.results.map((t: Team) => t.id)
        assert.ok(ids.indexOf(alpha.id) < ids.indexOf(zeta.id))
        const general = body.results.find((t: Team) => t.id === h.defaultTeamId)
        assert.equal(general.name, 'General')
        assert.equal(general.is_default, true)
        assert.equal(body.results.filter((t: Team) => t.is_default).length, 1)
        for (const result of body.results) {
          assert.deepEqual(Object.keys(result), FIELDS)
        }
      })

      test("never lists another workspace's teams", async () => {
        const other = await makeWorkspace(h)
        assert.equal((await listedIds()).includes(other.defaultTeamId), false)
        assert.deepEqual(await listedIds(other.authorization), [other.defaultTeamId])
      })
    })

    describe('CLOSED teams', () => {
      test('are invisible to a viewer outside them: not listed, 404 on get, patch and delete', async () => {
        const closed = await created({ name: named('Secret'), type: 'CLOSED' })
        const open = await created({ name: named('Public') })
        const ids = await listedIds(viewerKey)
        assert.ok(ids.includes(open.id))
        assert.equal(ids.includes(closed.id), false)
        const page = (await list('?page_size=100', viewerKey)).json()
        assert.equal(page.count, ids.length)
        assertErrorBody(await get(closed.id, viewerKey), 404, 'NOT_FOUND')
        assertErrorBody(await patch(closed.id, { name: 'x' }, viewerKey), 404, 'NOT_FOUND')
        assertErrorBody(await remove(closed.id, viewerKey), 404, 'NOT_FOUND')
        assertErrorBody(await get(closed.id, editorKey), 404, 'NOT_FOUND')
        assert.equal((await get(open.id, viewerKey)).statusCode, 200)
        assert.equal((await get(closed.id)).json().name, closed.name)
      })

      test('are visible to their members and to admins; a member still may not change them', async () => {
        const closed = await created({ name: named('Members only'), type: 'CLOSED' })
        const memberKey = await makeKey(h, await makeUser(h, { role: 'viewer', teamIds: [closed.id] }))
        assert.ok((await listedIds(memberKey)).includes(closed.id))
        assert.equal((await get(closed.id, memberKey)).statusCode, 200)
        assertErrorBody(await patch(closed.id, { name: 'x' }, memberKey), 403, 'PERMISSION_DENIED')
        assert.ok((await listedIds()).includes(closed.id))
        const otherAdmin = await makeKey(h, await makeUser(h, { role: 'admin' }))
        assert.ok((await listedIds(otherAdmin)).includes(closed.id))
      })

      test('count and pages reflect only the visible teams', async () => {
        for (let i = 0; i < 3; i++) {
          await created({ name: named('Hidden'), type: 'CLOSED' })
        }
        const all = (await list('?page_size=1')).json()
        const visible = (await list('?page_size=1', viewerKey)).json()
        assert.equal(visible.count, (await listedIds(viewerKey)).length)
        assert.ok(visible.count <= all.count - 3)
        assert.equal(visible.total_pages, visible.count)
        assertErrorBody(await list(`?page_size=1&page=${visible.count + 1}`, viewerKey), 404, 'INVALID_PAGE')
      })

      test('closing an open team hides it from a viewer outside it', async () => {
        const team = await created({ name: named('Closing') })
        assert.equal((await get(team.id, viewerKey)).statusCode, 200)
        assert.equal((await patch(team.id, { type: 'CLOSED' })).json().type, 'CLOSED')
        assertErrorBody(await get(team.id, viewerKey), 404, 'NOT_FOUND')
      })
    })

    describe('POST /auth/teams', () => {
      test('creates an OPEN team by default and answers 201 with it', async () => {
        const name = named('Data')
        const response = await post({ name, description: 'The data team', icon: '🗄' })
        assert.equal(response.statusCode, 201, response.body)
        const team = response.json()
        assert.deepEqual(Object.keys(team), FIELDS)
        assert.equal(team.name, name)
        assert.equal(team.description, 'The data team')
        assert.equal(team.icon, '🗄')
        assert.equal(team.type, 'OPEN')
        assert.equal(team.is_default, false)
        assert.equal(team.workspace_id, h.workspaceId)
        assert.match(team.created_at, ISO_MS)
        assert.deepEqual((await get(team.id)).json(), team)
      })

      test('ignores is_default and the other read-only fields', async () => {
        const team = await created({ name: named('Not default'), is_default: true, workspace_id: randomUUID() })
        assert.equal(team.is_default, false)
        assert.equal((await get(h.defaultTeamId)).json().is_default, true)
      })

      test('returns 409 for a name the workspace already has, writing nothing', async () => {
        const name = named('Taken')
        await created({ name })
        const before = await countTeams()
        assert.match(assertErrorBody(await post({ name }), 409, 'CONFLICT').detail, new RegExp(name))
        assert.match(assertErrorBody(await post({ name: 'General' }), 409, 'CONFLICT').detail, /General/)
        assert.equal(await countTeams(), before)
        const other = await makeWorkspace(h)
        assert.equal((await post({ name }, other.authorization)).statusCode, 201)
      })

      test('returns 400 naming each wrong field', async () => {
        const before = await countTeams()
        assertFieldError(await post({}), 'name', /required/)
        assertFieldError(await post({ name: '' }), 'name')
        assertFieldError(await post({ name: 'x'.repeat(256) }), 'name')
        assertFieldError(await post({ name: named('Bad type'), type: 'PRIVATE' }), 'type', /OPEN/)
        assertFieldError(await post({ name: named('Bad type'), type: 'open' }), 'type')
        assertFieldError(await post({ name: named('Bad description'), description: null }), 'description')
        assert.equal(await countTeams(), before)
      })
    })

    describe('GET /auth/teams/{id}', () => {
      test("returns 404 for a missing, malformed or another workspace's id", async () => {
        const other = await makeWorkspace(h)
        for (const id of [randomUUID(), 'abc', other.defaultTeamId]) {
          assertErrorBody(await get(id), 404, 'NOT_FOUND')
        }
      })
    })

    describe('PATCH /auth/teams/{id}', () => {
      test('changes the fields sent and nothing else', async () => {
        const team = await created({ name: named('Before'), description: 'kept' })
        const name = named('After')
        const response = await patch(team.id, { name, icon: 'i' })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), { ...team, name, icon: 'i', updated_at: response.json().updated_at })
      })

      test("returns 409 for another team's name; its own name is fine", async () => {
        const taken = await created({ name: named('Taken') })
        const team = await created({ name: named('Renamed') })
        assert.match(assertErrorBody(await patch(team.id, { name: taken.name }), 409, 'CONFLICT').detail, /Taken/)
        assert.equal((await get(team.id)).json().name, team.name)
        assert.equal((await patch(team.id, { name: team.name })).statusCode, 200)
      })

      test('ignores is_default: the default team stays the default', async () => {
        const team = await created({ name: named('Pretender') })
        assert.equal((await patch(team.id, { is_default: true })).json().is_default, false)
        assert.equal((await patch(h.defaultTeamId, { is_default: false })).json().is_default, true)
      })
    })

    describe('DELETE /auth/teams/{id}', () => {
      test('moves what belonged only to the team to General; what had another team just loses it', async () => {
        const [gone, kept] = [await makeTeam(h), await makeTeam(h)]
        const integration = await makeIntegration(h, { teams: [gone] })
        const shared = await makeIntegration(h, { teams: [gone, kept] })
        const only = await makeDatabase(h, { integration, teams: [gone] })
        const both = await makeDatabase(h, { integration: shared, teams: [gone, kept] })
        const member = await makeUser(h, { teamIds: [gone, kept] })
        const response = await remove(gone)
        assert.equal(response.statusCode, 204)
        assert.equal(response.body, '')
        assertErrorBody(await get(gone), 404, 'NOT_FOUND')
        assert.deepEqual((await database(only.id)).teams, [h.defaultTeamId])
        assert.deepEqual((await database(both.id)).teams, [kept])
        const integrations = '/api/v1/integration/integrations'
        assert.deepEqual((await h.request({ method: 'GET', url: `${integrations}/${integration}` })).json().teams, [
          h.defaultTeamId,
        ])
        assert.deepEqual((await h.request({ method: 'GET', url: `${integrations}/${shared}` })).json().teams, [kept])
        const user = (await h.request({ method: 'GET', url: `/api/v1/user/${member}` })).json()
        assert.deepEqual([...user.teams].sort(), [kept, h.defaultTeamId].sort())
        const left = await h.store.db
          .selectFrom('resource_teams')
          .select('resource_id')
          .where('target_id', '=', gone)
          .execute()
        assert.deepEqual(left, [])
      })

      test('refuses to delete the default team with 409', async () => {
        const response = await remove(h.defaultTeamId)
        assert.match(assertErrorBody(response, 409, 'CONFLICT').detail, /default team/)
        assert.equal((await get(h.defaultTeamId)).statusCode, 200)
      })

      test('refuses with 409 to leave a guest without a team, and deletes nothing', async () => {
        const team = await makeTeam(h)
        const guest = await makeUser(h, { role: 'guest', teamIds: [team] })
        const db = await makeDatabase(h, { teams: [team] })
        assertErrorBody(await remove(team), 409, 'CONFLICT')
        assert.equal((await get(team)).statusCode, 200)
        assert.deepEqual((await database(db.id)).teams, [team])
        const second = await makeTeam(h)
        const patched = await h.request({
          method: 'PATCH',
          url: `/api/v1/user/${guest}`,
          body: { teams: [team, second] },
        })
        assert.equal(patched.statusCode, 200, patched.body)
        assert.equal((await remove(team)).statusCode, 204)
        assert.deepEqual((await database(db.id)).teams, [h.defaultTeamId])
      })

      test("returns 404 for a missing, malformed or another workspace's id", async () => {
        const other = await makeWorkspace(h)
        const theirs = (await post({ name: named('Theirs') }, other.authorization)).json().id
        for (const id of [randomUUID(), 'abc', theirs, other.defaultTeamId]) {
          assertErrorBody(await remove(id), 404, 'NOT_FOUND')
        }
        assert.equal((await get(theirs, other.authorization)).statusCode, 200)
      })
    })
  })
}
