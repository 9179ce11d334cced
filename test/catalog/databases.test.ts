import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  type Harness,
  makeDatabase,
  makeGroup,
  makeIntegration,
  makeKey,
  makeResource,
  makeTag,
  makeTeam,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

/** The fields of the reference's list example (seed/databases-api.txt), in its order (CONTRACT §3). */
const SEED_FIELDS = [
  'id',
  'created_at',
  'updated_at',
  'entity_type',
  'native_type',
  'icon',
  'title',
  'title_full',
  'title_cased',
  'description',
  'definition',
  'definition_version',
  'multiplayers',
  'multiplayer_last_modified_by',
  'multiplayer_last_modified',
  'owners',
  'owners_groups',
  'collections',
  'tags',
  'workspace_id',
  'published',
  'archived',
  'archived_at',
  'pii',
  'verified',
  'url',
  'parent',
  'children_count',
  'bookmarked_by',
  'integration',
  'external_updated_at',
  'internal_usage',
  'internal_users',
  'external_users',
  'external_usage',
  'databuilder_id',
  'search_metadata',
  'sources',
  'subscribers',
  'teams',
  'stale',
  'stale_at',
  'forced_unstale_by_user',
  'current_user_permissions',
  'row_count',
  'byte_size',
  'display_metadata',
  'question_status',
  'question_priority',
  'question_answered_by',
  'question_assigned_to',
]

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const DATABASES = '/api/v1/database/databases'

type Resource = Record<string, unknown> & { id: string }

function assertSeedShape(resource: Record<string, unknown>) {
  const keys = Object.keys(resource)
  assert.deepEqual(keys.slice(0, SEED_FIELDS.length), SEED_FIELDS)
  // The reference's create example also answers total_usage; it and custom_properties (CONTRACT §10) follow the
  // common fields, in that order.
  assert.deepEqual(keys.slice(SEED_FIELDS.length), ['total_usage', 'custom_properties'])
}

function assertTimestamps(resource: Record<string, unknown>) {
  for (const field of ['created_at', 'updated_at', 'multiplayer_last_modified']) {
    assert.match(String(resource[field]), ISO_MS, `${field} = ${resource[field]}`)
  }
}

for (const { engine, skip } of ENGINES) {
  describe(`databases on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const get = (id: string, authorization?: string) =>
      h.request({
        method: 'GET',
        url: `${DATABASES}/${id}`,
        headers: authorization === undefined ? {} : { authorization },
      })
    const patch = (id: string, body: Record<string, unknown>, authorization?: string) =>
      h.request({
        method: 'PATCH',
        url: `${DATABASES}/${id}`,
        body,
        headers: authorization === undefined ? {} : { authorization },
      })
    const post = (body: Record<string, unknown>) => h.request({ method: 'POST', url: DATABASES, body })
    const list = (query: string, authorization?: string) =>
      h.request({
        method: 'GET',
        url: `${DATABASES}?${query}`,
        headers: authorization === undefined ? {} : { authorization },
      })

    /** Runs a request that must fail and checks that no table it could write to changed. */
    async function withoutWrites(send: () => Promise<LightMyRequestResponse>) {
      const tables = ['resources', 'integrations', 'resource_owners', 'resource_teams'] as const
      const before = await Promise.all(tables.map((t) => countRows(h, t)))
      const response = await send()
      assert.deepEqual(await Promise.all(tables.map((t) => countRows(h, t))), before, 'a failed request wrote rows')
      return response
    }

    /** The reference's create example with real ids of this workspace and no parent. */
    async function seedBody() {
      return {
        title: 'Sample Title',
        integration: await makeIntegration(h),
        description: 'This is a description for a sample table.',
        entity_type: 'glossary',
        definition: '\\n# Castae illa\\n\\n## Finemque aequore\\n\\nLorem markdownum motus',
        pii: false,
        verified: true,
        published: true,
        teams: [await makeTeam(h), await makeTeam(h)],
        owners: [await makeUser(h), await makeUser(h)],
        owners_groups: [await makeGroup(h)],
        collections: [await makeResource(h, { entityType: 'collection' })],
        tags: [await makeTag(h), await makeTag(h)],
        subscribers: [await makeUser(h)],
      }
    }

    describe('POST /database/databases', () => {
      test('creates a database from the reference example body, whatever entity_type says', async () => {
        const body = await seedBody()
        const response = await post(body)
        assert.equal(response.statusCode, 201, response.body)
        const created = response.json()
        assert.equal(created.entity_type, 'database')
        for (const field of [
          'title',
          'integration',
          'description',
          'definition',
          'pii',
          'verified',
          'published',
          'teams',
          'owners',
          'owners_groups',
          'collections',
          'tags',
          'subscribers',
        ] as const) {
          assert.deepEqual(created[field], body[field], field)
        }
        assert.equal(created.parent, null)
        assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      })

      test('answers every field of the reference list example, in its order', async () => {
        const response = await post(await seedBody())
        assert.equal(response.statusCode, 201, response.body)
        assertSeedShape(response.json())
      })

      test('computes title_full, title_cased, children_count, definition_version and search_metadata', async () => {
        const created = (await post(await seedBody())).json()
        assert.equal(created.title_full, 'Sample Title')
        assert.equal(created.title_cased, 'sampleTitle')
        assert.equal(created.children_count, 0)
        assert.equal(created.definition_version, 1)
        assert.deepEqual(created.search_metadata, { database: 'Sample Title', schema: null, type: 'database' })
      })

      test('records the caller as multiplayer and last modifier, with permissions and workspace', async () => {
        const created = (await post(await seedBody())).json()
        assert.deepEqual(created.multiplayers, [h.adminUserId])
        assert.equal(created.multiplayer_last_modified_by, h.adminUserId)
        assert.equal(created.multiplayer_last_modified, created.updated_at)
        assert.deepEqual(created.current_user_permissions, { read: true, write: true, execute: true })
        assert.equal(created.workspace_id, h.workspaceId)
        assert.equal(created.archived, false)
        assert.equal(created.archived_at, null)
        assert.equal(created.created_at, created.updated_at)
        assertTimestamps(created)
      })

      test('stores what it answers: a GET returns the same resource', async () => {
        const created = (await post(await seedBody())).json()
        const fetched = await get(created.id)
        assert.equal(fetched.statusCode, 200)
        assert.deepEqual(fetched.json(), created)
      })

      test('keeps every id list in the order given and drops duplicates', async () => {
        const integration = await makeIntegration(h)
        const [u1, u2, u3] = [await makeUser(h), await makeUser(h), await makeUser(h)]
        const [t1, t2] = [await makeTag(h), await makeTag(h)]
        const [team1, team2] = [await makeTeam(h), await makeTeam(h)]
        const group = await makeGroup(h)
        const collection = await makeResource(h, { entityType: 'collection' })
        const response = await post({
          title: 'Ordered',
          integration,
          owners: [u3, u1, u3, u2, u1],
          tags: [t2, t1, t2],
          teams: [team2, team1, team2],
          owners_groups: [group, group],
          collections: [collection, collection],
          subscribers: [u2, u2, u1],
        })
        assert.equal(response.statusCode, 201, response.body)
        const created = response.json()
        assert.deepEqual(created.owners, [u3, u1, u2])
        assert.deepEqual(created.tags, [t2, t1])
        assert.deepEqual(created.teams, [team2, team1])
        assert.deepEqual(created.owners_groups, [group])
        assert.deepEqual(created.collections, [collection])
        assert.deepEqual(created.subscribers, [u2, u1])
        assert.deepEqual((await get(created.id)).json().owners, [u3, u1, u2])
      })

      test('accepts upper-case ids and answers them in lower case, without duplicates', async () => {
        const integration = await makeIntegration(h)
        const [u1, u2] = [await makeUser(h), await makeUser(h)]
        const response = await post({
          title: 'Upper',
          integration: integration.toUpperCase(),
          owners: [u1.toUpperCase(), u2, u1],
        })
        assert.equal(response.statusCode, 201, response.body)
        assert.equal(response.json().integration, integration)
        assert.deepEqual(response.json().owners, [u1, u2])
      })

      test('puts the database in the default team when teams is empty or absent', async () => {
        const integration = await makeIntegration(h)
        const absent = await post({ title: 'No teams', integration })
        const empty = await post({ title: 'Empty teams', integration, teams: [] })
        assert.equal(absent.statusCode, 201, absent.body)
        assert.equal(empty.statusCode, 201, empty.body)
        assert.deepEqual(absent.json().teams, [h.defaultTeamId])
        assert.deepEqual(empty.json().teams, [h.defaultTeamId])
      })

      test('publishes by default and starts with empty lists and zero usage', async () => {
        const created = await makeDatabase(h)
        assert.equal(created.published, true)
        assert.equal(created.pii, false)
        assert.equal(created.verified, false)
        assert.equal(created.description, '')
        for (const field of ['owners', 'owners_groups', 'collections', 'tags', 'subscribers', 'bookmarked_by']) {
          assert.deepEqual(created[field], [], field)
        }
        assert.equal(created.internal_usage, 0)
        assert.equal(created.external_usage, 0)
        assert.equal(created.row_count, null)
        assert.deepEqual(created.display_metadata, {})
        const unpublished = await makeDatabase(h, { published: false })
        assert.equal(unpublished.published, false)
      })

      test('ignores unknown and read-only fields', async () => {
        const integration = await makeIntegration(h)
        const other = await makeWorkspace(h)
        const id = randomUUID()
        const response = await post({
          title: 'Read-only',
          integration,
          id,
          workspace_id: other.workspaceId,
          created_at: '2001-01-01T00:00:00.000Z',
          children_count: 7,
          title_full: 'Somewhere.Else',
          definition_version: 9,
          no_such_field: true,
        })
        assert.equal(response.statusCode, 201, response.body)
        const created = response.json()
        assert.notEqual(created.id, id)
        assert.equal(created.workspace_id, h.workspaceId)
        assert.notEqual(created.created_at, '2001-01-01T00:00:00.000Z')
        assert.equal(created.children_count, 0)
        assert.equal(created.title_full, 'Read-only')
        assert.equal(created.definition_version, 1)
        assert.equal('no_such_field' in created, false)
      })

      describe('refuses invalid bodies with 400, writing nothing', () => {
        let ids: { integration: string; user: string; tag: string; foreignIntegration: string; database: string }
        before(async () => {
          const other = await makeWorkspace(h)
          const foreign = await h.request({
            method: 'POST',
            url: '/api/v1/integration/integrations',
            headers: { authorization: other.authorization },
            body: { name: 'Theirs', type: 'postgres' },
          })
          assert.equal(foreign.statusCode, 201, foreign.body)
          const integration = await makeIntegration(h)
          ids = {
            integration,
            user: await makeUser(h),
            tag: await makeTag(h),
            foreignIntegration: foreign.json().id,
            database: (await makeDatabase(h, { integration })).id,
          }
        })

        const cases: { what: string; body: () => Record<string, unknown>; field: string; message?: RegExp }[] = [
          {
            what: 'a missing title',
            body: () => ({ integration: ids.integration }),
            field: 'title',
            message: /required/,
          },
          { what: 'an empty title', body: () => ({ title: '', integration: ids.integration }), field: 'title' },
          {
            what: 'a title over 1024 characters',
            body: () => ({ title: 'x'.repeat(1025), integration: ids.integration }),
            field: 'title',
          },
          { what: 'a missing integration', body: () => ({ title: 'T' }), field: 'integration', message: /required/ },
          {
            what: 'an unknown integration',
            body: () => ({ title: 'T', integration: randomUUID() }),
            field: 'integration',
            message: /integration/,
          },
          {
            what: "another workspace's integration",
            body: () => ({ title: 'T', integration: ids.foreignIntegration }),
            field: 'integration',
          },
          {
            what: 'an unknown owner as the second element',
            body: () => ({ title: 'T', integration: ids.integration, owners: [ids.user, randomUUID()] }),
            field: 'owners[1]',
          },
          {
            what: 'an unknown tag',
            body: () => ({ title: 'T', integration: ids.integration, tags: [randomUUID()] }),
            field: 'tags[0]',
          },
          {
            what: 'an unknown team',
            body: () => ({ title: 'T', integration: ids.integration, teams: [randomUUID()] }),
            field: 'teams[0]',
          },
          {
            what: 'an unknown group',
            body: () => ({ title: 'T', integration: ids.integration, owners_groups: [randomUUID()] }),
            field: 'owners_groups[0]',
          },
          {
            what: 'a collection that is not a collection',
            body: () => ({ title: 'T', integration: ids.integration, collections: [ids.database] }),
            field: 'collections[0]',
          },
          {
            what: 'an unknown subscriber',
            body: () => ({ title: 'T', integration: ids.integration, subscribers: [ids.user, ids.user, randomUUID()] }),
            field: 'subscribers[2]',
          },
          {
            what: 'a parent',
            body: () => ({ title: 'T', integration: ids.integration, parent: ids.database }),
            field: 'parent',
            message: /database.*(no parent|top)|parent.*null/,
          },
          {
            what: 'a title that is a number',
            body: () => ({ title: 5, integration: ids.integration }),
            field: 'title',
            message: /string/,
          },
          {
            what: 'pii that is a string',
            body: () => ({ title: 'T', integration: ids.integration, pii: 'yes' }),
            field: 'pii',
            message: /boolean/,
          },
          {
            what: 'owners that is a string',
            body: () => ({ title: 'T', integration: ids.integration, owners: 'x' }),
            field: 'owners',
            message: /array/,
          },
          {
            what: 'a malformed UUID in a list',
            body: () => ({ title: 'T', integration: ids.integration, tags: [ids.tag, 'not-a-uuid'] }),
            field: 'tags[1]',
            message: /UUID/,
          },
        ]
        for (const c of cases) {
          test(`returns 400 naming ${c.field} for ${c.what}`, async () => {
            const response = await withoutWrites(() => post(c.body()))
            assertFieldError(response, c.field, c.message)
          })
        }

        test('lists every offending field at once', async () => {
          const response = await withoutWrites(() => post({ title: 5, integration: 'nope', pii: 'yes' }))
          const body = assertFieldError(response, 'title')
          assert.deepEqual(body.errors?.map((e) => e.field).sort(), ['integration', 'pii', 'title'])
        })

        test('returns 400 MALFORMED_JSON for a body that is not JSON', async () => {
          const response = await withoutWrites(() =>
            h.request({
              method: 'POST',
              url: DATABASES,
              headers: { 'content-type': 'application/json' },
              body: '{"title": "T", "integration": ',
            }),
          )
          assertErrorBody(response, 400, 'MALFORMED_JSON')
        })

        for (const [what, payload] of [
          ['a JSON array', '[{"title": "T"}]'],
          ['a JSON string', '"Sample Title"'],
          ['JSON null', 'null'],
        ]) {
          test(`returns 400 for ${what} as the body`, async () => {
            const response = await withoutWrites(() =>
              h.request({
                method: 'POST',
                url: DATABASES,
                headers: { 'content-type': 'application/json' },
                body: payload,
              }),
            )
            assert.equal(response.statusCode, 400, response.body)
            assertErrorBody(response, 400, response.json().code)
          })
        }

        test('returns 415 UNSUPPORTED_MEDIA_TYPE for a text/plain body', async () => {
          const response = await withoutWrites(() =>
            h.request({
              method: 'POST',
              url: DATABASES,
              headers: { 'content-type': 'text/plain' },
              body: JSON.stringify({ title: 'T', integration: ids.integration }),
            }),
          )
          assertErrorBody(response, 415, 'UNSUPPORTED_MEDIA_TYPE')
        })

        test('returns 413 PAYLOAD_TOO_LARGE for a 2 MB body', async () => {
          const response = await withoutWrites(() =>
            h.request({
              method: 'POST',
              url: DATABASES,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                title: 'T',
                integration: ids.integration,
                description: 'x'.repeat(2 * 1024 * 1024),
              }),
            }),
          )
          assertErrorBody(response, 413, 'PAYLOAD_TOO_LARGE')
        })
      })
    })

    describe('GET /database/databases', () => {
      const TOTAL = 120
      let integration: string
      let otherIntegration: string
      let titles: string[]
      let otherIds: string[]
      before(async () => {
        integration = await makeIntegration(h)
        otherIntegration = await makeIntegration(h)
        titles = Array.from({ length: TOTAL }, (_, i) => `Database ${String(i).padStart(3, '0')}`)
        // Made out of title order, so that the order of the answer is the list's own.
        for (let i = 0; i < TOTAL; i++) {
          const title = titles[(i * 7) % TOTAL] as string
          await makeResource(h, { entityType: 'database', title, integrationId: integration })
        }
        otherIds = [
          await makeResource(h, { entityType: 'database', title: 'Database 000', integrationId: otherIntegration }),
          await makeResource(h, { entityType: 'database', title: 'Elsewhere', integrationId: otherIntegration }),
        ]
      })

      for (const path of [`${DATABASES}/`, '/database/databases']) {
        test(`pages 120 databases as 50, 50 and 20 with absolute links back to ${path}`, async () => {
          const seen: string[] = []
          for (const [page, size] of [
            [1, 50],
            [2, 50],
            [3, 20],
          ] as const) {
            const response = await h.request({
              method: 'GET',
              url: `${path}?integration_id=${integration}&page=${page}`,
            })
            assert.equal(response.statusCode, 200, response.body)
            const body = response.json()
            assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
            assert.equal(body.count, TOTAL)
            assert.equal(body.total_pages, 3)
            assert.equal(body.results.length, size)
            assert.deepEqual(body.meta, {
              page,
              previous_page: page === 1 ? null : page - 1,
              next_page: page === 3 ? null : page + 1,
            })
            for (const [link, target] of [
              [body.links.next, body.meta.next_page],
              [body.links.previous, body.meta.previous_page],
            ]) {
              if (target === null) {
                assert.equal(link, null)
                continue
              }
              assert.match(link, /^https?:\/\//)
              const url = new URL(link)
              assert.equal(url.pathname, path)
              assert.deepEqual([...url.searchParams.keys()].sort(), ['integration_id', 'page'])
              assert.equal(url.searchParams.get('integration_id'), integration)
              assert.equal(url.searchParams.get('page'), String(target))
            }
            seen.push(...body.results.map((r: Resource) => r.title))
          }
          assert.deepEqual(seen, titles)
        })
      }

      test('keeps page_size in the links and pages by it', async () => {
        const response = await list(`integration_id=${integration}&page_size=10&page=2`)
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.equal(body.results.length, 10)
        assert.equal(body.total_pages, 12)
        assert.deepEqual(
          body.results.map((r: Resource) => r.title),
          titles.slice(10, 20),
        )
        const next = new URL(body.links.next)
        assert.equal(next.searchParams.get('page_size'), '10')
        assert.equal(next.searchParams.get('page'), '3')
        assert.equal(next.searchParams.get('integration_id'), integration)
        const full = await list(`integration_id=${integration}&page_size=100`)
        assert.equal(full.json().results.length, 100)
        assert.equal(full.json().total_pages, 2)
      })

      for (const pageSize of ['1001', '0', '10000']) {
        test(`returns 400 for page_size=${pageSize}`, async () => {
          assertFieldError(await list(`integration_id=${integration}&page_size=${pageSize}`), 'page_size')
        })
      }

      for (const page of ['4', '0', 'abc', '-1']) {
        test(`returns 404 Invalid page. for page=${page}`, async () => {
          const response = await list(`integration_id=${integration}&page=${page}`)
          const body = assertErrorBody(response, 404, 'INVALID_PAGE')
          assert.equal(body.detail, 'Invalid page.')
        })
      }

      test('orders by title, then by id', async () => {
        const fresh = await makeIntegration(h)
        const make = (title: string) => makeResource(h, { entityType: 'database', title, integrationId: fresh })
        const c = await make('c')
        const same = [await make('same'), await make('same'), await make('same')]
        const a = await make('a')
        const b = await make('b')
        const response = await list(`integration_id=${fresh}`)
        assert.deepEqual(
          response.json().results.map((r: Resource) => r.id),
          [a, b, c, ...same.sort()],
        )
      })

      test('filters on the exact title', async () => {
        const suffix = randomUUID()
        const title = `Sales ${suffix}`
        const fresh = await makeIntegration(h)
        const make = (t: string, integrationId = fresh) =>
          makeResource(h, { entityType: 'database', title: t, integrationId })
        const wanted = [await make(title), await make(title, integration)]
        await make(`sales ${suffix}`)
        await make(`${title} 2`)
        await make(`Sales ${suffix.slice(0, 8)}`)
        const response = await list(`title=${encodeURIComponent(title)}`)
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(response.json().count, 2)
        assert.deepEqual(
          response
            .json()
            .results.map((r: Resource) => r.id)
            .sort(),
          [...wanted].sort(),
        )
        const both = await list(`title=${encodeURIComponent(title)}&integration_id=${fresh}`)
        assert.deepEqual(
          both.json().results.map((r: Resource) => r.id),
          [wanted[0]],
        )
      })

      test('lists only the databases of the given integration', async () => {
        const response = await list(`integration_id=${otherIntegration}`)
        assert.equal(response.json().count, 2)
        assert.deepEqual(
          response.json().results.map((r: Resource) => r.id),
          otherIds,
        )
      })

      test('lists databases only, not their schemas or other resources', async () => {
        const fresh = await makeIntegration(h)
        const database = await makeDatabase(h, { integration: fresh })
        await makeResource(h, { entityType: 'schema', parentId: database.id })
        await makeResource(h, { entityType: 'collection', integrationId: fresh })
        const response = await list(`integration_id=${fresh}`)
        assert.deepEqual(
          response.json().results.map((r: Resource) => r.id),
          [database.id],
        )
        assert.equal(response.json().results[0].children_count, 1)
      })

      test('answers an empty list as page 1 of 1 with count 0', async () => {
        const fresh = await makeIntegration(h)
        const response = await list(`integration_id=${fresh}`)
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), {
          links: { next: null, previous: null },
          meta: { page: 1, previous_page: null, next_page: null },
          count: 0,
          total_pages: 1,
          results: [],
        })
      })

      test('answers every field of the reference example on each result, with millisecond timestamps', async () => {
        const response = await list(`integration_id=${integration}&page_size=3`)
        for (const result of response.json().results) {
          assertSeedShape(result)
          assert.match(result.created_at, ISO_MS)
          assert.match(result.updated_at, ISO_MS)
        }
        const made = await makeDatabase(h, { integration: otherIntegration, title: 'Zzz last' })
        const last = (await list(`integration_id=${otherIntegration}`)).json().results.at(-1)
        assert.equal(last.id, made.id)
        assertSeedShape(last)
        assertTimestamps(last)
      })

      test('marks the list as deprecated with Deprecation and Link headers', async () => {
        const response = await list(`integration_id=${otherIntegration}`)
        assert.equal(response.headers.deprecation, 'true')
        assert.match(String(response.headers.link), /^<[^>]*resource[^>]*>;\s*rel="?[a-z-]+"?/)
      })

      test('returns 400 naming integration_id when it is not a UUID', async () => {
        assertFieldError(await list('integration_id=abc'), 'integration_id')
      })
    })

    describe('GET /database/databases/{id}', () => {
      test('returns the database with Deprecation and Link headers', async () => {
        const created = await makeDatabase(h)
        const response = await get(created.id)
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), created)
        assertSeedShape(response.json())
        assert.equal(response.headers.deprecation, 'true')
        assert.match(String(response.headers.link), /^<[^>]*resource[^>]*>;\s*rel="?[a-z-]+"?/)
      })

      test('answers at every alias of the path', async () => {
        const created = await makeDatabase(h)
        for (const url of [
          `/api/v1/database/databases/${created.id}/`,
          `/database/databases/${created.id}`,
          `/database/databases/${created.id}/`,
        ]) {
          const response = await h.request({ method: 'GET', url })
          assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
          assert.equal(response.json().id, created.id)
        }
      })

      test('counts its direct children', async () => {
        const created = await makeDatabase(h)
        const schema = await makeResource(h, { entityType: 'schema', parentId: created.id })
        await makeResource(h, { entityType: 'schema', parentId: created.id })
        await makeResource(h, { entityType: 'table', parentId: schema })
        assert.equal((await get(created.id)).json().children_count, 2)
      })

      test('returns 404 for an id that does not exist', async () => {
        assertErrorBody(await get(randomUUID()), 404, 'NOT_FOUND')
      })

      test('returns 404 for a malformed id', async () => {
        assertErrorBody(await get('abc'), 404, 'NOT_FOUND')
      })

      test('returns 404 for a resource that is not a database', async () => {
        const database = await makeDatabase(h)
        const schema = await makeResource(h, { entityType: 'schema', parentId: database.id })
        assertErrorBody(await get(schema), 404, 'NOT_FOUND')
      })

      test("returns 404 for another workspace's database", async () => {
        const other = await makeWorkspace(h)
        const theirs = await makeResource(h, { entityType: 'database', workspaceId: other.workspaceId }, { teams: [] })
        assertErrorBody(await get(theirs), 404, 'NOT_FOUND')
      })
    })

    describe('PATCH /database/databases/{id}', () => {
      test('replaces each list, keeping the order given and dropping duplicates', async () => {
        const [u1, u2, u3] = [await makeUser(h), await makeUser(h), await makeUser(h)]
        const [t1, t2, t3] = [await makeTag(h), await makeTag(h), await makeTag(h)]
        const [team1, team2] = [await makeTeam(h), await makeTeam(h)]
        const collection = await makeResource(h, { entityType: 'collection' })
        const group = await makeGroup(h)
        const created = await makeDatabase(h, { owners: [u1, u2], tags: [t1], teams: [team1] })
        const response = await patch(created.id, {
          owners: [u3, u1, u3],
          tags: [t3, t2, t3, t1],
          teams: [team2, team1, team2],
          collections: [collection, collection],
          owners_groups: [group],
          subscribers: [u2, u2],
        })
        assert.equal(response.statusCode, 200, response.body)
        const patched = response.json()
        assert.deepEqual(patched.owners, [u3, u1])
        assert.deepEqual(patched.tags, [t3, t2, t1])
        assert.deepEqual(patched.teams, [team2, team1])
        assert.deepEqual(patched.collections, [collection])
        assert.deepEqual(patched.owners_groups, [group])
        assert.deepEqual(patched.subscribers, [u2])
        assert.deepEqual((await get(created.id)).json(), patched)
        const emptied = await patch(created.id, { owners: [], tags: [] })
        assert.deepEqual(emptied.json().owners, [])
        assert.deepEqual(emptied.json().tags, [])
        assert.deepEqual(emptied.json().teams, [team2, team1])
      })

      test('changes scalar fields and leaves the others alone', async () => {
        const created = await makeDatabase(h, { description: 'before', pii: false })
        const response = await patch(created.id, { description: 'after', pii: true, url: 'https://example.com/db' })
        assert.equal(response.statusCode, 200, response.body)
        const patched = response.json()
        assert.equal(patched.description, 'after')
        assert.equal(patched.pii, true)
        assert.equal(patched.url, 'https://example.com/db')
        assert.equal(patched.title, created.title)
        assert.equal(patched.verified, created.verified)
        assert.equal(patched.created_at, created.created_at)
      })

      test('moves updated_at and multiplayer_last_modified on a change', async () => {
        const created = await makeDatabase(h)
        await sleep(5)
        const patched = (await patch(created.id, { description: 'changed' })).json()
        assert.ok(Date.parse(patched.updated_at) > Date.parse(created.updated_at), patched.updated_at)
        assert.equal(patched.multiplayer_last_modified, patched.updated_at)
        assertTimestamps(patched)
      })

      test('bumps definition_version only when the definition changes', async () => {
        const created = await makeDatabase(h, { definition: '# One' })
        assert.equal(created.definition_version, 1)
        assert.equal((await patch(created.id, { definition: '# Two' })).json().definition_version, 2)
        assert.equal((await patch(created.id, { definition: '# Two' })).json().definition_version, 2)
        assert.equal((await patch(created.id, { description: 'not the definition' })).json().definition_version, 2)
        assert.equal((await patch(created.id, { definition: '# Three' })).json().definition_version, 3)
      })

      test('changes nothing, updated_at included, when every value equals the stored one', async () => {
        const owner = await makeUser(h)
        const created = await makeDatabase(h, { description: 'same', owners: [owner], pii: true })
        await sleep(5)
        const response = await patch(created.id, {
          title: created.title,
          description: 'same',
          pii: true,
          owners: [owner],
          teams: created.teams,
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), created)
        assert.deepEqual((await patch(created.id, {})).json(), created)
      })

      test('accepts integration and parent repeated with their current values', async () => {
        const created = await makeDatabase(h)
        const withIntegration = await patch(created.id, { integration: created.integration.toUpperCase() })
        assert.equal(withIntegration.statusCode, 200, withIntegration.body)
        const withParent = await patch(created.id, { parent: null })
        assert.equal(withParent.statusCode, 200, withParent.body)
        assert.deepEqual(withParent.json(), created)
      })

      test('sets archived_at when archived and clears it when unarchived', async () => {
        const created = await makeDatabase(h)
        const archived = (await patch(created.id, { archived: true })).json()
        assert.equal(archived.archived, true)
        assert.match(String(archived.archived_at), ISO_MS)
        const restored = (await patch(created.id, { archived: false })).json()
        assert.equal(restored.archived, false)
        assert.equal(restored.archived_at, null)
      })

      test('adds another user who changes it to multiplayers', async () => {
        const editor = await makeUser(h, { role: 'editor' })
        const created = await makeDatabase(h)
        const response = await patch(created.id, { description: 'by the editor' }, await makeKey(h, editor))
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().multiplayers, [h.adminUserId, editor])
        assert.equal(response.json().multiplayer_last_modified_by, editor)
      })

      test('returns 400 naming integration when it would change', async () => {
        const created = await makeDatabase(h)
        const response = await withoutWrites(() => patch(created.id, { integration: randomUUID() }))
        assertFieldError(response, 'integration')
        const elsewhere = await makeIntegration(h)
        assertFieldError(await patch(created.id, { integration: elsewhere, description: 'x' }), 'integration')
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('returns 400 naming parent when it would change', async () => {
        const created = await makeDatabase(h)
        const other = await makeDatabase(h)
        assertFieldError(await patch(created.id, { parent: other.id, description: 'x' }), 'parent')
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('returns 400 for unknown ids and changes nothing', async () => {
        const owner = await makeUser(h)
        const created = await makeDatabase(h, { owners: [owner] })
        const response = await withoutWrites(() =>
          patch(created.id, {
            title: 'Renamed',
            definition: '# changed',
            owners: [owner, randomUUID()],
            tags: [randomUUID()],
          }),
        )
        const body = assertFieldError(response, 'owners[1]')
        assert.ok(
          body.errors?.some((e) => e.field === 'tags[0]'),
          response.body,
        )
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('returns 400 for wrong types and malformed ids', async () => {
        const created = await makeDatabase(h)
        assertFieldError(await patch(created.id, { title: 5 }), 'title')
        assertFieldError(await patch(created.id, { title: '' }), 'title')
        assertFieldError(await patch(created.id, { verified: 'true' }), 'verified')
        assertFieldError(await patch(created.id, { owners: ['nope'] }), 'owners[0]')
        assert.deepEqual((await get(created.id)).json(), created)
      })

      test('renaming a database updates title_full and search names of everything under it', async () => {
        const created = await makeDatabase(h, { title: 'Old Name' })
        const schema = await makeResource(h, { entityType: 'schema', title: 'Sales', parentId: created.id })
        const table = await makeResource(h, { entityType: 'table', title: 'Orders', parentId: schema })
        const column = await makeResource(h, { entityType: 'column', title: 'amount', parentId: table })
        const response = await patch(created.id, { title: 'New Name' })
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(response.json().title_full, 'New Name')
        assert.equal(response.json().title_cased, 'newName')
        assert.deepEqual(response.json().search_metadata, { database: 'New Name', schema: null, type: 'database' })
        const rows = await h.store.db
          .selectFrom('resources')
          .select(['id', 'title_full', 'search_database', 'search_schema'])
          .where('id', 'in', [schema, table, column])
          .execute()
        const byId = new Map(rows.map((r) => [r.id, r]))
        assert.deepEqual(byId.get(schema), {
          id: schema,
          title_full: 'New Name.Sales',
          search_database: 'New Name',
          search_schema: 'Sales',
        })
        assert.deepEqual(byId.get(table), {
          id: table,
          title_full: 'New Name.Sales.Orders',
          search_database: 'New Name',
          search_schema: 'Sales',
        })
        assert.deepEqual(byId.get(column), {
          id: column,
          title_full: 'New Name.Sales.Orders.amount',
          search_database: 'New Name',
          search_schema: 'Sales',
        })
      })

      test('ignores read-only and unknown fields', async () => {
        const created = await makeDatabase(h)
        const response = await patch(created.id, {
          id: randomUUID(),
          workspace_id: randomUUID(),
          created_at: '2001-01-01T00:00:00.000Z',
          children_count: 9,
          no_such_field: 1,
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), created)
      })

      test('returns 404 for a missing id, a malformed id and a resource that is not a database', async () => {
        const database = await makeDatabase(h)
        const schema = await makeResource(h, { entityType: 'schema', parentId: database.id })
        for (const id of [randomUUID(), 'abc', schema]) {
          assertErrorBody(await patch(id, { description: 'x' }), 404, 'NOT_FOUND')
        }
      })
    })

    describe('DELETE /database/databases/{id}', () => {
      test('returns 204 with an empty body, after which the database is 404', async () => {
        const created = await makeDatabase(h)
        const response = await h.request({ method: 'DELETE', url: `${DATABASES}/${created.id}` })
        assert.equal(response.statusCode, 204)
        assert.equal(response.body, '')
        assertErrorBody(await get(created.id), 404, 'NOT_FOUND')
      })

      test('removes the whole subtree and its list rows, and nothing else', async () => {
        const owner = await makeUser(h)
        const created = await makeDatabase(h, { owners: [owner] })
        const kept = await makeDatabase(h, { integration: created.integration, owners: [owner] })
        const schema = await makeResource(h, { entityType: 'schema', parentId: created.id }, { owners: [owner] })
        const table = await makeResource(h, { entityType: 'table', parentId: schema })
        const column = await makeResource(h, { entityType: 'column', parentId: table })
        const keptSchema = await makeResource(h, { entityType: 'schema', parentId: kept.id })
        const before = {
          resources: await countRows(h, 'resources'),
          teams: await countRows(h, 'resource_teams'),
          owners: await countRows(h, 'resource_owners'),
        }
        const response = await h.request({ method: 'DELETE', url: `${DATABASES}/${created.id}/` })
        assert.equal(response.statusCode, 204, response.body)
        assert.deepEqual(
          {
            resources: await countRows(h, 'resources'),
            teams: await countRows(h, 'resource_teams'),
            owners: await countRows(h, 'resource_owners'),
          },
          { resources: before.resources - 4, teams: before.teams - 4, owners: before.owners - 2 },
        )
        const left = await h.store.db
          .selectFrom('resources')
          .select('id')
          .where('id', 'in', [created.id, schema, table, column, kept.id, keptSchema])
          .execute()
        assert.deepEqual(left.map((r) => r.id).sort(), [kept.id, keptSchema].sort())
        assert.deepEqual((await get(kept.id)).json().owners, [owner])
      })

      test('returns 404 for a missing id, a malformed id and a resource that is not a database', async () => {
        const database = await makeDatabase(h)
        const schema = await makeResource(h, { entityType: 'schema', parentId: database.id })
        for (const id of [randomUUID(), 'abc', schema]) {
          const response = await withoutWrites(() => h.request({ method: 'DELETE', url: `${DATABASES}/${id}` }))
          assertErrorBody(response, 404, 'NOT_FOUND')
        }
      })

      test('returns 403 to an editor and deletes nothing', async () => {
        const editor = await makeUser(h, { role: 'editor' })
        const created = await makeDatabase(h)
        const authorization = await makeKey(h, editor)
        const response = await withoutWrites(() =>
          h.request({ method: 'DELETE', url: `${DATABASES}/${created.id}`, headers: { authorization } }),
        )
        assertErrorBody(response, 403, 'PERMISSION_DENIED')
        assert.equal((await get(created.id)).statusCode, 200)
      })
    })

    describe('timestamps', () => {
      test('are ISO 8601 UTC with milliseconds and Z in every answer', async () => {
        const created = await makeDatabase(h)
        assertTimestamps(created)
        assertTimestamps((await get(created.id)).json())
        const listed = (await list(`integration_id=${created.integration}`)).json().results[0]
        assertTimestamps(listed)
        const patched = (
          await patch(created.id, { archived: true, external_updated_at: '2024-03-01T10:00:00Z' })
        ).json()
        assertTimestamps(patched)
        assert.match(patched.archived_at, ISO_MS)
        assert.equal(patched.external_updated_at, '2024-03-01T10:00:00.000Z')
        const row = await h.store.db
          .selectFrom('resources')
          .select('created_at')
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow()
        assert.equal(new Date(row.created_at).toISOString(), created.created_at)
      })
    })

    describe('access', () => {
      test('answers 401 without a key and with an unknown key', async () => {
        const created = await makeDatabase(h)
        const missing = await h.request({
          method: 'GET',
          url: `${DATABASES}/${created.id}`,
          headers: { authorization: undefined },
        })
        assertErrorBody(missing, 401, 'NOT_AUTHENTICATED')
        assert.equal(missing.headers['www-authenticate'], 'Bearer')
        const unknown = await get(created.id, 'Bearer docent_not-a-real-key')
        assertErrorBody(unknown, 401, 'AUTHENTICATION_FAILED')
      })

      test("hides a database from another workspace's key: 404 on it and count 0 in lists", async () => {
        const created = await makeDatabase(h)
        const other = await makeWorkspace(h)
        assertErrorBody(await get(created.id, other.authorization), 404, 'NOT_FOUND')
        assertErrorBody(await patch(created.id, { title: 'Mine now' }, other.authorization), 404, 'NOT_FOUND')
        const deleted = await h.request({
          method: 'DELETE',
          url: `${DATABASES}/${created.id}`,
          headers: { authorization: other.authorization },
        })
        assertErrorBody(deleted, 404, 'NOT_FOUND')
        assert.equal((await list(`integration_id=${created.integration}`, other.authorization)).json().count, 0)
        assert.equal((await list('', other.authorization)).json().count, 0)
        assert.deepEqual((await get(created.id)).json(), created)
      })
    })
  })
}
