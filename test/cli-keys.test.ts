import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { findPrincipalByKey, hashApiKey } from '../src/access/keys.ts'
import { buildApp } from '../src/app.ts'
import { openStore } from '../src/db/connect.ts'
import type { Store } from '../src/db/types.ts'
import { runDocent } from './helpers.ts'

const KEY = /^docent_[A-Za-z0-9_-]{20,}\n$/
const ANY_KEY = /docent_[A-Za-z0-9_-]{20,}/

/** A failure an operator can act on: non-zero exit, one `docent: ` line, no stack trace, nothing on stdout. */
function assertCleanFailure(result: { code: number | null; stdout: string; stderr: string }, message: RegExp) {
  assert.notEqual(result.code, 0, `exited 0: ${result.stdout}`)
  assert.match(result.stderr, /^docent: /)
  assert.match(result.stderr, message)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  assert.doesNotMatch(result.stdout, ANY_KEY, 'a failed command printed a key')
}

// These steps run in order on one store: keys are made, listed and revoked, then a second workspace appears.
describe('docent keys', () => {
  let dir: string
  let url: string
  const run = (...args: string[]) => runDocent(args, { env: { DOCENT_DATABASE_URL: url }, cwd: dir })
  let adminKey: string
  let viewerKey: string
  let secondViewerKey: string

  async function withStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
    const store = await openStore(url)
    try {
      return await work(store)
    } finally {
      await store.close()
    }
  }

  const keyIdOf = (key: string) =>
    withStore(async (store) => {
      const row = await store.db
        .selectFrom('api_keys')
        .select('id')
        .where('key_hash', '=', hashApiKey(key))
        .executeTakeFirstOrThrow()
      return row.id
    })

  const usersWithEmail = (email: string) =>
    withStore((store) =>
      store.db.selectFrom('users').select(['id', 'workspace_id']).where('email', '=', email).execute(),
    )

  /** The status of one read and one write with the key, through an app on the store. */
  const tryKey = (key: string) =>
    withStore(async (store) => {
      const app = await buildApp({ store })
      try {
        const headers = { authorization: `Bearer ${key}` }
        const read = await app.inject({ method: 'GET', url: '/api/v1/database/databases', headers })
        const write = await app.inject({
          method: 'POST',
          url: '/api/v1/resource/catalog',
          headers,
          payload: { entity_type: 'collection', title: 'a collection' },
        })
        return { read: read.statusCode, write: write.statusCode }
      } finally {
        await app.close()
      }
    })

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'docent-cli-keys-'))
    url = `sqlite:${join(dir, 'docent.db')}`
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('keys create on a store without a workspace exits non-zero saying how to make one', async () => {
    assertCleanFailure(await run('keys', 'create', '--email', 'early@example.com'), /workspace/)
  })

  test('workspaces create sets up the store the key commands use', async () => {
    const result = await run('workspaces', 'create', 'Main')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, KEY)
    adminKey = result.stdout.trim()
  })

  test('keys create --role viewer prints on stdout only a key that acts as a new viewer', async () => {
    const result = await run('keys', 'create', '--email', 'reader@example.com', '--role', 'viewer')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, KEY, 'stdout is the key and nothing else')
    viewerKey = result.stdout.trim()
    assert.ok(!result.stderr.includes(viewerKey), 'the key is printed once, on stdout')
    assert.match(result.stderr, /reader@example\.com/)

    await withStore(async (store) => {
      const principal = await findPrincipalByKey(store.db, viewerKey)
      assert.ok(principal !== undefined, 'the printed key does not authenticate')
      assert.equal(principal.role, 'viewer')
      const admin = await findPrincipalByKey(store.db, adminKey)
      assert.equal(principal.workspaceId, admin?.workspaceId)
      const user = await store.db
        .selectFrom('users')
        .select(['email', 'role'])
        .where('id', '=', principal.userId)
        .executeTakeFirstOrThrow()
      assert.deepEqual(user, { email: 'reader@example.com', role: 'viewer' })
    })
    assert.deepEqual(await tryKey(viewerKey), { read: 200, write: 403 })
  })

  test('a second keys create for the same email reuses the user and says on stderr that its role is kept', async () => {
    const result = await run('keys', 'create', '--email', 'Reader@Example.com', '--role', 'editor')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, KEY)
    secondViewerKey = result.stdout.trim()
    assert.notEqual(secondViewerKey, viewerKey)
    assert.match(result.stderr, /viewer/)
    assert.match(result.stderr, /kept/)

    const users = await usersWithEmail('reader@example.com')
    assert.equal(users.length, 1, 'a second user with the same email')
    await withStore(async (store) => {
      const first = await findPrincipalByKey(store.db, viewerKey)
      const second = await findPrincipalByKey(store.db, secondViewerKey)
      assert.equal(second?.userId, first?.userId)
      assert.equal(second?.role, 'viewer')
    })
    assert.deepEqual(await tryKey(secondViewerKey), { read: 200, write: 403 })
  })

  test('keys create with the role the user already has says nothing about a kept role', async () => {
    const result = await run('keys', 'create', '--email', 'reader@example.com', '--role', 'viewer')
    assert.equal(result.code, 0, result.stderr)
    assert.doesNotMatch(result.stderr, /kept/)
    const extra = result.stdout.trim()
    const revoked = await run('keys', 'revoke', await keyIdOf(extra))
    assert.equal(revoked.code, 0, revoked.stderr)
  })

  test('keys list prints the key ids and emails but no key value', async () => {
    const result = await run('keys', 'list')
    assert.equal(result.code, 0, result.stderr)
    for (const key of [adminKey, viewerKey, secondViewerKey]) {
      assert.ok(result.stdout.includes(await keyIdOf(key)), `the id of a key is not listed: ${result.stdout}`)
      assert.ok(!result.stdout.includes(key), 'a key value is listed')
      assert.ok(!result.stdout.includes(hashApiKey(key)), 'a key hash is listed')
    }
    assert.match(result.stdout, /reader@example\.com/)
    assert.match(result.stdout, /admin@docent\.local/)
    assert.doesNotMatch(`${result.stdout}${result.stderr}`, ANY_KEY)
  })

  test('keys revoke <id> stops the key at once and leaves the others working', async () => {
    const id = await keyIdOf(viewerKey)
    const result = await run('keys', 'revoke', id)
    assert.equal(result.code, 0, result.stderr)
    await withStore(async (store) => {
      assert.equal(await findPrincipalByKey(store.db, viewerKey), undefined)
      assert.ok((await findPrincipalByKey(store.db, secondViewerKey)) !== undefined)
    })
    assert.deepEqual(await tryKey(viewerKey), { read: 401, write: 401 })
    const listed = await run('keys', 'list')
    assert.ok(!listed.stdout.includes(id), 'a revoked key is still listed')
  })

  test('keys revoke of an unknown, an already revoked or a malformed id exits non-zero with a message', async () => {
    const unknown = randomUUID()
    assertCleanFailure(await run('keys', 'revoke', unknown), new RegExp(unknown))
    const revoked = await keyIdOf(viewerKey)
    assertCleanFailure(await run('keys', 'revoke', revoked), new RegExp(revoked))
    assertCleanFailure(await run('keys', 'revoke', 'nonsense'), /nonsense/)
    assert.ok((await tryKey(secondViewerKey)).read === 200, 'a failed revoke revoked another key')
  })

  test('keys create --role nonsense exits non-zero naming the roles, and makes no user', async () => {
    const result = await run('keys', 'create', '--email', 'odd@example.com', '--role', 'nonsense')
    assertCleanFailure(result, /--role/)
    assert.match(result.stderr, /admin, editor, viewer(,| or) guest/)
    assert.deepEqual(await usersWithEmail('odd@example.com'), [])
  })

  test('keys create --role guest for a new user exits non-zero (a guest needs a team), and makes no user', async () => {
    assertCleanFailure(await run('keys', 'create', '--email', 'visitor@example.com', '--role', 'guest'), /team/)
    assert.deepEqual(await usersWithEmail('visitor@example.com'), [])
  })

  describe('with two workspaces', () => {
    let secondId: string
    before(async () => {
      const result = await run('workspaces', 'create', 'Second')
      assert.equal(result.code, 0, result.stderr)
      secondId = (await withStore((store) => findPrincipalByKey(store.db, result.stdout.trim())))?.workspaceId as string
    })

    test('keys create and keys list without --workspace exit non-zero naming the option', async () => {
      assertCleanFailure(await run('keys', 'create', '--email', 'where@example.com'), /--workspace/)
      assert.deepEqual(await usersWithEmail('where@example.com'), [])
      assertCleanFailure(await run('keys', 'list'), /--workspace/)
    })

    test('keys create --workspace <name> makes the user in that workspace', async () => {
      const result = await run('keys', 'create', '--email', 'where@example.com', '--workspace', 'Second')
      assert.equal(result.code, 0, result.stderr)
      const principal = await withStore((store) => findPrincipalByKey(store.db, result.stdout.trim()))
      assert.equal(principal?.workspaceId, secondId)
      assert.equal(principal?.role, 'editor', 'the default role')
    })

    test('keys list --workspace <id> lists only that workspace’s keys', async () => {
      const result = await run('keys', 'list', '--workspace', secondId)
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, /where@example\.com/)
      assert.doesNotMatch(result.stdout, /reader@example\.com/)
    })

    test('keys create --workspace with a name no workspace has exits non-zero with a message', async () => {
      assertCleanFailure(
        await run('keys', 'create', '--email', 'lost@example.com', '--workspace', 'Nowhere'),
        /Nowhere/,
      )
    })
  })
})
