import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { openStore } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/types.ts'

// The OpenAPI document is what clients generate code from: a change to it must be on purpose. A refactor leaves
// it byte for byte as it was; a change to the API rewrites the snapshot (DOCENT_UPDATE_OPENAPI=1 npm test) and
// shows in review as a diff of test/fixtures/openapi.json.
const SNAPSHOT = new URL('../fixtures/openapi.json', import.meta.url)

let store: Store
let app: FastifyInstance
before(async () => {
  store = await openStore('sqlite::memory:')
  await migrateToLatest(store.db)
  app = await buildApp({ store })
})
after(async () => {
  await app?.close()
  await store?.close()
})

test('the OpenAPI document at /docs/json is the one in test/fixtures/openapi.json, byte for byte', async () => {
  const response = await app.inject({ method: 'GET', url: '/docs/json' })
  assert.equal(response.statusCode, 200)
  if (process.env.DOCENT_UPDATE_OPENAPI === '1') {
    writeFileSync(SNAPSHOT, response.body)
  }
  const expected = readFileSync(SNAPSHOT, 'utf8')
  assert.ok(
    response.body === expected,
    'the OpenAPI document changed: run DOCENT_UPDATE_OPENAPI=1 npm test if on purpose',
  )
})
