import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { hashApiKey } from '../../src/access/keys.ts'
import type { Store } from '../../src/db/types.ts'
import { ENGINES, type Harness, makeKey, makeResource, makeTeam, makeUser, startHarness } from '../helpers.ts'

// The owners of recently used keys are kept in memory (src/access/keys.ts): every change to what a key stands for,
// made by any instance or process, must count on the very next request.

for (const { engine, skip } of ENGINES) {
  describe(`kept key owners on ${engine}`, { skip }, () => {
    let h: Harness
    let peer: Store
    before(async () => {
      h = await startHarness(engine)
      peer = await h.openPeer()
    })
    after(async () => {
      await peer?.close()
      await h?.close()
    })

    const list = (key: string) =>
      h.request({ method: 'GET', url: '/api/v1/database/databases', headers: { authorization: key } })
    const create = (key: string) =>
      h.request({
        method: 'POST',
        url: '/api/v1/collection/collections',
        headers: { authorization: key },
        body: { title: `collection ${Math.random()}` },
      })
    /** Revokes a key as another instance (or the CLI) would: plain SQL on another connection. */
    const revokeOnPeer = (authorization: string) =>
      peer.db
        .updateTable('api_keys')
        .set({ revoked_at: new Date().toISOString() })
        .where('key_hash', '=', hashApiKey(authorization.replace(/^Bearer /, '')))
        .execute()
    const keyVersion = async () =>
      Number((await h.store.db.selectFrom('key_changes').select('changes').executeTakeFirstOrThrow()).changes)

    test('a key revoked by another instance is refused on the next request', async () => {
      const key = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assert.equal((await list(key)).statusCode, 200)
      assert.equal((await list(key)).statusCode, 200)
      await revokeOnPeer(key)
      assert.equal((await list(key)).statusCode, 401)
    })

    test('a key deleted with its user by another instance is refused on the next request', async () => {
      const user = await makeUser(h, { role: 'editor' })
      const key = await makeKey(h, user)
      assert.equal((await list(key)).statusCode, 200)
      await peer.db.deleteFrom('users').where('id', '=', user).execute()
      assert.equal((await list(key)).statusCode, 401)
    })

    test("a user's new role counts on the next request, both ways", async () => {
      const user = await makeUser(h, { role: 'editor' })
      const key = await makeKey(h, user)
      assert.equal((await create(key)).statusCode, 201)
      await peer.db.updateTable('users').set({ role: 'viewer' }).where('id', '=', user).execute()
      assert.equal((await create(key)).statusCode, 403)
      await peer.db.updateTable('users').set({ role: 'editor' }).where('id', '=', user).execute()
      assert.equal((await create(key)).statusCode, 201)
    })

    test('a revocation through the API counts at once', async () => {
      const key = await makeKey(h, h.adminUserId)
      assert.equal((await list(key)).statusCode, 200)
      const revokedRow = await h.store.db
        .selectFrom('api_keys')
        .select('id')
        .where('key_hash', '=', hashApiKey(key.replace(/^Bearer /, '')))
        .executeTakeFirstOrThrow()
      const revoke = await h.request({ method: 'DELETE', url: `/api/v1/auth/api_keys/${revokedRow.id}` })
      assert.ok(revoke.statusCode < 300, revoke.body)
      assert.equal((await list(key)).statusCode, 401)
    })

    test('a GET by id trusts a kept owner only while the key version is its label', async () => {
      // A GET by id reads the key version in the resource's statement (src/catalog/repository/reads.ts).
      const user = await makeUser(h, { role: 'admin' })
      const key = await makeKey(h, user)
      const elsewhere = await makeTeam(h)
      const hidden = await makeResource(h, { entityType: 'collection' }, { teams: [elsewhere] })
      const get = (id: string) =>
        h.request({ method: 'GET', url: `/api/v1/resource/all/${id}`, headers: { authorization: key } })
      const missing = '00000000-0000-4000-8000-000000000000'
      assert.equal((await get(hidden)).statusCode, 200)
      assert.equal((await get(hidden)).statusCode, 200, 'with the kept owner')
      assert.equal((await get(missing)).statusCode, 404)
      // Demoted by another instance: the very next read no longer shows what only an admin sees.
      await peer.db.updateTable('users').set({ role: 'viewer' }).where('id', '=', user).execute()
      assert.equal((await get(hidden)).statusCode, 404)
      await peer.db.updateTable('users').set({ role: 'admin' }).where('id', '=', user).execute()
      assert.equal((await get(hidden)).statusCode, 200)
      assert.equal((await get(hidden)).statusCode, 200)
      // Revoked by another instance: refused at once, whether or not the resource exists.
      await revokeOnPeer(key)
      assert.equal((await get(hidden)).statusCode, 401)
      assert.equal((await get(missing)).statusCode, 401)
    })

    test('without its counter row, no kept owner is trusted: a revocation still counts at once', async () => {
      const key = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assert.equal((await list(key)).statusCode, 200)
      const [row] = await peer.db.selectFrom('key_changes').selectAll().execute()
      await peer.db.deleteFrom('key_changes').execute()
      try {
        assert.equal((await list(key)).statusCode, 200)
        await revokeOnPeer(key)
        assert.equal((await list(key)).statusCode, 401)
      } finally {
        if (row !== undefined) await peer.db.insertInto('key_changes').values(row).execute()
      }
    })

    test('noting a key as used, or any other change, leaves the key version alone', async () => {
      const user = await makeUser(h, { role: 'editor' })
      const key = await makeKey(h, user)
      const before = await keyVersion()
      assert.equal((await list(key)).statusCode, 200)
      assert.equal((await create(key)).statusCode, 201)
      await h.store.db.updateTable('users').set({ first_name: 'Renamed' }).where('id', '=', user).execute()
      await h.store.db.updateTable('api_keys').set({ description: 'renamed' }).where('user_id', '=', user).execute()
      const row = await h.store.db
        .selectFrom('api_keys')
        .select('last_used_at')
        .where('user_id', '=', user)
        .executeTakeFirstOrThrow()
      assert.notEqual(row.last_used_at, null)
      assert.equal(await keyVersion(), before)
    })
  })
}
