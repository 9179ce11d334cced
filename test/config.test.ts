import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError, loadConfig } from '../src/config.ts'

describe('loadConfig: what syncs may read', () => {
  test('DOCENT_SYNC_SQLITE_DIRS is a list of folders separated like PATH, made absolute; unset is none', () => {
    assert.deepEqual(loadConfig({}).syncSqliteDirs, [])
    assert.deepEqual(loadConfig({ DOCENT_SYNC_SQLITE_DIRS: '/srv/a: relative/b ::' }).syncSqliteDirs, [
      '/srv/a',
      resolve('relative/b'),
    ])
    assert.ok(Object.isFrozen(loadConfig({ DOCENT_SYNC_SQLITE_DIRS: '/srv/a' }).syncSqliteDirs))
  })

  test('DOCENT_SYNC_ALLOWED_HOSTS is comma-separated hosts compared in lower case; unset or empty is any host', () => {
    assert.equal(loadConfig({}).syncAllowedHosts, undefined)
    assert.equal(loadConfig({ DOCENT_SYNC_ALLOWED_HOSTS: ' , ' }).syncAllowedHosts, undefined)
    assert.deepEqual(loadConfig({ DOCENT_SYNC_ALLOWED_HOSTS: 'DB.Example.com., 10.0.0.5,[::1]' }).syncAllowedHosts, [
      'db.example.com',
      '10.0.0.5',
      '::1',
    ])
    for (const bad of ['db.example.com/path', 'user@db', 'two words']) {
      assert.throws(() => loadConfig({ DOCENT_SYNC_ALLOWED_HOSTS: bad }), ConfigError, bad)
    }
  })
})

describe('loadConfig: the PostgreSQL pool', () => {
  test('DOCENT_DATABASE_POOL_SIZE is a whole number from 2 to 100; unset is twice the processors, from 2 to 10', () => {
    const byDefault = Math.min(10, Math.max(2, 2 * availableParallelism()))
    assert.equal(loadConfig({}).databasePoolSize, byDefault)
    assert.equal(loadConfig({ DOCENT_DATABASE_POOL_SIZE: '' }).databasePoolSize, byDefault)
    assert.equal(loadConfig({ DOCENT_DATABASE_POOL_SIZE: '2' }).databasePoolSize, 2)
    assert.equal(loadConfig({ DOCENT_DATABASE_POOL_SIZE: '25' }).databasePoolSize, 25)
    for (const bad of ['0', '1', '101', '-3', '4.5', 'ten', ' 4']) {
      assert.throws(
        () => loadConfig({ DOCENT_DATABASE_POOL_SIZE: bad }),
        (error: Error) => error instanceof ConfigError && error.message.includes(`not '${bad}'`),
        bad,
      )
    }
  })
})
