import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { buildApp } from '../../src/app.ts'
import { openStore } from '../../src/db/connect.ts'
import { isStoreUnavailable } from '../../src/db/driver-errors.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/types.ts'
import { generateApiKey } from '../../src/directory/keys/repository.ts'
import { createWorkspace } from '../../src/directory/workspaces/repository.ts'
import { ENGINES, POSTGRES_URL } from '../helpers.ts'

// A PostgreSQL pool with no connection free within its wait answers 503 UNAVAILABLE with Retry-After, not a 500;
// once connections are free again, the same requests succeed.

describe('what counts as the store being unavailable', () => {
  const withCode = (message: string, code: string, statusCode?: number) =>
    Object.assign(new Error(message), { code }, statusCode === undefined ? {} : { statusCode })
  test('only failures before any statement ran', () => {
    assert.ok(isStoreUnavailable(new Error('timeout exceeded when trying to connect')))
    assert.ok(isStoreUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')))
    assert.ok(isStoreUnavailable(withCode('sorry, too many clients already', '53300')))
    // A statement cut under way: its outcome is unknown, so not "nothing ran".
    assert.ok(!isStoreUnavailable(withCode('read ECONNRESET', 'ECONNRESET')))
    assert.ok(!isStoreUnavailable(withCode('terminating connection due to administrator command', '57P01')))
    // A client that hung up mid-body is the client's failure, already classed by the HTTP layer.
    assert.ok(!isStoreUnavailable(withCode('aborted', 'ECONNRESET', 400)))
    assert.ok(!isStoreUnavailable(withCode('connect ECONNREFUSED', 'ECONNREFUSED', 400)))
    assert.ok(!isStoreUnavailable('timeout exceeded when trying to connect'))
  })
})

const postgres = ENGINES.find((e) => e.engine === 'postgres')

describe('a busy PostgreSQL pool', { skip: postgres?.skip ?? 'PostgreSQL not selected' }, () => {
  const schema = `docent_test_busy_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  let store: Store
  let app: Awaited<ReturnType<typeof buildApp>>
  const adminKey = generateApiKey()

  before(async () => {
    store = await openStore(POSTGRES_URL, { schema, poolSize: 2, connectTimeoutMs: 300 })
    await migrateToLatest(store.db)
    await store.write((trx) => createWorkspace(trx, { name: 'Busy', adminEmail: 'admin@example.com', adminKey }))
    app = await buildApp({ store })
  })
  after(async () => {
    await app?.close()
    await store?.close()
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    await client.query(`drop schema if exists ${schema} cascade`)
    await client.end()
  })

  const send = (method: 'GET' | 'POST', url: string, body?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${adminKey}` }, ...(body ? { payload: body } : {}) })

  test('every connection held: 503 with Retry-After; free again: the same requests succeed', async () => {
    const integration = (
      await send('POST', '/api/v1/integration/integrations', { name: 'w', type: 'snowflake' })
    ).json().id
    // Both connections of the pool held until `release`.
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let holding = 0
    const held = [1, 2].map(() =>
      store.db.connection().execute(async () => {
        holding++
        await released
      }),
    )
    while (holding < 2) await new Promise((resolve) => setTimeout(resolve, 10))
    try {
      for (const [method, url, body] of [
        ['GET', '/api/v1/resource/catalog', undefined],
        ['POST', '/api/v1/database/databases', { title: 'while busy', integration }],
      ] as const) {
        const answer = await send(method, url, body)
        assert.equal(answer.statusCode, 503, `${method} ${url}: ${answer.body}`)
        assert.equal(answer.json().code, 'UNAVAILABLE')
        assert.match(answer.json().detail, /try again/)
        assert.equal(answer.headers['retry-after'], '1')
      }
    } finally {
      release()
      await Promise.all(held)
    }
    assert.equal((await send('GET', '/api/v1/resource/catalog')).statusCode, 200)
    const created = await send('POST', '/api/v1/database/databases', { title: 'after', integration })
    assert.equal(created.statusCode, 201, created.body)
    // Nothing of the refused POST was written.
    const titles = (await send('GET', '/api/v1/database/databases'))
      .json()
      .results.map((r: { title: string }) => r.title)
    assert.deepEqual(titles, ['after'])
  })
})
