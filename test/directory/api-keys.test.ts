import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { hashApiKey } from '../../src/access/keys.ts'
import { buildApp } from '../../src/app.ts'
import { generateApiKey } from '../../src/directory/keys/repository.ts'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeDatabase,
  makeKey,
  makeTeam,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

const KEYS = '/api/v1/auth/api_keys'
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const bearer = (key: string) => `Bearer ${key}`

for (const { engine, skip } of ENGINES) {
  describe(`API keys on ${engine}`, { skip }, () => {
    let h: Harness
    let team: string
    const users = {} as Record<'editor' | 'otherEditor' | 'viewer' | 'guest', string>
    const auth = {} as Record<keyof typeof users, string>

    before(async () => {
      h = await startHarness(engine)
      team = await makeTeam(h)
      users.editor = await makeUser(h, { role: 'editor' })
      users.otherEditor = await makeUser(h, { role: 'editor' })
      users.viewer = await makeUser(h, { role: 'viewer' })
      users.guest = await makeUser(h, { role: 'guest', teamIds: [team] })
      for (const name of Object.keys(users) as (keyof typeof users)[]) {
        auth[name] = await makeKey(h, users[name])
      }
    })
    after(() => h?.close())

    const post = (body: Record<string, unknown>, authorization?: string) =>
      h.request({ method: 'POST', url: KEYS, body, headers: authorization === undefined ? {} : { authorization } })
    const list = (authorization?: string, query = 'page_size=100') =>
      h.request({
        method: 'GET',
        url: `${KEYS}?${query}`,
        headers: authorization === undefined ? {} : { authorization },
      })
    const revoke = (id: string, authorization?: string) =>
      h.request({
        method: 'DELETE',
        url: `${KEYS}/${id}`,
        headers: authorization === undefined ? {} : { authorization },
      })
    /** A request any working key may make. */
    const use = (key: string) =>
      h.request({ method: 'GET', url: '/api/v1/database/databases', headers: { authorization: bearer(key) } })
    const countKeys = async () => (await h.store.db.selectFrom('api_keys').select('id').execute()).length
    const ids = (response: LightMyRequestResponse) => response.json().results.map((r: { id: string }) => r.id)

    /** A new key through the API (as the admin unless told), after checking the 201. */
    async function newKey(body: Record<string, unknown> = {}, authorization?: string) {
      const response = await post(body, authorization)
      assert.equal(response.statusCode, 201, response.body)
      return response.json() as { id: string; key: string; user: string; description: string }
    }

    function assertInvalidToken(response: LightMyRequestResponse) {
      assertErrorBody(response, 401, 'AUTHENTICATION_FAILED')
      assert.equal(response.json().detail, 'Invalid token.')
      assert.equal(response.headers['www-authenticate'], 'Bearer')
    }

    describe('POST /auth/api_keys', () => {
      test('creates a key for the caller: 201 with id, key, user, description, created_at, last_used_at null', async () => {
        const response = await post({ description: 'for the nightly sync' })
        assert.equal(response.statusCode, 201, response.body)
        const created = response.json()
        assert.deepEqual(Object.keys(created), ['id', 'key', 'user', 'description', 'created_at', 'last_used_at'])
        assert.match(created.id, UUID)
        assert.match(created.key, /^docent_[A-Za-z0-9_-]{40,}$/)
        assert.equal(created.user, h.adminUserId)
        assert.equal(created.description, 'for the nightly sync')
        assert.match(created.created_at, ISO_MS)
        assert.equal(created.last_used_at, null)
      })

      test('makes a key that authenticates as its user', async () => {
        const created = await newKey({ user: users.editor })
        assert.equal(created.user, users.editor)
        const { id } = await makeDatabase(h)
        const response = await h.request({
          method: 'GET',
          url: `/api/v1/resource/all/${id}`,
          headers: { authorization: bearer(created.key) },
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().current_user_permissions, { read: true, write: true, execute: false })
        const own = await list(bearer(created.key))
        assert.ok(
          own.json().results.every((k: { user: string }) => k.user === users.editor),
          'the key acts as the editor',
        )
      })

      test('makes a different key each time', async () => {
        const first = await newKey()
        const second = await newKey()
        assert.notEqual(first.key, second.key)
        assert.notEqual(first.id, second.id)
      })

      test('lets an admin make a key for another user of the workspace', async () => {
        const created = await newKey({ user: users.viewer })
        assert.equal(created.user, users.viewer)
        assert.equal((await use(created.key)).statusCode, 200)
      })

      test('returns 400 naming user for a user of another workspace, an unknown or a malformed id, writing nothing', async () => {
        const other = await makeWorkspace(h)
        const before = await countKeys()
        assertFieldError(await post({ user: other.adminUserId }), 'user')
        assertFieldError(await post({ user: randomUUID() }), 'user')
        assertFieldError(await post({ user: 'not-a-uuid' }), 'user')
        assert.equal(await countKeys(), before)
      })

      test('returns 400 naming description when it is too long or not text', async () => {
        assertFieldError(await post({ description: 'x'.repeat(256) }), 'description')
        assertFieldError(await post({ description: 5 }), 'description')
      })

      test('lets an editor make a key for itself, naming itself or not', async () => {
        const unnamed = await newKey({}, auth.editor)
        const named = await newKey({ user: users.editor }, auth.editor)
        assert.equal(unnamed.user, users.editor)
        assert.equal(named.user, users.editor)
        assert.equal((await use(named.key)).statusCode, 200)
      })

      test('returns 403 to an editor making a key for another user, writing nothing', async () => {
        const before = await countKeys()
        assertErrorBody(await post({ user: users.otherEditor }, auth.editor), 403, 'PERMISSION_DENIED')
        assertErrorBody(await post({ user: h.adminUserId }, auth.editor), 403, 'PERMISSION_DENIED')
        assert.equal(await countKeys(), before)
      })

      test('returns 403 to a viewer and a guest, even for themselves, writing nothing', async () => {
        const before = await countKeys()
        for (const role of ['viewer', 'guest'] as const) {
          assertErrorBody(await post({}, auth[role]), 403, 'PERMISSION_DENIED')
          assertErrorBody(await post({ user: users[role] }, auth[role]), 403, 'PERMISSION_DENIED')
        }
        assert.equal(await countKeys(), before)
      })
    })

    describe('GET /auth/api_keys', () => {
      test('lists keys without their values, in the list envelope', async () => {
        const made = [await newKey({ description: 'one' }), await newKey({ user: users.editor, description: 'two' })]
        const response = await list()
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
        for (const entry of body.results) {
          assert.deepEqual(Object.keys(entry), ['id', 'user', 'description', 'created_at', 'last_used_at'])
        }
        for (const { id, key, user, description } of made) {
          const entry = body.results.find((k: { id: string }) => k.id === id)
          assert.ok(entry !== undefined, `${id} is not listed`)
          assert.equal(entry.user, user)
          assert.equal(entry.description, description)
          assert.ok(!response.body.includes(key), 'a key value is in the list')
          assert.ok(!response.body.includes(hashApiKey(key)), 'a key hash is in the list')
        }
        assert.doesNotMatch(response.body, /docent_[A-Za-z0-9_-]{20,}/)
      })

      test('shows an admin every working key of the workspace and none of another workspace', async () => {
        const editorKey = await newKey({}, auth.editor)
        const viewerKey = await newKey({ user: users.viewer })
        const other = await makeWorkspace(h)
        const otherKeys = ids(await list(other.authorization))
        const listed = ids(await list())
        assert.ok(listed.includes(editorKey.id) && listed.includes(viewerKey.id))
        assert.equal(
          listed.filter((id: string) => otherKeys.includes(id)).length,
          0,
          "another workspace's keys are listed",
        )
        const stored = await h.store.db
          .selectFrom('api_keys')
          .select('id')
          .where('workspace_id', '=', h.workspaceId)
          .where('revoked_at', 'is', null)
          .execute()
        assert.equal((await list()).json().count, stored.length)
      })

      test('shows an editor only its own keys', async () => {
        await newKey({ user: users.otherEditor })
        const response = await list(auth.editor)
        assert.equal(response.statusCode, 200, response.body)
        const results = response.json().results as { user: string }[]
        assert.ok(results.length > 0)
        assert.deepEqual([...new Set(results.map((k) => k.user))], [users.editor])
        assert.equal(response.json().count, results.length)
      })

      test('pages with page_size', async () => {
        const count = (await list()).json().count
        assert.ok(count >= 2)
        const first = (await list(undefined, 'page_size=1')).json()
        assert.equal(first.count, count)
        assert.equal(first.total_pages, count)
        assert.equal(first.results.length, 1)
        assert.match(String(first.links.next), /page=2/)
      })
    })

    describe('DELETE /auth/api_keys/{id}', () => {
      test('revokes a key at once: 204, and its next request answers 401 Invalid token.', async () => {
        const created = await newKey({ user: users.editor })
        assert.equal((await use(created.key)).statusCode, 200)
        const response = await revoke(created.id)
        assert.equal(response.statusCode, 204, response.body)
        assert.equal(response.body, '')
        assertInvalidToken(await use(created.key))
        assertInvalidToken(
          await h.request({
            method: 'POST',
            url: '/api/v1/integration/integrations',
            headers: { authorization: bearer(created.key) },
            body: { name: 'after revocation', type: 'postgres' },
          }),
        )
        assert.ok(!ids(await list()).includes(created.id), 'a revoked key is still listed')
        assertErrorBody(await revoke(created.id), 404, 'NOT_FOUND')
      })

      test('lets a key revoke itself', async () => {
        const created = await newKey({}, auth.editor)
        assert.equal((await revoke(created.id, bearer(created.key))).statusCode, 204)
        assertInvalidToken(await use(created.key))
      })

      test('lets an editor revoke its own key', async () => {
        const created = await newKey({}, auth.editor)
        assert.equal((await revoke(created.id, auth.editor)).statusCode, 204)
        assertInvalidToken(await use(created.key))
      })

      test("returns 404 to an editor revoking another user's key, which keeps working", async () => {
        const others = [await newKey({ user: users.otherEditor }), await newKey()]
        for (const other of others) {
          assertErrorBody(await revoke(other.id, auth.editor), 404, 'NOT_FOUND')
          assert.equal((await use(other.key)).statusCode, 200)
        }
      })

      test('lets an admin revoke the key of another user', async () => {
        const created = await newKey({ user: users.otherEditor })
        assert.equal((await revoke(created.id)).statusCode, 204)
        assertInvalidToken(await use(created.key))
      })

      test("returns 404 for an unknown, a malformed or another workspace's key id", async () => {
        const other = await makeWorkspace(h)
        const otherKeyId = ids(await list(other.authorization))[0]
        assertErrorBody(await revoke(randomUUID()), 404, 'NOT_FOUND')
        assertErrorBody(await revoke('nonsense'), 404, 'NOT_FOUND')
        assertErrorBody(await revoke(otherKeyId), 404, 'NOT_FOUND')
        assert.equal((await list(other.authorization)).statusCode, 200, "another workspace's key was revoked")
      })

      test("returns 404 to a viewer or a guest revoking the admin's key, which keeps working", async () => {
        const adminKey = await h.store.db
          .selectFrom('api_keys')
          .select('id')
          .where('key_hash', '=', hashApiKey(h.adminKey))
          .executeTakeFirstOrThrow()
        for (const role of ['viewer', 'guest'] as const) {
          assertErrorBody(await revoke(adminKey.id, auth[role]), 404, 'NOT_FOUND')
        }
        assert.equal((await use(h.adminKey)).statusCode, 200)
      })
    })

    describe('the api_keys table', () => {
      test('holds no key in plain text, in any column', async () => {
        const made = [
          await newKey(),
          await newKey({ user: users.editor, description: 'described' }),
          await newKey({}, auth.editor),
        ]
        const keys = [h.adminKey, ...made.map((k) => k.key)]
        const rows = await h.store.db.selectFrom('api_keys').selectAll().execute()
        assert.ok(rows.length >= keys.length)
        for (const row of rows) {
          assert.equal(typeof row.key_hash, 'string')
          for (const [column, value] of Object.entries(row)) {
            const text = value instanceof Date ? value.toISOString() : String(value)
            for (const key of keys) {
              assert.ok(!text.includes(key), `api_keys.${column} holds a key`)
              assert.ok(
                !text.includes(key.slice('docent_'.length)),
                `api_keys.${column} holds the secret part of a key`,
              )
            }
          }
        }
        for (const { id, key } of made) {
          const row = rows.find((r) => r.id === id)
          assert.ok(row !== undefined)
          assert.notEqual(row.key_hash, key)
          assert.equal(row.key_hash, hashApiKey(key), 'stored as the hash of the key')
        }
      })

      test('sets last_used_at at the first use and does not rewrite it at the next one', async () => {
        const created = await newKey({ user: users.editor })
        const lastUsed = async () => {
          const row = await h.store.db
            .selectFrom('api_keys')
            .select('last_used_at')
            .where('id', '=', created.id)
            .executeTakeFirstOrThrow()
          const value = row.last_used_at as unknown
          return value === null ? null : new Date(value as string | Date).toISOString()
        }
        assert.equal(await lastUsed(), null)
        const beforeUse = Date.now()
        assert.equal((await use(created.key)).statusCode, 200)
        const first = await lastUsed()
        assert.ok(first !== null, 'last_used_at not set by a request')
        assert.ok(Date.parse(first) >= beforeUse - 1000 && Date.parse(first) <= Date.now() + 1000, first)
        const listed = (await list()).json().results.find((k: { id: string }) => k.id === created.id)
        assert.equal(listed.last_used_at, first)

        await sleep(25)
        assert.equal((await use(created.key)).statusCode, 200)
        await sleep(25)
        assert.equal((await use(created.key)).statusCode, 200)
        assert.equal(await lastUsed(), first, 'last_used_at rewritten by a request a moment later')
      })
    })

    describe('the server log', () => {
      test('holds no key and no key hash at any level, whatever the request', async () => {
        const chunks: string[] = []
        const stream = new Writable({
          write(chunk, _encoding, callback) {
            chunks.push(chunk.toString())
            callback()
          },
        })
        const app = await buildApp({ store: h.store, logger: { level: 'trace', stream } })
        const keys: string[] = [h.adminKey]
        try {
          const send = (authorization: string, options: { method?: 'GET' | 'POST' | 'DELETE'; url?: string } = {}) =>
            app.inject({
              method: options.method ?? 'GET',
              url: options.url ?? '/api/v1/database/databases',
              headers: { authorization },
            })
          const created = await app.inject({
            method: 'POST',
            url: KEYS,
            headers: { authorization: bearer(h.adminKey) },
            payload: { user: users.editor, description: 'logged?' },
          })
          assert.equal(created.statusCode, 201, created.body)
          const fresh = created.json() as { id: string; key: string }
          keys.push(fresh.key)
          assert.equal((await send(bearer(fresh.key))).statusCode, 200)

          const unknown = generateApiKey()
          keys.push(unknown)
          assert.equal((await send(bearer(unknown))).statusCode, 401)
          assert.equal((await send(`Token ${unknown}`)).statusCode, 401)

          const toRevoke = await app.inject({
            method: 'POST',
            url: KEYS,
            headers: { authorization: bearer(h.adminKey) },
            payload: {},
          })
          const revoked = toRevoke.json() as { id: string; key: string }
          keys.push(revoked.key)
          assert.equal(
            (await send(bearer(h.adminKey), { method: 'DELETE', url: `${KEYS}/${revoked.id}` })).statusCode,
            204,
          )
          assert.equal((await send(bearer(revoked.key))).statusCode, 401)
          assert.equal((await send(bearer(h.adminKey), { url: KEYS })).statusCode, 200)
        } finally {
          await app.close()
        }
        const log = chunks.join('')
        assert.match(log, /incoming request/, 'the log captured nothing: the test would prove nothing')
        for (const key of keys) {
          assert.ok(!log.includes(key), 'a key is in the server log')
          assert.ok(!log.includes(key.slice('docent_'.length)), 'the secret part of a key is in the server log')
          assert.ok(!log.includes(hashApiKey(key)), 'a key hash is in the server log')
        }
      })
    })
  })
}
