import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  collectionClient,
  countRows,
  ENGINES,
  type Harness,
  makeKey,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

// What groups, tags, teams and users share (src/http/collection.ts): anyone in the workspace reads,
// only an admin writes, and nothing outside the workspace is ever found. Each collection's own rules are tested
// in its own file.

let serial = 0
const named = (prefix: string) => `${prefix} ${++serial} ${randomUUID().slice(0, 8)}`

const COLLECTIONS = [
  {
    name: 'groups',
    base: '/api/v1/auth/group',
    table: 'groups',
    body: () => ({ name: named('Group') }),
    changes: [{ name: 'Changed group' }],
  },
  {
    name: 'tags',
    base: '/api/v1/tag',
    table: 'tags',
    body: () => ({ name: named('Tag') }),
    changes: [{ name: 'Changed tag' }],
  },
  {
    name: 'teams',
    base: '/api/v1/auth/teams',
    table: 'teams',
    body: () => ({ name: named('Team') }),
    changes: [{ name: 'Changed team' }, { type: 'CLOSED' }],
  },
  {
    name: 'users',
    base: '/api/v1/user',
    table: 'users',
    body: () => ({ email: `user-${++serial}-${randomUUID().slice(0, 8)}@example.com` }),
    // A viewer making itself (or anyone) an admin is the change that matters most to refuse.
    changes: [{ first_name: 'Changed' }, { role: 'admin' }],
  },
] as const

for (const { engine, skip } of ENGINES) {
  describe(`admin-managed directory collections on ${engine}`, { skip }, () => {
    let h: Harness
    let editorKey: string
    let viewerKey: string
    before(async () => {
      h = await startHarness(engine)
      editorKey = await makeKey(h, await makeUser(h, { role: 'editor' }))
      viewerKey = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    for (const collection of COLLECTIONS) {
      describe(collection.name, () => {
        const client = collectionClient(() => h, collection.base)
        const { get, post, patch, remove } = client
        const count = () => countRows(h, collection.table)
        const created = (authorization?: string) => client.created(collection.body(), authorization)
        /** An item of another workspace, as that workspace's admin sees it. */
        const foreign = async () => {
          const other = await makeWorkspace(h)
          return { other, item: await created(other.authorization) }
        }

        test('POST is refused with 403 to an editor and a viewer, writing nothing', async () => {
          const before = await count()
          assertErrorBody(await post(collection.body(), editorKey), 403, 'PERMISSION_DENIED')
          assertErrorBody(await post(collection.body(), viewerKey), 403, 'PERMISSION_DENIED')
          assert.equal(await count(), before)
        })

        test("GET by id answers anyone in the workspace; 404 for a missing, malformed or another workspace's id", async () => {
          const item = await created()
          for (const key of [undefined, editorKey, viewerKey]) {
            const response = await get(item.id, key)
            assert.equal(response.statusCode, 200, response.body)
            assert.deepEqual(response.json(), item)
          }
          const { item: theirs } = await foreign()
          for (const id of [randomUUID(), 'abc', theirs.id]) {
            assertErrorBody(await get(id), 404, 'NOT_FOUND')
          }
        })

        test('PATCH is refused with 403 to an editor and a viewer, changing nothing; 404 first outside the workspace', async () => {
          const item = await created()
          for (const change of collection.changes) {
            assertErrorBody(await patch(item.id, change, editorKey), 403, 'PERMISSION_DENIED')
            assertErrorBody(await patch(item.id, change, viewerKey), 403, 'PERMISSION_DENIED')
          }
          assert.deepEqual((await get(item.id)).json(), item)
          const { item: theirs } = await foreign()
          const [change = {}] = collection.changes
          assertErrorBody(await patch(theirs.id, change, editorKey), 404, 'NOT_FOUND')
          assertErrorBody(await patch(theirs.id, change), 404, 'NOT_FOUND')
          assertErrorBody(await patch('abc', change), 404, 'NOT_FOUND')
        })

        test("DELETE is refused with 403 to an editor and a viewer; 404 for a missing, malformed or another workspace's id", async () => {
          const item = await created()
          assertErrorBody(await remove(item.id, editorKey), 403, 'PERMISSION_DENIED')
          assertErrorBody(await remove(item.id, viewerKey), 403, 'PERMISSION_DENIED')
          assert.equal((await get(item.id)).statusCode, 200)
          const { other, item: theirs } = await foreign()
          for (const id of [randomUUID(), 'abc', theirs.id]) {
            assertErrorBody(await remove(id), 404, 'NOT_FOUND')
          }
          assert.equal((await get(theirs.id, other.authorization)).statusCode, 200)
        })
      })
    }
  })
}
