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
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

const GROUPS = '/api/v1/auth/group'
const FIELDS = ['id', 'name', 'icon', 'description', 'users', 'workspace_id', 'created_at', 'updated_at']
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type Group = { id: string; name: string; icon: string | null; description: string; users: string[]; created_at: string }

for (const { engine, skip } of ENGINES) {
  describe(`groups on ${engine}`, { skip }, () => {
    let h: Harness
    let viewerKey: string
    before(async () => {
      h = await startHarness(engine)
      viewerKey = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    const client = collectionClient(() => h, GROUPS)
    const { list, get, post, patch, remove } = client
    const countGroups = () => countRows(h, 'groups')
    const created = (body: Record<string, unknown>) => client.created<Group>(body)
    const userWithEmail = (address: string) => makeUser(h, { email: address })

    describe('GET /auth/group', () => {
      test('lists the groups in the list envelope, ordered by name then id', async () => {
        const zeta = await created({ name: 'Zeta group' })
        const alpha = await created({ name: 'Alpha group' })
        const alphaToo = await created({ name: 'Alpha group' })
        const response = await list('?page_size=100')
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
        assert.equal(body.count, body.results.length)
        const names = body.results.map((g: Group) => g.name)
        assert.deepEqual(names, [...names].sort())
        const ids = body.results.map((g: Group) => g.id)
        const [first, second] = [alpha.id, alphaToo.id].sort()
        assert.ok(ids.indexOf(first) < ids.indexOf(second) && ids.indexOf(second) < ids.indexOf(zeta.id))
        for (const result of body.results) {
          assert.deepEqual(Object.keys(result), FIELDS)
        }
      })

      test("is open to a viewer and never lists another workspace's groups", async () => {
        const other = await makeWorkspace(h)
        const theirs = (await post({ name: 'Theirs' }, other.authorization)).json().id
        const response = await list('?page_size=100', viewerKey)
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(
          response.json().results.some((g: Group) => g.id === theirs),
          false,
        )
        assert.deepEqual(
          (await list('', other.authorization)).json().results.map((g: Group) => g.id),
          [theirs],
        )
      })
    })

    describe('POST /auth/group', () => {
      test('creates a group with its members, ordered by email, and answers 201', async () => {
        const suffix = randomUUID()
        const [zed, amy, kim, bob, pat] = [
          await userWithEmail(`zed-${suffix}@example.com`),
          await userWithEmail(`amy-${suffix}@example.com`),
          await userWithEmail(`kim-${suffix}@example.com`),
          await userWithEmail(`bob-${suffix}@example.com`),
          await userWithEmail(`pat-${suffix}@example.com`),
        ]
        const users = [zed, amy, kim, zed, bob, pat]
        const response = await post({ name: 'Analysts', icon: '📊', description: 'Numbers', users })
        assert.equal(response.statusCode, 201, response.body)
        const group = response.json()
        assert.deepEqual(Object.keys(group), FIELDS)
        assert.equal(group.name, 'Analysts')
        assert.equal(group.icon, '📊')
        assert.equal(group.description, 'Numbers')
        assert.deepEqual(group.users, [amy, bob, kim, pat, zed])
        assert.equal(group.workspace_id, h.workspaceId)
        assert.match(group.created_at, ISO_MS)
        assert.deepEqual((await get(group.id)).json(), group)
        const amyBody = (await h.request({ method: 'GET', url: `/api/v1/user/${amy}` })).json()
        assert.deepEqual(amyBody.user_groups, [group.id])
      })

      test('defaults icon to null, description to empty and users to none', async () => {
        const group = await created({ name: 'Bare' })
        assert.equal(group.icon, null)
        assert.equal(group.description, '')
        assert.deepEqual(group.users, [])
      })

      test('returns 400 naming each wrong field and the offending user, writing nothing', async () => {
        const other = await makeWorkspace(h)
        const before = await countGroups()
        assertFieldError(await post({}), 'name', /required/)
        assertFieldError(await post({ name: '' }), 'name')
        assertFieldError(await post({ name: 'x'.repeat(256) }), 'name')
        assertFieldError(await post({ name: 'Bad icon', icon: 5 }), 'icon')
        assertFieldError(await post({ name: 'Bad users', users: 'everyone' }), 'users')
        assertFieldError(await post({ name: 'Bad users', users: [await makeUser(h), 'nope'] }), 'users[1]')
        assertFieldError(
          await post({ name: 'Bad users', users: [await makeUser(h), randomUUID()] }),
          'users[1]',
          /not a user/,
        )
        assertFieldError(await post({ name: 'Foreign user', users: [other.adminUserId] }), 'users[0]')
        assert.equal(await countGroups(), before)
      })
    })

    describe('PATCH /auth/group/{id}', () => {
      test('changes the fields sent and nothing else', async () => {
        const member = await makeUser(h)
        const group = await created({ name: 'Before', description: 'kept', users: [member] })
        const response = await patch(group.id, { name: 'After', icon: 'x' })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), {
          ...group,
          name: 'After',
          icon: 'x',
          updated_at: response.json().updated_at,
        })
        assert.deepEqual((await get(group.id)).json(), response.json())
      })

      test('replaces the members; an empty list empties the group', async () => {
        const [a, b] = [await makeUser(h), await makeUser(h)]
        const group = await created({ name: 'Members', users: [a] })
        const response = await patch(group.id, { users: [b] })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().users, [b])
        const aBody = (await h.request({ method: 'GET', url: `/api/v1/user/${a}` })).json()
        assert.deepEqual(aBody.user_groups, [])
        assert.deepEqual((await patch(group.id, { users: [] })).json().users, [])
      })

      test('returns 400 for an unknown user and changes nothing', async () => {
        const group = await created({ name: 'Unchanged', users: [await makeUser(h)] })
        assertFieldError(await patch(group.id, { name: 'Changed', users: [randomUUID()] }), 'users[0]')
        assert.deepEqual((await get(group.id)).json(), group)
      })

      test('ignores unknown and read-only fields', async () => {
        const other = await makeWorkspace(h)
        const group = await created({ name: 'Fixed' })
        const response = await patch(group.id, {
          name: 'Fixed too',
          workspace_id: other.workspaceId,
          id: randomUUID(),
          created_at: '2001-01-01T00:00:00.000Z',
          colour: 'blue',
        })
        assert.equal(response.statusCode, 200, response.body)
        const fetched = (await get(group.id)).json()
        assert.equal(fetched.name, 'Fixed too')
        assert.equal(fetched.workspace_id, h.workspaceId)
        assert.equal(fetched.created_at, group.created_at)
      })
    })

    describe('DELETE /auth/group/{id}', () => {
      test("returns 204 and removes the group from every resource's owners_groups", async () => {
        const [gone, kept] = [await makeGroup(h), await makeGroup(h)]
        const database = await makeDatabase(h, { owners_groups: [gone, kept] })
        const response = await remove(gone)
        assert.equal(response.statusCode, 204)
        assert.equal(response.body, '')
        assertErrorBody(await get(gone), 404, 'NOT_FOUND')
        const fetched = (await h.request({ method: 'GET', url: `/api/v1/database/databases/${database.id}` })).json()
        assert.deepEqual(fetched.owners_groups, [kept])
      })

      test('keeps its members as users', async () => {
        const member = await makeUser(h)
        const group = await created({ name: 'Dissolved', users: [member] })
        assert.equal((await remove(group.id)).statusCode, 204)
        const user = await h.request({ method: 'GET', url: `/api/v1/user/${member}` })
        assert.equal(user.statusCode, 200)
        assert.deepEqual(user.json().user_groups, [])
      })
    })
  })
}
