import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.ts'
import type { Resource } from '../../src/catalog/resource-schema.ts'
import { CatalogResultCache } from '../../src/catalog/result-cache.ts'
import { noteChange } from '../../src/db/change-counter.ts'
import type { Store } from '../../src/db/types.ts'
import { syncSnapshot } from '../../src/extract/sync.ts'
import {
  assertErrorBody,
  ENGINES,
  type Harness,
  makeDatabase,
  makeGroup,
  makeIntegration,
  makeKey,
  makeTag,
  makeTeam,
  makeUser,
  startHarness,
} from '../helpers.ts'

const byTitle = (value: string) => encodeURIComponent(JSON.stringify({ operator: 'contains', field: 'title', value }))

/** One docent instance as a client sees it: requests with the admin's key unless told otherwise. */
type Client = (options: {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  body?: unknown
  authorization?: string
}) => Promise<LightMyRequestResponse>

function clientOf(app: FastifyInstance, adminKey: string): Client {
  return ({ method, url, body, authorization }) =>
    app.inject({
      method,
      url,
      headers: { authorization: authorization ?? `Bearer ${adminKey}` },
      ...(body === undefined ? {} : { payload: body as object }),
    })
}

/** A kind of write, and what it must change in a list that was cached before it. */
interface WriteCase {
  name: string
  prepare(marker: string): Promise<{
    /** The list, as the admin or as `authorization`. */
    query: string
    authorization?: string
    /** The write, through the instance it is given. */
    write(via: Client): Promise<void>
    /** Checks the list before and after the write. */
    check(before: Resource[], after: Resource[]): void
  }>
}

for (const { engine, skip } of ENGINES) {
  describe(`List Resources never answers from stale cached results on ${engine}`, { skip }, () => {
    let h: Harness
    let peerStore: Store
    let peerApp: FastifyInstance
    /** The harness's instance, and a second instance on the same store (its own connections and cache). */
    let one: Client
    let two: Client
    before(async () => {
      h = await startHarness(engine)
      peerStore = await h.openPeer()
      peerApp = await buildApp({ store: peerStore })
      one = clientOf(h.app, h.adminKey)
      two = clientOf(peerApp, h.adminKey)
    })
    after(async () => {
      await peerApp?.close()
      await peerStore?.close()
      await h?.close()
    })

    const ok = async (response: Promise<LightMyRequestResponse>, status = 200) => {
      const answer = await response
      assert.equal(answer.statusCode, status, answer.body)
      return answer
    }
    const results = async (via: Client, query: string, authorization?: string): Promise<Resource[]> =>
      (
        await ok(via({ method: 'GET', url: `/resource/catalog?${query}`, ...(authorization ? { authorization } : {}) }))
      ).json().results
    const titles = async (via: Client, query: string) => (await results(via, query)).map((r) => r.title).sort()

    test('a PATCH through the API shows in the next identical list', async () => {
      const db = await makeDatabase(h, { title: 'cache alpha' })
      assert.deepEqual(await titles(one, `filter=${byTitle('alpha')}`), ['cache alpha'])
      assert.deepEqual(await titles(one, `filter=${byTitle('beta')}`), [])
      await ok(one({ method: 'PATCH', url: `/database/databases/${db.id}`, body: { title: 'cache beta' } }))
      assert.deepEqual(await titles(one, `filter=${byTitle('alpha')}`), [])
      assert.deepEqual(await titles(one, `filter=${byTitle('beta')}`), ['cache beta'])
    })

    test('a delete shows in count and pages at once', async () => {
      const first = await makeDatabase(h, { title: 'gone one' })
      await makeDatabase(h, { title: 'gone two' })
      const list = async () =>
        (await ok(one({ method: 'GET', url: `/resource/catalog?filter=${byTitle('gone')}` }))).json()
      assert.equal((await list()).count, 2)
      await ok(one({ method: 'DELETE', url: `/database/databases/${first.id}` }), 204)
      const after = await list()
      assert.equal(after.count, 1)
      assert.deepEqual(
        after.results.map((r: { title: string }) => r.title),
        ['gone two'],
      )
    })

    test('a commit that notes no change (plain SQL, another table or database) keeps cached lists; noting one refreshes them', async () => {
      const db = await makeDatabase(h, { title: 'probe gamma' })
      const query = `filter=${byTitle('probe')}`
      assert.deepEqual(await titles(one, query), ['probe gamma'])
      // A change made behind docent's back: only a cached answer can still show the old title.
      await peerStore.db.updateTable('resources').set({ title: 'probe delta' }).where('id', '=', db.id).execute()
      await peerStore.db
        .insertInto('docent_meta')
        .values({ key: `unrelated ${randomUUID()}`, value: 'x' })
        .execute()
      assert.deepEqual(await titles(one, query), ['probe gamma'])
      await noteChange(peerStore.db)
      assert.deepEqual(await titles(one, query), ['probe delta'])
    })

    test('identical lists sent together after a write all show it', async () => {
      const db = await makeDatabase(h, { title: 'crowd before' })
      const query = `filter=${byTitle('crowd')}`
      assert.deepEqual(await titles(one, query), ['crowd before'])
      await ok(one({ method: 'PATCH', url: `/resource/all/${db.id}`, body: { title: 'crowd after' } }))
      const answers = await Promise.all(Array.from({ length: 50 }, () => titles(one, query)))
      for (const answer of answers) assert.deepEqual(answer, ['crowd after'])
    })

    test('a repeated list links to the host and path it was asked on, not to those of an earlier asker', async () => {
      await makeDatabase(h, { title: 'linked one' })
      await makeDatabase(h, { title: 'linked two' })
      const query = `filter=${byTitle('linked')}&page_size=1`
      const next = async (host: string, prefix: string) => {
        const answer = await h.app.inject({
          method: 'GET',
          url: `${prefix}/resource/catalog?${query}`,
          headers: { authorization: `Bearer ${h.adminKey}`, host },
        })
        assert.equal(answer.statusCode, 200, answer.body)
        return answer.json().links.next
      }
      for (let round = 0; round < 2; round++) {
        assert.equal(await next('one.example', ''), `http://one.example/resource/catalog?${query}&page=2`)
        assert.equal(await next('two.example', ''), `http://two.example/resource/catalog?${query}&page=2`)
        assert.equal(await next('one.example', '/api/v1'), `http://one.example/api/v1/resource/catalog?${query}&page=2`)
      }
    })

    test('identical lists with a bad filter sent together are each a 400', async () => {
      const bad = encodeURIComponent(JSON.stringify({ operator: 'contains', field: 'colour', value: 'x' }))
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => one({ method: 'GET', url: `/resource/catalog?filter=${bad}` })),
      )
      for (const answer of answers) assertErrorBody(answer, 400, 'INVALID_FILTER')
    })

    const cases: WriteCase[] = [
      {
        name: 'POST /resource/catalog',
        async prepare(marker) {
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(
                via({ method: 'POST', url: '/resource/catalog', body: { entity_type: 'collection', title: marker } }),
                201,
              )
            },
            check: (before, after) => {
              assert.deepEqual(before, [])
              assert.deepEqual(
                after.map((r) => r.title),
                [marker],
              )
            },
          }
        },
      },
      {
        name: 'POST of a child through a typed route',
        async prepare(marker) {
          const database = await makeDatabase(h, { title: `${marker} db` })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(
                via({
                  method: 'POST',
                  url: '/database/schemas',
                  body: { title: `${marker} schema`, parent: database.id },
                }),
                201,
              )
            },
            check: (before, after) => {
              assert.equal(before[0]?.children_count, 0)
              assert.equal(after.find((r) => r.id === database.id)?.children_count, 1)
              assert.equal(after.length, 2)
            },
          }
        },
      },
      {
        name: 'PATCH /resource/all/{id} of a field',
        async prepare(marker) {
          const database = await makeDatabase(h, { title: marker })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'PATCH', url: `/resource/all/${database.id}`, body: { description: 'changed' } }))
            },
            check: (before, after) => {
              assert.equal(before[0]?.description, '')
              assert.equal(after[0]?.description, 'changed')
            },
          }
        },
      },
      {
        name: 'PATCH /resource/all/{id} of a list',
        async prepare(marker) {
          const database = await makeDatabase(h, { title: marker })
          const tag = await makeTag(h)
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'PATCH', url: `/resource/all/${database.id}`, body: { tags: [tag] } }))
            },
            check: (before, after) => {
              assert.deepEqual(before[0]?.tags, [])
              assert.deepEqual(after[0]?.tags, [tag])
            },
          }
        },
      },
      {
        name: 'DELETE /resource/all/{id} of a subtree',
        async prepare(marker) {
          const database = await makeDatabase(h, { title: `${marker} db` })
          const schema = await ok(
            one({ method: 'POST', url: '/database/schemas', body: { title: `${marker} schema`, parent: database.id } }),
            201,
          )
          assert.ok(schema.json().id)
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'DELETE', url: `/resource/all/${database.id}` }), 204)
            },
            check: (before, after) => {
              assert.equal(before.length, 2)
              assert.deepEqual(after, [])
            },
          }
        },
      },
      {
        name: 'DELETE /user/{id} of an owner',
        async prepare(marker) {
          const user = await makeUser(h)
          await makeDatabase(h, { title: marker, owners: [user] })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'DELETE', url: `/user/${user}` }), 204)
            },
            check: (before, after) => {
              assert.deepEqual(before[0]?.owners, [user])
              assert.deepEqual(after[0]?.owners, [])
            },
          }
        },
      },
      {
        name: 'DELETE /tag/{id}',
        async prepare(marker) {
          const tag = await makeTag(h)
          await makeDatabase(h, { title: marker, tags: [tag] })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'DELETE', url: `/tag/${tag}` }), 204)
            },
            check: (before, after) => {
              assert.deepEqual(before[0]?.tags, [tag])
              assert.deepEqual(after[0]?.tags, [])
            },
          }
        },
      },
      {
        name: 'DELETE /auth/group/{id}',
        async prepare(marker) {
          const group = await makeGroup(h)
          await makeDatabase(h, { title: marker, owners_groups: [group] })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'DELETE', url: `/auth/group/${group}` }), 204)
            },
            check: (before, after) => {
              assert.deepEqual(before[0]?.owners_groups, [group])
              assert.deepEqual(after[0]?.owners_groups, [])
            },
          }
        },
      },
      {
        name: 'DELETE /auth/teams/{id}',
        async prepare(marker) {
          const team = await makeTeam(h)
          await makeDatabase(h, { title: marker, teams: [team] })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'DELETE', url: `/auth/teams/${team}` }), 204)
            },
            check: (before, after) => {
              assert.deepEqual(before[0]?.teams, [team])
              assert.deepEqual(after[0]?.teams, [h.defaultTeamId])
            },
          }
        },
      },
      {
        name: "PATCH /user/{id} of a viewer's teams",
        async prepare(marker) {
          const team = await makeTeam(h)
          const viewer = await makeUser(h, { role: 'viewer' })
          const authorization = await makeKey(h, viewer)
          await makeDatabase(h, { title: marker, teams: [team] })
          return {
            query: `filter=${byTitle(marker)}`,
            authorization,
            async write(via) {
              await ok(via({ method: 'PATCH', url: `/user/${viewer}`, body: { teams: [team] } }))
            },
            check: (before, after) => {
              assert.deepEqual(before, [])
              assert.deepEqual(
                after.map((r) => r.title),
                [marker],
              )
            },
          }
        },
      },
      {
        name: 'DELETE /integration/integrations/{id}',
        async prepare(marker) {
          const integration = await makeIntegration(h)
          await makeDatabase(h, { title: marker, integration })
          return {
            query: `filter=${byTitle(marker)}`,
            async write(via) {
              await ok(via({ method: 'DELETE', url: `/integration/integrations/${integration}` }), 204)
            },
            check: (before, after) => {
              assert.equal(before.length, 1)
              assert.deepEqual(after, [])
            },
          }
        },
      },
      {
        name: 'a sync (extraction) that creates resources',
        async prepare(marker) {
          const integration = await makeIntegration(h)
          const target = { integrationId: integration, workspaceId: h.workspaceId, teamIds: [h.defaultTeamId] }
          return {
            query: `filter=${byTitle(marker)}`,
            async write() {
              const snapshot = { databases: [{ name: marker, comment: null, schemas: [] }], problems: [] }
              await syncSnapshot(peerStore, target, snapshot)
            },
            check: (before, after) => {
              assert.deepEqual(before, [])
              assert.deepEqual(
                after.map((r) => r.title),
                [marker],
              )
            },
          }
        },
      },
      {
        name: 'a sync (extraction) that updates resources',
        async prepare(marker) {
          const integration = await makeIntegration(h)
          const target = { integrationId: integration, workspaceId: h.workspaceId, teamIds: [h.defaultTeamId] }
          const snapshot = (comment: string | null) => ({
            databases: [{ name: marker, comment, schemas: [] }],
            problems: [],
          })
          await syncSnapshot(h.store, target, snapshot(null))
          return {
            query: `filter=${byTitle(marker)}`,
            async write() {
              await syncSnapshot(peerStore, target, snapshot('now described'))
            },
            check: (before, after) => {
              assert.equal(before[0]?.description, '')
              assert.equal(after[0]?.description, 'now described')
            },
          }
        },
      },
      {
        name: 'a sync (extraction) that marks resources stale',
        async prepare(marker) {
          const integration = await makeIntegration(h)
          const target = { integrationId: integration, workspaceId: h.workspaceId, teamIds: [h.defaultTeamId] }
          const kept = { name: `${marker} kept`, comment: null, schemas: [] }
          const gone = { name: `${marker} gone`, comment: null, schemas: [] }
          await syncSnapshot(h.store, target, { databases: [kept, gone], problems: [] })
          return {
            query: `filter=${byTitle(marker)}&sort=${encodeURIComponent(JSON.stringify({ field: 'title', order: 'asc' }))}`,
            async write() {
              // Nothing to create or update: the one change is the stale mark.
              await syncSnapshot(peerStore, target, { databases: [kept], problems: [] })
            },
            check: (before, after) => {
              assert.deepEqual(
                before.map((r) => [r.title, r.stale]),
                [
                  [gone.name, false],
                  [kept.name, false],
                ],
              )
              assert.deepEqual(
                after.map((r) => [r.title, r.stale]),
                [
                  [gone.name, true],
                  [kept.name, false],
                ],
              )
            },
          }
        },
      },
    ]

    describe('every kind of write shows in lists cached before it, on this instance and on another one', () => {
      for (const kind of cases) {
        test(kind.name, async () => {
          const { query, authorization, write, check } = await kind.prepare(`marker ${randomUUID()}`)
          const before = await results(one, query, authorization)
          assert.deepEqual(await results(two, query, authorization), before)
          await write(two)
          const after = await results(one, query, authorization)
          check(before, after)
          assert.deepEqual(await results(two, query, authorization), after)
        })
      }
    })
  })
}

describe('CatalogResultCache', () => {
  const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 5))

  test('computes a miss once while identical requests for the same version wait for it', async () => {
    const cache = new CatalogResultCache()
    let loads = 0
    const load = () => {
      loads++
      return later(['a', 'b'])
    }
    const answers = await Promise.all(Array.from({ length: 200 }, () => cache.ids('list', 7, load)))
    assert.equal(loads, 1)
    for (const answer of answers) assert.deepEqual(answer, { version: 7, ids: ['a', 'b'] })
    await cache.ids('list', 7, load)
    assert.equal(loads, 1, 'kept after the miss')
  })

  test('runs misses of different lists side by side', { timeout: 5000 }, async () => {
    const cache = new CatalogResultCache()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    // The first load ends only once the second has started: serialized misses would never end.
    const first = cache.ids('first', 1, async () => {
      await gate
      return ['1']
    })
    const second = cache.ids('second', 1, async () => {
      release()
      return ['2']
    })
    assert.deepEqual((await first).ids, ['1'])
    assert.deepEqual((await second).ids, ['2'])
  })

  test('uses an answer of the same or a later version for ids, and only of the same version for a page', async () => {
    const cache = new CatalogResultCache()
    await cache.ids('list', 5, async () => ['five'])
    assert.deepEqual(await cache.ids('list', 4, async () => ['four']), { version: 5, ids: ['five'] })
    assert.deepEqual(await cache.ids('list', 6, async () => ['six']), { version: 6, ids: ['six'] })
    // An older load that ends last does not replace the newer answer.
    assert.deepEqual(await cache.ids('list', 5, async () => ['five again']), { version: 6, ids: ['six'] })
    await cache.page('page', 5, async () => '[5]')
    assert.equal(await cache.page('page', 4, async () => '[4]'), '[4]')
    assert.equal(await cache.page('page', 5, async () => '[5 again]'), '[5]')
  })

  test('keeps nothing of a failed load, and tells every waiter', async () => {
    const cache = new CatalogResultCache()
    const failing = () => later(undefined).then(() => Promise.reject(new Error('bad filter')))
    const waiting = await Promise.allSettled([cache.ids('bad', 1, failing), cache.ids('bad', 1, failing)])
    assert.deepEqual(
      waiting.map((w) => w.status),
      ['rejected', 'rejected'],
    )
    assert.deepEqual((await cache.ids('bad', 1, async () => ['ok'])).ids, ['ok'])
  })

  test('keeps its memory within the bytes it is given, dropping the least recently used answers', async () => {
    const bound = 1_000_000
    const cache = new CatalogResultCache(bound)
    const page = 'x'.repeat(100_000)
    for (let i = 0; i < 30; i++) await cache.page(`page ${i}`, 1, async () => page)
    assert.ok(cache.bytes <= bound, `${cache.bytes} bytes`)
    assert.ok(cache.bytes > bound / 2, `${cache.bytes} bytes`)
    let loads = 0
    await cache.page('page 0', 1, async () => {
      loads++
      return page
    })
    await cache.page('page 29', 1, async () => {
      loads++
      return page
    })
    assert.equal(loads, 1, 'the oldest page was dropped, the newest kept')
    // Ids count by what they hold, and text outside Latin-1 counts twice.
    await cache.ids('many ids', 1, async () => Array.from({ length: 10_000 }, () => randomUUID()))
    assert.ok(cache.bytes <= bound, `${cache.bytes} bytes`)
    const wide = new CatalogResultCache(bound)
    await wide.page('wide', 1, async () => 'é€'.repeat(300_000))
    assert.equal(wide.bytes, 0, 'a 1.2 MB page is not kept under a 1 MB bound')
  })
})
