import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { findPrincipalByKey } from '../../src/access/keys.ts'
import { buildApp } from '../../src/app.ts'
import { openStore } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/types.ts'
import { ensureFirstStart } from '../../src/directory/bootstrap.ts'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  type Harness,
  makeDatabase,
  makeGroup,
  makeIntegration,
  makeTag,
  makeTeam,
  makeUser,
  makeVia,
  makeWorkspace,
  runDocent,
  startHarness,
} from '../helpers.ts'

// CONTRACT §7: workspaces are walled off; no id of another workspace is ever found, listed or accepted.

for (const { engine, skip } of ENGINES) {
  describe(`workspaces on ${engine}`, { skip }, () => {
    let h: Harness
    /** Workspace B's admin key, as an Authorization header. */
    let b: string
    let bAdminUserId: string
    /** Everything of workspace A (the harness's) that B must never reach. */
    const a = {} as {
      integration: string
      team: string
      tag: string
      group: string
      user: string
      userKeyId: string
      collection: string
      database: string
      schema: string
      table: string
    }
    let bIntegration: string
    let bDatabase: string

    before(async () => {
      h = await startHarness(engine)
      const other = await makeWorkspace(h)
      b = other.authorization
      bAdminUserId = other.adminUserId

      a.integration = await makeIntegration(h)
      a.team = await makeTeam(h)
      a.tag = await makeTag(h)
      a.group = await makeGroup(h)
      a.user = await makeUser(h, { role: 'editor' })
      const keyResponse = await h.request({ method: 'POST', url: '/api/v1/auth/api_keys', body: { user: a.user } })
      assert.equal(keyResponse.statusCode, 201, keyResponse.body)
      a.userKeyId = keyResponse.json().id
      a.collection = (await makeVia(h, '/collection/collections', {})).id
      a.database = (
        await makeDatabase(h, {
          integration: a.integration,
          teams: [a.team],
          owners: [a.user],
          owners_groups: [a.group],
          tags: [a.tag],
          collections: [a.collection],
        })
      ).id
      a.schema = (await makeVia(h, '/database/schemas', { parent: a.database })).id
      a.table = (await makeVia(h, '/table/tables', { parent: a.schema })).id

      const integration = await h.request({
        method: 'POST',
        url: '/api/v1/integration/integrations',
        headers: { authorization: b },
        body: { name: 'B source', type: 'postgres' },
      })
      assert.equal(integration.statusCode, 201, integration.body)
      bIntegration = integration.json().id
      const database = await h.request({
        method: 'POST',
        url: '/api/v1/database/databases',
        headers: { authorization: b },
        body: { title: 'B database', integration: bIntegration },
      })
      assert.equal(database.statusCode, 201, database.body)
      bDatabase = database.json().id
    })
    after(() => h?.close())

    const asB = (options: {
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
      url: string
      body?: Record<string, unknown>
    }) => h.request({ ...options, headers: { authorization: b } })
    const ids = (response: LightMyRequestResponse) => response.json().results.map((r: { id: string }) => r.id)

    describe("another workspace's ids", () => {
      /** Path → a PATCH body that would be valid in the caller's own workspace. */
      const targets = (): [string, Record<string, unknown>][] => [
        [`/api/v1/resource/all/${a.database}`, { description: 'from B' }],
        [`/api/v1/resource/all/${a.schema}`, { description: 'from B' }],
        [`/api/v1/resource/all/${a.table}`, { description: 'from B' }],
        [`/api/v1/resource/all/${a.collection}`, { description: 'from B' }],
        [`/api/v1/database/databases/${a.database}`, { description: 'from B' }],
        [`/api/v1/database/schemas/${a.schema}`, { description: 'from B' }],
        [`/api/v1/table/tables/${a.table}`, { description: 'from B' }],
        [`/api/v1/collection/collections/${a.collection}`, { description: 'from B' }],
        [`/api/v1/integration/integrations/${a.integration}`, { name: 'from B' }],
      ]

      test('are 404 to a key of workspace B on GET, PATCH and DELETE, and stay as they were', async () => {
        for (const [url, body] of targets()) {
          const before = await h.request({ method: 'GET', url })
          assert.equal(before.statusCode, 200, `${url} as A: ${before.body}`)
          assertErrorBody(await asB({ method: 'GET', url }), 404, 'NOT_FOUND')
          assertErrorBody(await asB({ method: 'PATCH', url, body }), 404, 'NOT_FOUND')
          assertErrorBody(await asB({ method: 'DELETE', url }), 404, 'NOT_FOUND')
          const after = await h.request({ method: 'GET', url })
          assert.equal(after.statusCode, 200, `${url} is gone after B's DELETE`)
          assert.deepEqual(after.json(), before.json(), `${url} changed by B`)
        }
      })

      test('are 404 to a key of workspace B on the directory routes (users, teams, groups, tags, keys)', async () => {
        const directory: [string, Record<string, unknown>][] = [
          [`/api/v1/user/${a.user}`, { first_name: 'from B' }],
          [`/api/v1/auth/teams/${a.team}`, { name: 'from B' }],
          [`/api/v1/auth/group/${a.group}`, { name: 'from B' }],
          [`/api/v1/tag/${a.tag}`, { name: 'from B' }],
        ]
        for (const [url, body] of directory) {
          const before = await h.request({ method: 'GET', url })
          assert.equal(before.statusCode, 200, `${url} as A: ${before.body}`)
          assertErrorBody(await asB({ method: 'GET', url }), 404, 'NOT_FOUND')
          assertErrorBody(await asB({ method: 'PATCH', url, body }), 404, 'NOT_FOUND')
          assertErrorBody(await asB({ method: 'DELETE', url }), 404, 'NOT_FOUND')
          assert.deepEqual((await h.request({ method: 'GET', url })).json(), before.json(), `${url} changed by B`)
        }
        assertErrorBody(await asB({ method: 'DELETE', url: `/api/v1/auth/api_keys/${a.userKeyId}` }), 404, 'NOT_FOUND')
        const keys = await h.request({ method: 'GET', url: '/api/v1/auth/api_keys?page_size=100' })
        assert.ok(ids(keys).includes(a.userKeyId), "B's DELETE revoked a key of A")
      })

      test("count none of A's resources in B's lists", async () => {
        const aIds = [a.database, a.schema, a.table, a.collection]
        const filter = encodeURIComponent(JSON.stringify({ operator: 'in', field: 'id', value: aIds }))
        const empty = [
          `/api/v1/resource/catalog?filter=${filter}`,
          `/api/v1/resource/all?filter=${filter}`,
          `/api/v1/resource/catalog?teams=${a.team}`,
          `/api/v1/database/databases?integration_id=${a.integration}`,
          `/api/v1/database/schemas?parent_id=${a.database}`,
          `/api/v1/table/tables?parent_id=${a.schema}`,
          '/api/v1/collection/collections',
        ]
        for (const url of empty) {
          const response = await asB({ method: 'GET', url })
          assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
          assert.equal(response.json().count, 0, url)
          assert.equal(response.json().total_pages, 1, url)
          assert.deepEqual(response.json().results, [], url)
        }
        const own: [string, string[]][] = [
          ['/api/v1/resource/catalog', [bDatabase]],
          ['/api/v1/database/databases', [bDatabase]],
          ['/api/v1/integration/integrations', [bIntegration]],
        ]
        for (const [url, expected] of own) {
          const response = await asB({ method: 'GET', url })
          assert.equal(response.json().count, expected.length, url)
          assert.deepEqual(ids(response), expected, url)
        }
      })

      test("list none of A's users, teams, groups, tags or keys to B", async () => {
        const lists: [string, string][] = [
          ['/api/v1/user?page_size=100', a.user],
          ['/api/v1/auth/teams?page_size=100', a.team],
          ['/api/v1/auth/group?page_size=100', a.group],
          ['/api/v1/tag?page_size=100', a.tag],
          ['/api/v1/auth/api_keys?page_size=100', a.userKeyId],
        ]
        for (const [url, aId] of lists) {
          const response = await asB({ method: 'GET', url })
          assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
          assert.ok(!ids(response).includes(aId), `${url} lists A's ${aId}`)
          assert.ok(!response.body.includes(h.workspaceId), `${url} shows A's workspace id`)
        }
        const users = await asB({ method: 'GET', url: '/api/v1/user?page_size=100' })
        assert.deepEqual(ids(users), [bAdminUserId])
      })

      test("do not show B's resources to A", async () => {
        const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'id', value: bDatabase }))
        const response = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${filter}` })
        assert.equal(response.json().count, 0)
        assertErrorBody(await h.request({ method: 'GET', url: `/api/v1/resource/all/${bDatabase}` }), 404, 'NOT_FOUND')
      })
    })

    describe("a body from B that refers to A's ids", () => {
      /** Field sent → the field the 400 must name. */
      const references = (): [Record<string, unknown>, string][] => [
        [{ owners: [bAdminUserId, a.user] }, 'owners[1]'],
        [{ subscribers: [a.user] }, 'subscribers[0]'],
        [{ teams: [a.team] }, 'teams[0]'],
        [{ tags: [a.tag] }, 'tags[0]'],
        [{ owners_groups: [a.group] }, 'owners_groups[0]'],
        [{ collections: [a.collection] }, 'collections[0]'],
      ]

      test('POST /database/databases answers 400 naming the field, and writes nothing', async () => {
        for (const [extra, field] of [...references(), [{ integration: a.integration }, 'integration'] as const]) {
          const before = await countRows(h, 'resources')
          const response = await asB({
            method: 'POST',
            url: '/api/v1/database/databases',
            body: { title: 'reaching into A', integration: bIntegration, ...extra },
          })
          assertFieldError(response, field)
          assert.equal(await countRows(h, 'resources'), before, `${field}: a refused create wrote a resource`)
        }
      })

      test('PATCH of a database of B answers 400 naming the field, and changes nothing', async () => {
        const url = `/api/v1/database/databases/${bDatabase}`
        const before = (await asB({ method: 'GET', url })).json()
        for (const [extra, field] of references()) {
          assertFieldError(await asB({ method: 'PATCH', url, body: { description: 'changed', ...extra } }), field)
        }
        assert.deepEqual((await asB({ method: 'GET', url })).json(), before)
      })

      test('POST /resource/catalog answers 400 naming parent for a parent in A', async () => {
        const response = await asB({
          method: 'POST',
          url: '/api/v1/resource/catalog',
          body: { entity_type: 'schema', title: 'under A', parent: a.database },
        })
        assertFieldError(response, 'parent')
      })

      test('directory writes answer 400 naming the field', async () => {
        const cases: [string, Record<string, unknown>, string][] = [
          ['/api/v1/integration/integrations', { name: 'B2', type: 'postgres', teams: [a.team] }, 'teams[0]'],
          ['/api/v1/auth/api_keys', { user: a.user }, 'user'],
          ['/api/v1/user', { email: 'newcomer@b.example', role: 'viewer', teams: [a.team] }, 'teams[0]'],
          ['/api/v1/auth/group', { name: 'B group', users: [a.user] }, 'users[0]'],
          ['/api/v1/tag', { name: 'B tag', integration_id: a.integration }, 'integration_id'],
        ]
        for (const [url, body, field] of cases) {
          assertFieldError(await asB({ method: 'POST', url, body }), field)
        }
      })
    })
  })
}

describe('docent workspaces create', () => {
  let dir: string
  let url: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'docent-workspaces-'))
    url = `sqlite:${join(dir, 'docent.db')}`
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const KEY = /^docent_[A-Za-z0-9_-]{20,}\n$/
  let acmeKey: string

  async function withStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
    const store = await openStore(url)
    try {
      return await work(store)
    } finally {
      await store.close()
    }
  }

  test('prints on stdout only the key of an admin of a new workspace with its team General', async () => {
    const result = await runDocent(['workspaces', 'create', 'Acme'], { env: { DOCENT_DATABASE_URL: url }, cwd: dir })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, KEY, 'stdout is the key and nothing else')
    acmeKey = result.stdout.trim()
    assert.match(result.stderr, /Acme/)
    assert.ok(!result.stderr.includes(acmeKey), 'the key is printed once, on stdout')

    await withStore(async (store) => {
      const principal = await findPrincipalByKey(store.db, acmeKey)
      assert.ok(principal !== undefined, 'the printed key does not authenticate')
      assert.equal(principal.role, 'admin')
      const workspace = await store.db
        .selectFrom('workspaces')
        .select('name')
        .where('id', '=', principal.workspaceId)
        .executeTakeFirstOrThrow()
      assert.equal(workspace.name, 'Acme')
      const teams = await store.db
        .selectFrom('teams')
        .select(['id', 'name', 'is_default'])
        .where('workspace_id', '=', principal.workspaceId)
        .execute()
      assert.equal(teams.length, 1)
      assert.equal(teams[0]?.name, 'General')
      assert.ok(Boolean(teams[0]?.is_default), 'General is the default team')
      const membership = await store.db
        .selectFrom('team_members')
        .select('team_id')
        .where('user_id', '=', principal.userId)
        .execute()
      assert.deepEqual(
        membership.map((m) => m.team_id),
        [teams[0]?.id],
      )

      const app = await buildApp({ store })
      try {
        const response = await app.inject({
          method: 'GET',
          url: '/api/v1/auth/teams',
          headers: { authorization: `Bearer ${acmeKey}` },
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(
          response.json().results.map((t: { name: string }) => t.name),
          ['General'],
        )
      } finally {
        await app.close()
      }
    })
  })

  test('a first start afterwards finds the store set up and makes no other workspace', async () => {
    assert.ok(acmeKey !== undefined, 'needs the workspace of the test before')
    const dataDir = join(dir, 'data')
    await withStore(async (store) => {
      const firstStart = await ensureFirstStart(store, { adminApiKey: undefined, dataDir })
      assert.equal(firstStart.kind, 'existing')
      const workspaces = await store.db.selectFrom('workspaces').select('name').execute()
      assert.deepEqual(
        workspaces.map((w) => w.name),
        ['Acme'],
      )
      assert.equal(await countKeys(store), 1)
    })
    assert.equal(existsSync(join(dataDir, 'admin-api-key')), false, 'no admin key file written')
  })

  test("a second workspace gets its own admin key, which sees nothing of the first's", async () => {
    const result = await runDocent(['workspaces', 'create', 'Beta', '--admin-email', 'Boss@Beta.example'], {
      env: { DOCENT_DATABASE_URL: url },
      cwd: dir,
    })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, KEY)
    const betaKey = result.stdout.trim()
    assert.notEqual(betaKey, acmeKey)
    await withStore(async (store) => {
      const acme = await findPrincipalByKey(store.db, acmeKey)
      const beta = await findPrincipalByKey(store.db, betaKey)
      assert.ok(acme !== undefined && beta !== undefined)
      assert.notEqual(beta.workspaceId, acme.workspaceId)
      assert.equal(beta.role, 'admin')
      const email = await store.db
        .selectFrom('users')
        .select('email')
        .where('id', '=', beta.userId)
        .executeTakeFirstOrThrow()
      assert.equal(email.email, 'boss@beta.example')

      const app = await buildApp({ store })
      try {
        const made = await app.inject({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          headers: { authorization: `Bearer ${acmeKey}` },
          payload: { name: 'Acme source', type: 'postgres' },
        })
        assert.equal(made.statusCode, 201, made.body)
        const seenByBeta = await app.inject({
          method: 'GET',
          url: '/api/v1/integration/integrations',
          headers: { authorization: `Bearer ${betaKey}` },
        })
        assert.equal(seenByBeta.json().count, 0)
        const got = await app.inject({
          method: 'GET',
          url: `/api/v1/integration/integrations/${made.json().id}`,
          headers: { authorization: `Bearer ${betaKey}` },
        })
        assert.equal(got.statusCode, 404)
      } finally {
        await app.close()
      }
    })
  })

  test('on a store a first start set up, adds a workspace beside the default one', async () => {
    const other = mkdtempSync(join(tmpdir(), 'docent-workspaces-'))
    try {
      const otherUrl = `sqlite:${join(other, 'docent.db')}`
      const store = await openStore(otherUrl)
      let defaultKey: string
      try {
        await migrateToLatest(store.db)
        const firstStart = await ensureFirstStart(store, { adminApiKey: undefined, dataDir: join(other, 'data') })
        assert.equal(firstStart.kind, 'created')
        defaultKey = firstStart.kind === 'created' ? firstStart.key : ''
      } finally {
        await store.close()
      }
      const result = await runDocent(['workspaces', 'create', 'Second'], {
        env: { DOCENT_DATABASE_URL: otherUrl },
        cwd: other,
      })
      assert.equal(result.code, 0, result.stderr)
      const reopened = await openStore(otherUrl)
      try {
        const names = await reopened.db.selectFrom('workspaces').select('name').orderBy('name').execute()
        assert.deepEqual(
          names.map((w) => w.name),
          ['Default', 'Second'],
        )
        assert.ok((await findPrincipalByKey(reopened.db, defaultKey)) !== undefined, 'the first admin key still works')
        assert.ok((await findPrincipalByKey(reopened.db, result.stdout.trim())) !== undefined)
      } finally {
        await reopened.close()
      }
    } finally {
      rmSync(other, { recursive: true, force: true })
    }
  })
})

async function countKeys(store: Store): Promise<number> {
  const rows = await store.db.selectFrom('api_keys').select('id').execute()
  return rows.length
}
