import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { assertErrorBody, countRows, ENGINES, type Harness, makeKey, makeUser, startHarness } from '../helpers.ts'

// The counters live in the process, not in the store: one engine proves as much as two.
const SQLITE_ONLY = ENGINES.filter((e) => e.engine === 'sqlite')

const INTEGRATIONS = '/api/v1/integration/integrations'

for (const { engine, skip } of SQLITE_ONLY) {
  describe(`write rate limit on ${engine}`, { skip }, () => {
    let h: Harness
    let limited: FastifyInstance
    before(async () => {
      h = await startHarness(engine)
      limited = await buildApp({ store: h.store, writeRateLimit: 5 })
    })
    after(async () => {
      await limited?.close()
      await h?.close()
    })

    let counter = 0
    const write = (app: FastifyInstance, authorization: string): Promise<LightMyRequestResponse> =>
      app.inject({
        method: 'POST',
        url: INTEGRATIONS,
        headers: { authorization },
        payload: { name: `Source ${++counter}`, type: 'postgres' },
      })
    const read = (app: FastifyInstance, authorization: string, url: string) =>
      app.inject({ method: 'GET', url, headers: { authorization } })
    const newAdminKey = async () => makeKey(h, await makeUser(h, { role: 'admin' }))

    test('lets 5 writes of a key through, answers the 6th with 429, and leaves other keys and reads alone', async () => {
      const first = `Bearer ${h.adminKey}`
      for (let i = 1; i <= 5; i++) {
        const response = await write(limited, first)
        assert.equal(response.statusCode, 201, `write ${i}: ${response.body}`)
        assert.equal(response.headers['ratelimit-limit'], '5', `write ${i}`)
        assert.equal(response.headers['ratelimit-remaining'], String(5 - i), `write ${i}`)
      }

      const before = await countRows(h, 'integrations')
      const refused = await write(limited, first)
      assertErrorBody(refused, 429, 'RATE_LIMITED')
      assert.equal(await countRows(h, 'integrations'), before, 'a refused write wrote')
      const retryAfter = Number(refused.headers['retry-after'])
      assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`)
      assert.equal(refused.headers['ratelimit-limit'], '5')
      assert.equal(refused.headers['ratelimit-remaining'], '0')
      const reset = Number(refused.headers['ratelimit-reset'])
      assert.ok(Number.isInteger(reset) && reset > 0 && reset <= 60, `ratelimit-reset ${reset}`)

      // Another key of the same address still writes.
      assert.equal((await write(limited, await newAdminKey())).statusCode, 201)

      // Reads with the limited key still answer.
      for (const url of [
        INTEGRATIONS,
        '/api/v1/database/databases',
        '/api/v1/resource/catalog',
        '/api/v1/auth/api_keys',
      ]) {
        const response = await read(limited, first, url)
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
      }
      // And the limited key stays limited for writes of any method.
      const patch = await limited.inject({
        method: 'PATCH',
        url: `${INTEGRATIONS}/${(await read(limited, first, INTEGRATIONS)).json().results[0].id}`,
        headers: { authorization: first },
        payload: { name: 'renamed' },
      })
      assertErrorBody(patch, 429, 'RATE_LIMITED')
    })

    test('counts POST, PATCH and DELETE together against one key', async () => {
      const key = await newAdminKey()
      const a = (await write(limited, key)).json().id
      const b = (await write(limited, key)).json().id
      const renamed = await limited.inject({
        method: 'PATCH',
        url: `${INTEGRATIONS}/${a}`,
        headers: { authorization: key },
        payload: { name: 'renamed' },
      })
      assert.equal(renamed.statusCode, 200, renamed.body)
      const again = await limited.inject({
        method: 'PATCH',
        url: `${INTEGRATIONS}/${b}`,
        headers: { authorization: key },
        payload: { name: 'renamed too' },
      })
      assert.equal(again.statusCode, 200, again.body)
      const removed = await limited.inject({
        method: 'DELETE',
        url: `${INTEGRATIONS}/${a}`,
        headers: { authorization: key },
      })
      assert.equal(removed.statusCode, 204, removed.body)
      const sixth = await limited.inject({
        method: 'DELETE',
        url: `${INTEGRATIONS}/${b}`,
        headers: { authorization: key },
      })
      assertErrorBody(sixth, 429, 'RATE_LIMITED')
      assert.equal((await read(limited, key, `${INTEGRATIONS}/${b}`)).statusCode, 200, 'the refused DELETE deleted')
    })

    test('never limits reads: 20 reads of a key in a row all answer 200', async () => {
      const key = await newAdminKey()
      for (let i = 1; i <= 20; i++) {
        const response = await read(limited, key, INTEGRATIONS)
        assert.equal(response.statusCode, 200, `read ${i}: ${response.body}`)
      }
      assert.equal((await write(limited, key)).statusCode, 201, 'reads used up the write allowance')
    })

    test("counts a write its role may not make, and once over the limit answers 429 before the role's 403", async () => {
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      const tight = await buildApp({ store: h.store, writeRateLimit: 2 })
      try {
        const post = (url: string, payload: object) =>
          tight.inject({ method: 'POST', url, headers: { authorization: viewer }, payload })
        const statuses: number[] = []
        for (let i = 0; i < 4; i++) statuses.push((await post('/api/v1/auth/group', { name: `g${i}` })).statusCode)
        for (let i = 0; i < 3; i++) {
          statuses.push(
            (await post('/api/v1/resource/catalog', { entity_type: 'collection', title: `c${i}` })).statusCode,
          )
        }
        assert.deepEqual(statuses, [403, 403, 429, 429, 429, 429, 429])
      } finally {
        await tight.close()
      }
    })

    test('does not count requests without a working key, and answers them 401', async () => {
      for (let i = 1; i <= 7; i++) {
        const response = await write(limited, 'Bearer docent_not-a-key-of-this-store-at-all')
        assertErrorBody(response, 401, 'AUTHENTICATION_FAILED')
      }
      assert.equal((await write(limited, await newAdminKey())).statusCode, 201)
    })

    test('lists 429 in the OpenAPI document on every write, and on no read', async () => {
      const doc = (await limited.inject({ method: 'GET', url: '/docs/json' })).json()
      let writes = 0
      for (const [path, operations] of Object.entries<Record<string, { responses: object }>>(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const write = ['post', 'put', 'patch', 'delete'].includes(method)
          writes += write ? 1 : 0
          assert.equal('429' in operation.responses, write, `${method} ${path}`)
        }
      }
      assert.ok(writes >= 20, `writes: ${writes}`)
    })

    test('with writeRateLimit 0, the default, lets 20 writes of a key through', async () => {
      const unlimited = await buildApp({ store: h.store, writeRateLimit: 0 })
      try {
        for (const app of [unlimited, h.app]) {
          const key = await newAdminKey()
          for (let i = 1; i <= 20; i++) {
            const response = await write(app, key)
            assert.equal(response.statusCode, 201, `write ${i}: ${response.body}`)
            assert.equal(response.headers['ratelimit-limit'], undefined)
          }
        }
      } finally {
        await unlimited.close()
      }
    })
  })
}
