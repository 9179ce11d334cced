import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeResource,
  makeTeam,
  makeUser,
  startHarness,
} from '../helpers.ts'

// Issue 4's acceptance matrix: every role × where a resource sits × what the caller tries (CONTRACT §7).

type Role = 'admin' | 'editor' | 'viewer' | 'guest'
type Place =
  | 'its team (published)'
  | 'its team (draft)'
  | 'an open team it is not in'
  | 'a private team it is not in'
  | 'the default team General'
type TeamName = 'own' | 'other' | 'private' | 'general'

const ROLES: Role[] = ['admin', 'editor', 'viewer', 'guest']

/** Where each kind of resource sits. Every user is in `own`; non-guests are in General too; nobody in the others. */
const PLACES: Record<Place, { team: TeamName; published: boolean }> = {
  'its team (published)': { team: 'own', published: true },
  'its team (draft)': { team: 'own', published: false },
  'an open team it is not in': { team: 'other', published: true },
  'a private team it is not in': { team: 'private', published: true },
  'the default team General': { team: 'general', published: true },
}

interface Outcome {
  role: Role
  place: Place
  /** Listed by GET /resource/catalog and GET /database/databases. */
  listed: boolean
  get: 200 | 404
  /** POST /database/databases with the place's team and published flag; 400 names teams[0]. */
  create: 201 | 400 | 403
  patch: 200 | 403 | 404
  delete: 204 | 403 | 404
}

// biome-ignore format: a table reads best as a table
const MATRIX: Outcome[] = [
  { role: 'admin',  place: 'its team (published)',        listed: true,  get: 200, create: 201, patch: 200, delete: 204 },
  { role: 'admin',  place: 'its team (draft)',            listed: true,  get: 200, create: 201, patch: 200, delete: 204 },
  { role: 'admin',  place: 'an open team it is not in',   listed: true,  get: 200, create: 201, patch: 200, delete: 204 },
  { role: 'admin',  place: 'a private team it is not in', listed: true,  get: 200, create: 201, patch: 200, delete: 204 },
  { role: 'admin',  place: 'the default team General',    listed: true,  get: 200, create: 201, patch: 200, delete: 204 },
  { role: 'editor', place: 'its team (published)',        listed: true,  get: 200, create: 201, patch: 200, delete: 403 },
  { role: 'editor', place: 'its team (draft)',            listed: true,  get: 200, create: 201, patch: 200, delete: 403 },
  { role: 'editor', place: 'an open team it is not in',   listed: false, get: 404, create: 400, patch: 404, delete: 404 },
  { role: 'editor', place: 'a private team it is not in', listed: false, get: 404, create: 400, patch: 404, delete: 404 },
  { role: 'editor', place: 'the default team General',    listed: true,  get: 200, create: 201, patch: 200, delete: 403 },
  { role: 'viewer', place: 'its team (published)',        listed: true,  get: 200, create: 403, patch: 403, delete: 403 },
  { role: 'viewer', place: 'its team (draft)',            listed: false, get: 404, create: 403, patch: 404, delete: 404 },
  { role: 'viewer', place: 'an open team it is not in',   listed: false, get: 404, create: 403, patch: 404, delete: 404 },
  { role: 'viewer', place: 'a private team it is not in', listed: false, get: 404, create: 403, patch: 404, delete: 404 },
  { role: 'viewer', place: 'the default team General',    listed: true,  get: 200, create: 403, patch: 403, delete: 403 },
  { role: 'guest',  place: 'its team (published)',        listed: true,  get: 200, create: 403, patch: 403, delete: 403 },
  { role: 'guest',  place: 'its team (draft)',            listed: false, get: 404, create: 403, patch: 404, delete: 404 },
  { role: 'guest',  place: 'an open team it is not in',   listed: false, get: 404, create: 403, patch: 404, delete: 404 },
  { role: 'guest',  place: 'a private team it is not in', listed: false, get: 404, create: 403, patch: 404, delete: 404 },
  { role: 'guest',  place: 'the default team General',    listed: false, get: 404, create: 403, patch: 404, delete: 404 },
]

const PERMISSIONS: Record<Role, { read: boolean; write: boolean; execute: boolean }> = {
  admin: { read: true, write: true, execute: true },
  editor: { read: true, write: true, execute: false },
  viewer: { read: true, write: false, execute: false },
  guest: { read: true, write: false, execute: false },
}

const CODES = { 400: 'VALIDATION_ERROR', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND' } as const

/** The two routes that work on one database: List Resources' own and the typed one. */
const ONE_RESOURCE_ROUTES = ['/api/v1/resource/all', '/api/v1/database/databases'] as const

const an = (role: Role) => (role === 'admin' || role === 'editor' ? `an ${role}` : `a ${role}`)
const sorted = (ids: string[]) => [...ids].sort()

function pathOf(absolute: string): string {
  const url = new URL(absolute)
  return `${url.pathname}${url.search}`
}

for (const { engine, skip } of ENGINES) {
  describe(`roles and team visibility on ${engine}`, { skip }, () => {
    let h: Harness
    const teams = {} as Record<TeamName, string>
    const keys = {} as Record<Role, string>
    const users = {} as Record<Role, string>
    /** Per role, an integration holding one database per place, never changed by the tests but for descriptions. */
    const fixtures = {} as Record<Role, { integration: string; ids: Record<Place, string> }>
    /** Where the create tests put their databases, and where the delete tests make theirs. */
    let scratchIntegration: string

    before(async () => {
      h = await startHarness(engine)
      teams.own = await makeTeam(h, { type: 'OPEN' })
      teams.other = await makeTeam(h, { type: 'OPEN' })
      teams.private = await makeTeam(h, { type: 'CLOSED' })
      teams.general = h.defaultTeamId
      for (const role of ROLES) {
        users[role] = await makeUser(h, { role, teamIds: [teams.own] })
        keys[role] = await makeKey(h, users[role])
        const integration = await makeIntegration(h)
        const ids = {} as Record<Place, string>
        for (const [place, { team, published }] of Object.entries(PLACES) as [Place, (typeof PLACES)[Place]][]) {
          ids[place] = (await makeDatabase(h, { integration, teams: [teams[team]], published, title: place })).id
        }
        fixtures[role] = { integration, ids }
      }
      scratchIntegration = await makeIntegration(h)
    })
    after(() => h?.close())

    const as = (role: Role) => ({ authorization: keys[role] })
    const adminGet = (id: string) => h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })

    /** Follows `links.next` from the first page to the last, checking the envelope of every page on the way. */
    async function walkPages(role: Role, firstUrl: string, expectedCount: number) {
      const expectedPages = Math.max(1, expectedCount)
      const seen: string[] = []
      let url: string | null = firstUrl
      let page = 1
      while (url !== null) {
        const response: LightMyRequestResponse = await h.request({ method: 'GET', url, headers: as(role) })
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
        const body = response.json()
        assert.equal(body.count, expectedCount, `count on page ${page} of ${url}`)
        assert.equal(body.total_pages, expectedPages, `total_pages on page ${page} of ${url}`)
        assert.equal(body.meta.page, page)
        assert.equal(body.results.length, expectedCount === 0 ? 0 : 1, `page ${page} holds one resource`)
        assert.equal(body.meta.previous_page, page === 1 ? null : page - 1)
        assert.equal(body.meta.next_page, page === expectedPages ? null : page + 1)
        assert.equal(body.links.previous === null, page === 1, `links.previous on page ${page}`)
        assert.equal(body.links.next === null, page === expectedPages, `links.next on page ${page}`)
        for (const resource of body.results) {
          seen.push(resource.id)
          assert.deepEqual(resource.current_user_permissions, PERMISSIONS[role])
        }
        url = body.links.next === null ? null : pathOf(body.links.next)
        page += 1
        assert.ok(page <= expectedPages + 1, 'more pages than resources')
      }
      const past = await h.request({
        method: 'GET',
        url: `${firstUrl}&page=${expectedPages + 1}`,
        headers: as(role),
      })
      assertErrorBody(past, 404, 'INVALID_PAGE')
      return seen
    }

    describe('list', () => {
      for (const role of ROLES) {
        const rows = MATRIX.filter((row) => row.role === role)

        test(`GET /resource/catalog gives ${an(role)} exactly what it may see, in count, pages and links`, async () => {
          const { ids } = fixtures[role]
          const visible = rows.filter((row) => row.listed).map((row) => ids[row.place])
          const filter = encodeURIComponent(JSON.stringify({ operator: 'in', field: 'id', value: Object.values(ids) }))
          const seen = await walkPages(role, `/api/v1/resource/catalog?filter=${filter}&page_size=1`, visible.length)
          assert.deepEqual(sorted(seen), sorted(visible))

          const whole = await h.request({
            method: 'GET',
            url: `/api/v1/resource/catalog?filter=${filter}`,
            headers: as(role),
          })
          assert.deepEqual(sorted(whole.json().results.map((r: { id: string }) => r.id)), sorted(visible))
        })

        test(`GET /database/databases gives ${an(role)} exactly what it may see, in count, pages and links`, async () => {
          const { ids, integration } = fixtures[role]
          const visible = rows.filter((row) => row.listed).map((row) => ids[row.place])
          const url = `/api/v1/database/databases?integration_id=${integration}&page_size=1`
          const seen = await walkPages(role, url, visible.length)
          assert.deepEqual(sorted(seen), sorted(visible))
        })

        test(`GET /resource/catalog?teams= gives ${an(role)} only what it may see of each team`, async () => {
          const { ids } = fixtures[role]
          const filter = encodeURIComponent(JSON.stringify({ operator: 'in', field: 'id', value: Object.values(ids) }))
          for (const team of ['own', 'other', 'private', 'general'] as const) {
            const expected = rows
              .filter((row) => row.listed && PLACES[row.place].team === team)
              .map((row) => ids[row.place])
            const response = await h.request({
              method: 'GET',
              url: `/api/v1/resource/catalog?teams=${teams[team]}&filter=${filter}`,
              headers: as(role),
            })
            assert.equal(response.statusCode, 200, response.body)
            assert.equal(response.json().count, expected.length, `team ${team}`)
            assert.deepEqual(
              sorted(response.json().results.map((r: { id: string }) => r.id)),
              sorted(expected),
              `team ${team}`,
            )
          }
        })
      }
    })

    describe('get', () => {
      for (const row of MATRIX) {
        test(`${an(row.role)}: GET of a resource in ${row.place} → ${row.get}`, async () => {
          const id = fixtures[row.role].ids[row.place]
          for (const route of ONE_RESOURCE_ROUTES) {
            const response = await h.request({ method: 'GET', url: `${route}/${id}`, headers: as(row.role) })
            if (row.get === 200) {
              assert.equal(response.statusCode, 200, `${route}: ${response.body}`)
              assert.equal(response.json().id, id)
              assert.deepEqual(response.json().current_user_permissions, PERMISSIONS[row.role], route)
            } else {
              assertErrorBody(response, 404, 'NOT_FOUND')
            }
          }
        })
      }
    })

    describe('create', () => {
      for (const row of MATRIX) {
        test(`${an(row.role)}: POST of a database in ${row.place} → ${row.create}`, async () => {
          const { team, published } = PLACES[row.place]
          const before = await countRows(h, 'resources')
          const response = await h.request({
            method: 'POST',
            url: '/api/v1/database/databases',
            headers: as(row.role),
            body: { title: `made by a ${row.role}`, integration: scratchIntegration, teams: [teams[team]], published },
          })
          if (row.create === 201) {
            assert.equal(response.statusCode, 201, response.body)
            const created = response.json()
            assert.deepEqual(created.teams, [teams[team]])
            assert.equal(created.published, published)
            assert.deepEqual(created.current_user_permissions, PERMISSIONS[row.role])
            assert.equal((await adminGet(created.id)).statusCode, 200)
            assert.equal(await countRows(h, 'resources'), before + 1)
            return
          }
          if (row.create === 400) {
            assertFieldError(response, 'teams[0]')
          } else {
            assertErrorBody(response, 403, 'PERMISSION_DENIED')
          }
          assert.equal(await countRows(h, 'resources'), before, 'a refused create wrote a resource')
        })
      }
    })

    describe('patch', () => {
      for (const row of MATRIX) {
        test(`${an(row.role)}: PATCH of a resource in ${row.place} → ${row.patch}`, async () => {
          const id = fixtures[row.role].ids[row.place]
          for (const route of ONE_RESOURCE_ROUTES) {
            const before = (await adminGet(id)).json()
            const description = `patched by a ${row.role} through ${route}`
            const response = await h.request({
              method: 'PATCH',
              url: `${route}/${id}`,
              headers: as(row.role),
              body: { description },
            })
            const after = (await adminGet(id)).json()
            if (row.patch === 200) {
              assert.equal(response.statusCode, 200, `${route}: ${response.body}`)
              assert.equal(response.json().description, description)
              assert.deepEqual(response.json().current_user_permissions, PERMISSIONS[row.role])
              assert.equal(after.description, description)
              assert.equal(after.published, PLACES[row.place].published, 'a PATCH of the description keeps published')
            } else {
              assertErrorBody(response, row.patch, CODES[row.patch])
              assert.deepEqual(after, before, `${route}: a refused PATCH changed the resource`)
            }
          }
        })
      }
    })

    describe('delete', () => {
      for (const row of MATRIX) {
        test(`${an(row.role)}: DELETE of a resource in ${row.place} → ${row.delete}`, async () => {
          const { team, published } = PLACES[row.place]
          for (const route of ONE_RESOURCE_ROUTES) {
            const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams[team]], published })
            const response = await h.request({ method: 'DELETE', url: `${route}/${id}`, headers: as(row.role) })
            if (row.delete === 204) {
              assert.equal(response.statusCode, 204, `${route}: ${response.body}`)
              assert.equal(response.body, '')
              assert.equal((await adminGet(id)).statusCode, 404, `${route}: still there after 204`)
            } else {
              assertErrorBody(response, row.delete, CODES[row.delete])
              assert.equal((await adminGet(id)).statusCode, 200, `${route}: gone after a refused DELETE`)
            }
          }
        })
      }
    })

    describe('what an editor may refer to', () => {
      test('an editor cannot add a team it is not in to a resource it can see, and nothing changes', async () => {
        const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams.own] })
        for (const foreign of [teams.other, teams.private]) {
          const response = await h.request({
            method: 'PATCH',
            url: `/api/v1/database/databases/${id}`,
            headers: as('editor'),
            body: { teams: [teams.own, foreign], description: 'should not stick' },
          })
          assertFieldError(response, 'teams[1]')
          const stored = (await adminGet(id)).json()
          assert.deepEqual(stored.teams, [teams.own])
          assert.equal(stored.description, '')
        }
      })

      test('an editor may keep a team the resource already has although it is not in it', async () => {
        const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams.own, teams.other] })
        const response = await h.request({
          method: 'PATCH',
          url: `/api/v1/database/databases/${id}`,
          headers: as('editor'),
          body: { teams: [teams.own, teams.other, teams.general], description: 'kept other' },
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().teams, [teams.own, teams.other, teams.general])
        assert.deepEqual((await adminGet(id)).json().teams, [teams.own, teams.other, teams.general])
      })

      test('an editor moving a resource out of all its teams gets an answer that matches what was stored', async () => {
        // Either the move is refused and nothing changes, or it succeeds and says so: never a 404 after a commit.
        const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams.own, teams.other] })
        const response = await h.request({
          method: 'PATCH',
          url: `/api/v1/database/databases/${id}`,
          headers: as('editor'),
          body: { teams: [teams.other] },
        })
        const stored = (await adminGet(id)).json().teams
        if (response.statusCode === 200) {
          assert.deepEqual(stored, [teams.other])
        } else {
          assert.ok(response.statusCode >= 400 && response.statusCode < 500, response.body)
          assert.deepEqual(stored, [teams.own, teams.other], `answered ${response.statusCode} but wrote the change`)
        }
      })

      test('an admin may put a resource in any team of the workspace', async () => {
        const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams.own] })
        const response = await h.request({
          method: 'PATCH',
          url: `/api/v1/database/databases/${id}`,
          headers: as('admin'),
          body: { teams: [teams.private, teams.other] },
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().teams, [teams.private, teams.other])
      })

      test('an editor cannot create a database in an integration of none of its teams', async () => {
        const integration = await makeIntegration(h, { teams: [teams.private] })
        const before = await countRows(h, 'resources')
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/database/databases',
          headers: as('editor'),
          body: { title: 'elsewhere', integration, teams: [teams.own] },
        })
        assertFieldError(response, 'integration')
        assert.equal(await countRows(h, 'resources'), before)
      })

      test('an editor cannot file a resource in a collection it cannot see', async () => {
        const hidden = await makeResource(h, { entityType: 'collection' }, { teams: [teams.private] })
        const seen = await makeResource(h, { entityType: 'collection' }, { teams: [teams.own] })
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/database/databases',
          headers: as('editor'),
          body: { title: 'filed', integration: scratchIntegration, teams: [teams.own], collections: [seen, hidden] },
        })
        assertFieldError(response, 'collections[1]')
      })

      test('a viewer and a guest are refused a PATCH that changes only teams, with 403', async () => {
        for (const role of ['viewer', 'guest'] as const) {
          const id = fixtures[role].ids['its team (published)']
          const response = await h.request({
            method: 'PATCH',
            url: `/api/v1/resource/all/${id}`,
            headers: as(role),
            body: { teams: [teams.own, teams.general] },
          })
          assertErrorBody(response, 403, 'PERMISSION_DENIED')
          assert.deepEqual((await adminGet(id)).json().teams, [teams.own])
        }
      })
    })

    describe('team membership', () => {
      test('a resource moved out of the teams of a viewer disappears from its lists at once', async () => {
        const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams.own] })
        const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'id', value: id }))
        const url = `/api/v1/resource/catalog?filter=${filter}`
        const seen = async () => (await h.request({ method: 'GET', url, headers: as('viewer') })).json().count
        assert.equal(await seen(), 1)
        const moved = await h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${id}`,
          body: { teams: [teams.private] },
        })
        assert.equal(moved.statusCode, 200, moved.body)
        assert.equal(await seen(), 0)
        assertErrorBody(
          await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}`, headers: as('viewer') }),
          404,
          'NOT_FOUND',
        )
      })

      test('a draft published by an admin becomes visible to a viewer of its team', async () => {
        const { id } = await makeDatabase(h, { integration: scratchIntegration, teams: [teams.own], published: false })
        const get = () => h.request({ method: 'GET', url: `/api/v1/resource/all/${id}`, headers: as('viewer') })
        assert.equal((await get()).statusCode, 404)
        const published = await h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${id}`,
          body: { published: true },
        })
        assert.equal(published.statusCode, 200, published.body)
        assert.equal((await get()).statusCode, 200)
      })
    })
  })
}
