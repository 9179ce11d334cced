import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import { findPrincipalByKey, hashApiKey } from '../../src/access/keys.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'
import type { Store } from '../../src/db/types.ts'
import { ADMIN_KEY_FILE, ensureFirstStart } from '../../src/directory/bootstrap.ts'
import { ENGINES, openTestStore } from '../helpers.ts'

const CONFIGURED_KEY = 'configured-admin-key-0123456789abcdef'
const OTHER_KEY = 'another-admin-key-0123456789abcdefgh'

async function countOf(store: Store, table: 'workspaces' | 'teams' | 'users' | 'api_keys' | 'team_members') {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function counts(store: Store) {
  return {
    workspaces: await countOf(store, 'workspaces'),
    teams: await countOf(store, 'teams'),
    users: await countOf(store, 'users'),
    api_keys: await countOf(store, 'api_keys'),
  }
}

for (const { engine, skip } of ENGINES) {
  describe(`first start on ${engine}`, { skip }, () => {
    let cleanups: (() => Promise<void>)[] = []
    let tmp: string
    before(() => {
      tmp = mkdtempSync(join(tmpdir(), 'docent-bootstrap-'))
    })
    // Each test's store is closed (its PostgreSQL schema dropped) before the next test opens one.
    afterEach(async () => {
      const pending = cleanups
      cleanups = []
      for (const cleanup of pending) {
        await cleanup()
      }
    })
    after(() => {
      rmSync(tmp, { recursive: true, force: true })
    })

    /** A fresh migrated store and a data folder that does not exist yet. */
    async function fresh(): Promise<{ store: Store; dataDir: string }> {
      const { store, cleanup } = await openTestStore(engine)
      cleanups.push(cleanup)
      return { store, dataDir: join(mkdtempSync(join(tmp, 'run-')), 'data') }
    }

    test('creates one workspace, its default team General, one admin and one hashed key on an empty store', async () => {
      const { store, dataDir } = await fresh()
      const result = await ensureFirstStart(store, { adminApiKey: undefined, dataDir })
      assert.equal(result.kind, 'created')
      assert.ok(result.kind === 'created')

      assert.deepEqual(await counts(store), { workspaces: 1, teams: 1, users: 1, api_keys: 1 })
      const workspace = await store.db.selectFrom('workspaces').selectAll().executeTakeFirstOrThrow()
      assert.equal(workspace.id, result.workspaceId)

      const team = await store.db.selectFrom('teams').selectAll().executeTakeFirstOrThrow()
      assert.equal(team.name, 'General')
      assert.equal(Boolean(team.is_default), true)
      assert.equal(team.workspace_id, workspace.id)

      const user = await store.db.selectFrom('users').selectAll().executeTakeFirstOrThrow()
      assert.equal(user.role, 'admin')
      assert.equal(user.workspace_id, workspace.id)
      const membership = await store.db.selectFrom('team_members').selectAll().execute()
      assert.deepEqual(membership, [{ team_id: team.id, user_id: user.id }])

      const apiKey = await store.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow()
      assert.notEqual(apiKey.key_hash, result.key)
      assert.ok(!apiKey.key_hash.includes(result.key))
      assert.equal(apiKey.key_hash, hashApiKey(result.key))
      assert.equal(apiKey.user_id, user.id)
      assert.equal(apiKey.revoked_at, null)
    })

    test('writes a new key to <dataDir>/admin-api-key with mode 0600, and the key acts as the admin', async () => {
      const { store, dataDir } = await fresh()
      const result = await ensureFirstStart(store, { adminApiKey: undefined, dataDir })
      assert.ok(result.kind === 'created')
      assert.ok(result.key.length >= 32, 'a long random key')
      assert.equal(result.keyFile, join(dataDir, ADMIN_KEY_FILE))

      const stat = statSync(join(dataDir, ADMIN_KEY_FILE))
      assert.ok(stat.isFile())
      assert.equal(stat.mode & 0o777, 0o600)
      assert.equal(readFileSync(join(dataDir, ADMIN_KEY_FILE), 'utf8').trim(), result.key)

      const principal = await findPrincipalByKey(store.db, result.key)
      assert.ok(principal !== undefined)
      assert.equal(principal.role, 'admin')
      assert.equal(principal.workspaceId, result.workspaceId)
    })

    test('does nothing on a store that was set up before: no new rows, same file, same key', async () => {
      const { store, dataDir } = await fresh()
      const first = await ensureFirstStart(store, { adminApiKey: undefined, dataDir })
      assert.ok(first.kind === 'created')
      const file = join(dataDir, ADMIN_KEY_FILE)
      const before = { text: readFileSync(file, 'utf8'), mtimeMs: statSync(file).mtimeMs, counts: await counts(store) }
      const keyRows = await store.db.selectFrom('api_keys').selectAll().execute()

      const second = await ensureFirstStart(store, { adminApiKey: undefined, dataDir })
      assert.deepEqual(second, { kind: 'existing', configuredKeyIgnored: false })
      assert.deepEqual(await counts(store), before.counts)
      assert.equal(readFileSync(file, 'utf8'), before.text)
      assert.equal(statSync(file).mtimeMs, before.mtimeMs)
      assert.deepEqual(await store.db.selectFrom('api_keys').selectAll().execute(), keyRows)
      assert.equal((await findPrincipalByKey(store.db, first.key))?.role, 'admin')
    })

    test('uses DOCENT_ADMIN_API_KEY when set and writes no key file', async () => {
      const { store, dataDir } = await fresh()
      const result = await ensureFirstStart(store, { adminApiKey: CONFIGURED_KEY, dataDir })
      assert.ok(result.kind === 'created')
      assert.equal(result.key, CONFIGURED_KEY)
      assert.equal(result.keyFile, undefined)
      assert.equal(existsSync(join(dataDir, ADMIN_KEY_FILE)), false)
      assert.ok(!existsSync(dataDir) || readdirSync(dataDir).length === 0, 'nothing written to the data folder')

      const principal = await findPrincipalByKey(store.db, CONFIGURED_KEY)
      assert.equal(principal?.role, 'admin')
      const apiKey = await store.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow()
      assert.notEqual(apiKey.key_hash, CONFIGURED_KEY)

      const again = await ensureFirstStart(store, { adminApiKey: CONFIGURED_KEY, dataDir })
      assert.deepEqual(again, { kind: 'existing', configuredKeyIgnored: false })
    })

    test('reports a different configured key as ignored later and keeps the old key working', async () => {
      const { store, dataDir } = await fresh()
      await ensureFirstStart(store, { adminApiKey: CONFIGURED_KEY, dataDir })
      const before = await counts(store)

      const later = await ensureFirstStart(store, { adminApiKey: OTHER_KEY, dataDir })
      assert.deepEqual(later, { kind: 'existing', configuredKeyIgnored: true })
      assert.deepEqual(await counts(store), before)
      assert.equal((await findPrincipalByKey(store.db, CONFIGURED_KEY))?.role, 'admin')
      assert.equal(await findPrincipalByKey(store.db, OTHER_KEY), undefined)
      assert.equal(existsSync(join(dataDir, ADMIN_KEY_FILE)), false)
    })

    test('reports a configured key as ignored on a store first set up with a generated key', async () => {
      const { store, dataDir } = await fresh()
      const first = await ensureFirstStart(store, { adminApiKey: undefined, dataDir })
      assert.ok(first.kind === 'created')
      const later = await ensureFirstStart(store, { adminApiKey: CONFIGURED_KEY, dataDir })
      assert.deepEqual(later, { kind: 'existing', configuredKeyIgnored: true })
      assert.equal(await findPrincipalByKey(store.db, CONFIGURED_KEY), undefined)
      assert.equal((await findPrincipalByKey(store.db, first.key))?.role, 'admin')
    })

    test('sets a store up exactly once when two first starts race', async () => {
      const { store, dataDir } = await fresh()
      const results = await Promise.all([
        ensureFirstStart(store, { adminApiKey: undefined, dataDir }),
        ensureFirstStart(store, { adminApiKey: undefined, dataDir }),
      ])
      assert.deepEqual(results.map((r) => r.kind).sort(), ['created', 'existing'])
      assert.deepEqual(await counts(store), { workspaces: 1, teams: 1, users: 1, api_keys: 1 })
      const created = results.find((r) => r.kind === 'created')
      assert.ok(created?.kind === 'created')
      assert.equal(readFileSync(join(dataDir, ADMIN_KEY_FILE), 'utf8').trim(), created.key)
      assert.equal((await findPrincipalByKey(store.db, created.key))?.role, 'admin')
    })
  })
}

describe('loadConfig', () => {
  test('defaults to port 8080, host 127.0.0.1 and sqlite:<cwd>/data/docent.db', () => {
    const config = loadConfig({})
    assert.equal(config.port, 8080)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.databaseUrl, `sqlite:${resolve('data', 'docent.db')}`)
    assert.equal(config.dataDir, resolve('data'))
    assert.equal(config.adminApiKey, undefined)
    assert.equal(config.trustProxy, false)
    assert.ok(Object.isFrozen(config))
  })

  test('puts the default SQLite file in DOCENT_DATA_DIR, as an absolute path', () => {
    const config = loadConfig({ DOCENT_DATA_DIR: 'some/where' })
    assert.equal(config.dataDir, resolve('some/where'))
    assert.equal(config.databaseUrl, `sqlite:${resolve('some/where', 'docent.db')}`)
  })

  test('rejects a DOCENT_ADMIN_API_KEY shorter than 32 characters', () => {
    assert.throws(() => loadConfig({ DOCENT_ADMIN_API_KEY: 'x'.repeat(31) }), ConfigError)
    assert.equal(loadConfig({ DOCENT_ADMIN_API_KEY: 'x'.repeat(32) }).adminApiKey, 'x'.repeat(32))
  })

  test('rejects a PORT that is not a whole number from 0 to 65535', () => {
    for (const port of ['abc', '80.5', '-1', '65536', '8080abc']) {
      assert.throws(() => loadConfig({ PORT: port }), ConfigError, port)
    }
    assert.equal(loadConfig({ PORT: '0' }).port, 0)
    assert.equal(loadConfig({ PORT: '3000' }).port, 3000)
  })

  test('rejects a DOCENT_TRUST_PROXY that is not true or false', () => {
    assert.throws(() => loadConfig({ DOCENT_TRUST_PROXY: 'maybe' }), ConfigError)
    assert.equal(loadConfig({ DOCENT_TRUST_PROXY: 'true' }).trustProxy, true)
  })
})
