import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateApiKey, insertApiKey } from '../../src/directory/keys/repository.ts'
import {
  assertErrorBody,
  ENGINES,
  type Harness,
  makeDatabase,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

// GET by id reads the key's owner and the resource in one statement: every answer must be what checking the key
// first, then reading, gives.

for (const { engine, skip } of ENGINES) {
  describe(`GET by id checks the key in its own statement on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const get = (url: string, authorization?: string) =>
      h.request({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } })

    test('a missing, malformed, unknown or revoked key is 401 whatever the id', async () => {
      const database = await makeDatabase(h)
      const urls = [
        `/api/v1/resource/all/${database.id}`,
        `/api/v1/database/databases/${database.id}`,
        '/api/v1/resource/all/not-a-uuid',
        '/api/v1/resource/all/00000000-0000-4000-8000-000000000000',
      ]
      const revoked = generateApiKey()
      const keyId = await insertApiKey(h.store.db, { workspaceId: h.workspaceId, userId: h.adminUserId, key: revoked })
      await h.store.db
        .updateTable('api_keys')
        .set({ revoked_at: new Date().toISOString() })
        .where('id', '=', keyId)
        .execute()
      for (const url of urls) {
        assertErrorBody(await get(url, ''), 401, 'NOT_AUTHENTICATED')
        assertErrorBody(await get(url, 'Bearer'), 401, 'AUTHENTICATION_FAILED')
        assertErrorBody(await get(url, `Bearer ${generateApiKey()}`), 401, 'AUTHENTICATION_FAILED')
        assertErrorBody(await get(url, `Bearer ${revoked}`), 401, 'AUTHENTICATION_FAILED')
      }
    })

    test('with a working key: 404 for a malformed id, another type, another workspace; 200 otherwise', async () => {
      const database = await makeDatabase(h)
      assertErrorBody(await get('/api/v1/resource/all/not-a-uuid'), 404, 'NOT_FOUND')
      assertErrorBody(await get(`/api/v1/table/tables/${database.id}`), 404, 'NOT_FOUND')
      const other = await makeWorkspace(h)
      assertErrorBody(await get(`/api/v1/resource/all/${database.id}`, other.authorization), 404, 'NOT_FOUND')
      const response = await get(`/api/v1/database/databases/${database.id.toUpperCase()}`)
      assert.equal(response.statusCode, 200)
      assert.equal(response.json().id, database.id)
    })

    test('roles see what CONTRACT §7 lets them see', async () => {
      const team = await makeTeam(h)
      const [editor, viewer, outsider] = await Promise.all([
        makeUser(h, { role: 'editor' }),
        makeUser(h, { role: 'viewer' }),
        makeUser(h, { role: 'editor' }),
      ])
      await h.store.db
        .insertInto('team_members')
        .values([
          { team_id: team, user_id: editor },
          { team_id: team, user_id: viewer },
        ])
        .execute()
      const draft = await makeVia(h, '/collection/collections', { teams: [team], published: false })
      const published = await makeVia(h, '/collection/collections', { teams: [team] })
      const keys = {
        editor: await makeKey(h, editor),
        viewer: await makeKey(h, viewer),
        outsider: await makeKey(h, outsider),
      }
      const status = async (id: string, key: string) => (await get(`/api/v1/resource/all/${id}`, key)).statusCode
      assert.equal(await status(draft.id, keys.editor), 200)
      assert.equal(await status(published.id, keys.editor), 200)
      assert.equal(await status(draft.id, keys.viewer), 404)
      assert.equal(await status(published.id, keys.viewer), 200)
      assert.equal(await status(published.id, keys.outsider), 404)
      const answer = (await get(`/api/v1/resource/all/${published.id}`, keys.viewer)).json()
      assert.equal(answer.current_user_permissions.write, false)
    })

    test('the read notes the key as used', async () => {
      const key = generateApiKey()
      const keyId = await insertApiKey(h.store.db, { workspaceId: h.workspaceId, userId: h.adminUserId, key })
      const database = await makeDatabase(h)
      assert.equal((await get(`/api/v1/resource/all/${database.id}`, `Bearer ${key}`)).statusCode, 200)
      const row = await h.store.db
        .selectFrom('api_keys')
        .select('last_used_at')
        .where('id', '=', keyId)
        .executeTakeFirstOrThrow()
      assert.notEqual(row.last_used_at, null)
    })
  })
}
