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
  makeGroup,
  makeKey,
  makeTeam,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

const USERS = '/api/v1/user'
const FIELDS = [
  'id',
  'first_name',
  'last_name',
  'email',
  'role',
  'teams',
  'user_groups',
  'workspace_id',
  'created_at',
  'updated_at',
]
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type User = { id: string; email: string; role: string; teams: string[]; user_groups: string[]; created_at: string }

const email = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`

for (const { engine, skip } of ENGINES) {
  describe(`users on ${engine}`, { skip }, () => {
    let h: Harness
    let viewerKey: string
    before(async () => {
      h = await startHarness(engine)
      viewerKey = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    const client = collectionClient(() => h, USERS)
    const { list, get, post, patch, remove } = client
    const countUsers = () => countRows(h, 'users')
    const created = (body: Record<string, unknown>) => client.created<User>(body)

    describe('GET /user', () => {
      test('lists the users in the list envelope, ordered by email then id', async () => {
        const prefix = randomUUID().slice(0, 8)
        const zeta = await created({ email: `zz-${prefix}@example.com` })
        const alpha = await created({ email: `aa-${prefix}@example.com` })
        const mid = await created({ email: `mm-${prefix}@example.com` })
        const response = await list('?page_size=100')
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
        assert.equal(body.count, body.results.length)
        const emails = body.results.map((u: User) => u.email)
        assert.deepEqual(emails, [...emails].sort(), `not ordered by email: ${JSON.stringify(emails)}`)
        const ids = body.results.map((u: User) => u.id)
        assert.ok(ids.indexOf(alpha.id) < ids.indexOf(mid.id) && ids.indexOf(mid.id) < ids.indexOf(zeta.id))
        for (const result of body.results) {
          assert.deepEqual(Object.keys(result), FIELDS)
        }
      })

      test('pages with page_size', async () => {
        await makeUser(h)
        await makeUser(h)
        const body = (await list('?page_size=2')).json()
        assert.equal(body.results.length, 2)
        assert.equal(body.total_pages, Math.ceil(body.count / 2))
        assert.equal(new URL(body.links.next).searchParams.get('page'), '2')
      })

      test('is open to a viewer, and never lists another workspace', async () => {
        const other = await makeWorkspace(h)
        const response = await list('?page_size=100', viewerKey)
        assert.equal(response.statusCode, 200, response.body)
        const ids = response.json().results.map((u: User) => u.id)
        assert.ok(ids.includes(h.adminUserId))
        assert.equal(ids.includes(other.adminUserId), false)
        const theirs = (await list('', other.authorization)).json()
        assert.deepEqual(
          theirs.results.map((u: User) => u.id),
          [other.adminUserId],
        )
      })
    })

    describe('POST /user', () => {
      test('creates a viewer in the default team by default and answers 201 with it', async () => {
        const address = email('Ada.Lovelace')
        const response = await post({ email: address.toUpperCase(), first_name: 'Ada', last_name: 'Lovelace' })
        assert.equal(response.statusCode, 201, response.body)
        const user = response.json()
        assert.deepEqual(Object.keys(user), FIELDS)
        assert.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        assert.equal(user.email, address.toLowerCase())
        assert.equal(user.first_name, 'Ada')
        assert.equal(user.last_name, 'Lovelace')
        assert.equal(user.role, 'viewer')
        assert.deepEqual(user.teams, [h.defaultTeamId])
        assert.deepEqual(user.user_groups, [])
        assert.equal(user.workspace_id, h.workspaceId)
        assert.match(user.created_at, ISO_MS)
        assert.match(user.updated_at, ISO_MS)
        assert.deepEqual((await get(user.id)).json(), user)
        const stored = await h.store.db.selectFrom('users').select('email').where('id', '=', user.id).executeTakeFirst()
        assert.equal(stored?.email, address.toLowerCase())
      })

      test('adds the default team to the teams given, for every role but guest', async () => {
        const team = await makeTeam(h)
        for (const role of ['admin', 'editor', 'viewer']) {
          const user = await created({ email: email(role), role, teams: [team, team] })
          assert.equal(user.role, role)
          assert.deepEqual([...user.teams].sort(), [team, h.defaultTeamId].sort())
        }
        const listed = await created({ email: email('listed'), teams: [h.defaultTeamId, team] })
        assert.deepEqual([...listed.teams].sort(), [team, h.defaultTeamId].sort())
      })

      test('puts a guest only in the teams given', async () => {
        const team = await makeTeam(h)
        const guest = await created({ email: email('guest'), role: 'guest', teams: [team] })
        assert.deepEqual(guest.teams, [team])
      })

      test('returns 400 naming teams for a guest without a team, writing nothing', async () => {
        const before = await countUsers()
        assertFieldError(await post({ email: email('guest'), role: 'guest' }), 'teams', /at least one team/)
        assertFieldError(await post({ email: email('guest'), role: 'guest', teams: [] }), 'teams')
        assert.equal(await countUsers(), before)
      })

      test('returns 409 for an email already in the workspace, whatever its case', async () => {
        const address = email('taken')
        await created({ email: address })
        const before = await countUsers()
        assertErrorBody(await post({ email: address }), 409, 'CONFLICT')
        assertErrorBody(await post({ email: address.toUpperCase() }), 409, 'CONFLICT')
        assert.equal(await countUsers(), before)
      })

      test('returns 409 against a stored email that kept upper case (written outside this route)', async () => {
        const address = email('Mixed.Case')
        await makeUser(h, { email: address })
        assertErrorBody(await post({ email: address.toLowerCase() }), 409, 'CONFLICT')
        const user = await created({ email: email('other') })
        assertErrorBody(await patch(user.id, { email: address.toLowerCase() }), 409, 'CONFLICT')
      })

      test('accepts an email that another workspace uses', async () => {
        const other = await makeWorkspace(h)
        const address = email('shared')
        await created({ email: address })
        const response = await post({ email: address }, other.authorization)
        assert.equal(response.statusCode, 201, response.body)
        assert.equal(response.json().workspace_id, other.workspaceId)
      })

      test('returns 400 naming each wrong field, writing nothing', async () => {
        const before = await countUsers()
        assertFieldError(await post({ first_name: 'No email' }), 'email', /required/)
        assertFieldError(await post({ email: 'not an email' }), 'email', /email address/)
        assertFieldError(await post({ email: `${'a'.repeat(250)}@example.com` }), 'email')
        assertFieldError(await post({ email: 5 }), 'email')
        assertFieldError(await post({ email: email('role'), role: 'owner' }), 'role', /admin/)
        assertFieldError(await post({ email: email('name'), first_name: 'x'.repeat(151) }), 'first_name')
        assertFieldError(await post({ email: email('teams'), teams: ['nope'] }), 'teams[0]')
        assertFieldError(await post({ email: email('teams'), teams: [await makeTeam(h), randomUUID()] }), 'teams[1]')
        assert.equal(await countUsers(), before)
      })

      test("returns 400 for another workspace's team", async () => {
        const other = await makeWorkspace(h)
        assertFieldError(
          await post({ email: email('foreign'), teams: [other.defaultTeamId] }),
          'teams[0]',
          /not a team/,
        )
      })

      test('ignores unknown and read-only fields', async () => {
        const other = await makeWorkspace(h)
        const group = await makeGroup(h)
        const id = randomUUID()
        const response = await post({
          email: email('lenient'),
          id,
          workspace_id: other.workspaceId,
          user_groups: [group],
          created_at: '2001-01-01T00:00:00.000Z',
          colour: 'blue',
        })
        assert.equal(response.statusCode, 201, response.body)
        const user = response.json()
        assert.notEqual(user.id, id)
        assert.equal(user.workspace_id, h.workspaceId)
        assert.deepEqual(user.user_groups, [])
        assert.notEqual(user.created_at, '2001-01-01T00:00:00.000Z')
      })
    })

    describe('GET /user/{id}', () => {
      test('lists the groups the user is in, set through the group', async () => {
        const user = await created({ email: email('grouped') })
        const group = await makeGroup(h)
        const response = await h.request({
          method: 'PATCH',
          url: `/api/v1/auth/group/${group}`,
          body: { users: [user.id] },
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual((await get(user.id)).json().user_groups, [group])
      })

      test('hides a CLOSED team from a viewer who is not in it, not from an admin or a member', async () => {
        const closed = await makeTeam(h, { type: 'CLOSED' })
        const open = await makeTeam(h)
        const user = await created({ email: email('closed'), teams: [closed, open] })
        assert.deepEqual([...(await get(user.id)).json().teams].sort(), [closed, open, h.defaultTeamId].sort())
        assert.deepEqual([...(await get(user.id, viewerKey)).json().teams].sort(), [open, h.defaultTeamId].sort())
        const memberKey = await makeKey(h, await makeUser(h, { role: 'viewer', teamIds: [closed] }))
        assert.ok((await get(user.id, memberKey)).json().teams.includes(closed))
      })
    })

    describe('PATCH /user/{id}', () => {
      test('changes the names and email (lower-cased) and nothing else', async () => {
        const user = await created({ email: email('before'), first_name: 'Before' })
        const address = email('After')
        const response = await patch(user.id, { first_name: 'After', last_name: 'Later', email: address })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), {
          ...user,
          first_name: 'After',
          last_name: 'Later',
          email: address.toLowerCase(),
          updated_at: response.json().updated_at,
        })
        assert.deepEqual((await get(user.id)).json(), response.json())
      })

      test("returns 409 for another user's email, whatever its case; its own email in another case is fine", async () => {
        const taken = await created({ email: email('taken') })
        const user = await created({ email: email('mover') })
        assertErrorBody(await patch(user.id, { email: taken.email.toUpperCase() }), 409, 'CONFLICT')
        assert.equal((await get(user.id)).json().email, user.email)
        const same = await patch(user.id, { email: user.email.toUpperCase() })
        assert.equal(same.statusCode, 200, same.body)
        assert.equal(same.json().email, user.email)
      })

      test('replaces the teams and keeps the default team, which cannot be removed', async () => {
        const [t1, t2] = [await makeTeam(h), await makeTeam(h)]
        const user = await created({ email: email('teams'), role: 'editor', teams: [t1] })
        const response = await patch(user.id, { teams: [t2] })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual([...response.json().teams].sort(), [t2, h.defaultTeamId].sort())
        assert.deepEqual((await patch(user.id, { teams: [] })).json().teams, [h.defaultTeamId])
        const members = await h.store.db
          .selectFrom('team_members')
          .select('team_id')
          .where('user_id', '=', user.id)
          .execute()
        assert.deepEqual(
          members.map((m) => m.team_id),
          [h.defaultTeamId],
        )
      })

      test('a guest needs a team; becoming a guest keeps the teams unless new ones are given', async () => {
        const team = await makeTeam(h)
        const user = await created({ email: email('demoted'), role: 'viewer' })
        assertFieldError(await patch(user.id, { role: 'guest', teams: [] }), 'teams', /at least one team/)
        assert.equal((await get(user.id)).json().role, 'viewer')
        const guest = await patch(user.id, { role: 'guest', teams: [team] })
        assert.equal(guest.statusCode, 200, guest.body)
        assert.equal(guest.json().role, 'guest')
        assert.deepEqual(guest.json().teams, [team])
        assertFieldError(await patch(user.id, { teams: [] }), 'teams')
        const promoted = await patch(user.id, { role: 'viewer' })
        assert.equal(promoted.statusCode, 200, promoted.body)
        assert.deepEqual([...promoted.json().teams].sort(), [team, h.defaultTeamId].sort())
        const keeps = await patch(user.id, { role: 'guest' })
        assert.deepEqual([...keeps.json().teams].sort(), [team, h.defaultTeamId].sort())
      })

      test('returns 400 for an unknown team and changes nothing', async () => {
        const user = await created({ email: email('unchanged') })
        assertFieldError(await patch(user.id, { first_name: 'Changed', teams: [randomUUID()] }), 'teams[0]')
        assert.deepEqual((await get(user.id)).json(), user)
      })

      test('ignores user_groups, id, workspace_id and created_at', async () => {
        const other = await makeWorkspace(h)
        const user = await created({ email: email('fixed') })
        const response = await patch(user.id, {
          first_name: 'Fixed',
          user_groups: [await makeGroup(h)],
          id: randomUUID(),
          workspace_id: other.workspaceId,
          created_at: '2001-01-01T00:00:00.000Z',
        })
        assert.equal(response.statusCode, 200, response.body)
        const fetched = (await get(user.id)).json()
        assert.equal(fetched.first_name, 'Fixed')
        assert.deepEqual(fetched.user_groups, [])
        assert.equal(fetched.workspace_id, h.workspaceId)
        assert.equal(fetched.created_at, user.created_at)
      })

      test('refuses to demote the last admin with 409; with another admin it is allowed', async () => {
        const other = await makeWorkspace(h)
        const self = (body: Record<string, unknown>) => patch(other.adminUserId, body, other.authorization)
        assertErrorBody(await self({ role: 'editor' }), 409, 'CONFLICT')
        assert.equal((await get(other.adminUserId, other.authorization)).json().role, 'admin')
        const second = await post({ email: email('second-admin'), role: 'admin' }, other.authorization)
        assert.equal(second.statusCode, 201, second.body)
        const demoted = await self({ role: 'editor' })
        assert.equal(demoted.statusCode, 200, demoted.body)
        assert.equal(demoted.json().role, 'editor')
        const secondKey = await makeKey(h, second.json().id, other.workspaceId)
        const last = await patch(second.json().id, { role: 'viewer' }, secondKey)
        assertErrorBody(last, 409, 'CONFLICT')
        assert.match(last.json().detail, /last admin/)
      })
    })

    describe('DELETE /user/{id}', () => {
      test('returns 204, removes the user from resources and groups, and revokes their keys', async () => {
        const user = await created({ email: email('leaving'), role: 'editor' })
        const key = await makeKey(h, user.id)
        assert.equal((await list('', key)).statusCode, 200)
        const stays = await makeUser(h)
        const group = await makeGroup(h)
        await h.request({ method: 'PATCH', url: `/api/v1/auth/group/${group}`, body: { users: [user.id, stays] } })
        const database = await makeDatabase(h, { owners: [user.id, stays], subscribers: [user.id] })
        const response = await remove(user.id)
        assert.equal(response.statusCode, 204)
        assert.equal(response.body, '')
        assertErrorBody(await get(user.id), 404, 'NOT_FOUND')
        const fetched = (await h.request({ method: 'GET', url: `/api/v1/database/databases/${database.id}` })).json()
        assert.deepEqual(fetched.owners, [stays])
        assert.deepEqual(fetched.subscribers, [])
        const groupBody = (await h.request({ method: 'GET', url: `/api/v1/auth/group/${group}` })).json()
        assert.deepEqual(groupBody.users, [stays])
        assertErrorBody(await list('', key), 401, 'AUTHENTICATION_FAILED')
        const keys = await h.store.db.selectFrom('api_keys').select('id').where('user_id', '=', user.id).execute()
        assert.deepEqual(keys, [])
      })

      test('refuses an admin deleting themself with 409', async () => {
        assertErrorBody(await remove(h.adminUserId), 409, 'CONFLICT')
        assert.equal((await get(h.adminUserId)).statusCode, 200)
        const other = await makeWorkspace(h)
        assertErrorBody(await remove(other.adminUserId, other.authorization), 409, 'CONFLICT')
      })

      test('lets an admin delete another admin while one remains', async () => {
        const other = await makeWorkspace(h)
        const second = await post({ email: email('second-admin'), role: 'admin' }, other.authorization)
        assert.equal((await remove(second.json().id, other.authorization)).statusCode, 204)
        assert.equal((await list('', other.authorization)).json().count, 1)
      })
    })
  })
}
