import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { Kysely } from 'kysely'
import { lockVisibility, refreshSubtrees } from '../../src/access/effective.ts'
import { insertResourceRow, newResourceValues } from '../../src/catalog/repository/writes.ts'
import type { DB } from '../../src/db/types.ts'
import { nowIso } from '../../src/db/values.ts'
import type { SourceSnapshot } from '../../src/extract/source.ts'
import { syncSnapshot } from '../../src/extract/sync.ts'
import {
  assertErrorBody,
  ENGINES,
  type Harness,
  holdOpenOnPeer,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

// CONTRACT §7: a resource is visible only when its ancestors are too, so that no answer (title_full,
// search_metadata, children_count, a filter on them, a 403 instead of a 404) reveals a resource the caller may not see.

type Role = 'admin' | 'editor' | 'viewer' | 'guest'
const ROLES: Role[] = ['admin', 'editor', 'viewer', 'guest']

/**
 * The fixture tree. Every user is in team `own`; the editor and the viewer are in the default team General too,
 * the guest is not; nobody is in `other`.
 */
type Node =
  | 'database'
  | 'draftSchema'
  | 'tableUnderDraft'
  | 'columnUnderDraft'
  | 'otherTeamSchema'
  | 'tableUnderOtherTeam'
  | 'generalSchema'
  | 'tableUnderGeneral'
  | 'schema'
  | 'table'

interface Spec {
  path: string
  parent: Node | undefined
  title: string
  team: 'own' | 'other' | 'general'
  published: boolean
}

// biome-ignore format: a table reads best as a table
const TREE: Record<Node, Spec> = {
  database:            { path: '/database/databases', parent: undefined,         title: 'Sales Warehouse',        team: 'own',     published: true },
  draftSchema:         { path: '/database/schemas',   parent: 'database',        title: 'Unannounced Merger',     team: 'own',     published: false },
  tableUnderDraft:     { path: '/table/tables',       parent: 'draftSchema',     title: 'Targets',                team: 'own',     published: true },
  columnUnderDraft:    { path: '/table/columns',      parent: 'tableUnderDraft', title: 'Price',                  team: 'own',     published: true },
  otherTeamSchema:     { path: '/database/schemas',   parent: 'database',        title: 'Payroll Of Other Team',  team: 'other',   published: true },
  tableUnderOtherTeam: { path: '/table/tables',       parent: 'otherTeamSchema', title: 'Salaries',               team: 'own',     published: true },
  generalSchema:       { path: '/database/schemas',   parent: 'database',        title: 'Shared Reference',       team: 'general', published: true },
  tableUnderGeneral:   { path: '/table/tables',       parent: 'generalSchema',   title: 'Currencies',             team: 'own',     published: true },
  schema:              { path: '/database/schemas',   parent: 'database',        title: 'Public',                 team: 'own',     published: true },
  table:               { path: '/table/tables',       parent: 'schema',          title: 'Orders',                 team: 'own',     published: true },
}
const NODES = Object.keys(TREE) as Node[]

/** What each role sees: a node and every ancestor must be in one of its teams, and published for viewers and guests. */
const SEES: Record<Role, Node[]> = {
  admin: NODES,
  editor: NODES.filter((n) => !['otherTeamSchema', 'tableUnderOtherTeam'].includes(n)),
  viewer: ['database', 'generalSchema', 'tableUnderGeneral', 'schema', 'table'],
  guest: ['database', 'schema', 'table'],
}

const sorted = (ids: string[]) => [...ids].sort()
const idsOf = (response: LightMyRequestResponse): string[] => response.json().results.map((r: { id: string }) => r.id)
const an = (role: Role) => (role === 'admin' || role === 'editor' ? `an ${role}` : `a ${role}`)

for (const { engine, skip } of ENGINES) {
  describe(`visibility through ancestors on ${engine}`, { skip }, () => {
    let h: Harness
    const teams = {} as Record<'own' | 'other' | 'general', string>
    const keys = {} as Record<Role, string>
    let integration: string
    const id = {} as Record<Node, string>
    const titleFull = {} as Record<Node, string>
    const nodeOf = new Map<string, Node>()

    before(async () => {
      h = await startHarness(engine)
      teams.own = await makeTeam(h)
      teams.other = await makeTeam(h)
      teams.general = h.defaultTeamId
      keys.admin = `Bearer ${h.adminKey}`
      for (const role of ['editor', 'viewer', 'guest'] as const) {
        keys[role] = await makeKey(h, await makeUser(h, { role, teamIds: [teams.own] }))
      }
      integration = await makeIntegration(h)
      for (const node of NODES) {
        const spec = TREE[node]
        const body = {
          title: spec.title,
          teams: [teams[spec.team]],
          published: spec.published,
          ...(spec.parent === undefined ? { integration } : { parent: id[spec.parent] }),
        }
        const made = await makeVia(h, spec.path, body)
        id[node] = made.id
        titleFull[node] = made.title_full as string
        nodeOf.set(made.id, node)
      }
    })
    after(() => h?.close())

    const as = (role: Role) => ({ authorization: keys[role] })
    const get = (role: Role, url: string) => h.request({ method: 'GET', url, headers: as(role) })
    const hidden = (role: Role) => NODES.filter((n) => !SEES[role].includes(n))

    /** Fails when an answer to `role` carries the id or the title of a resource it may not see. */
    function assertNoLeak(role: Role, response: LightMyRequestResponse, what: string) {
      for (const node of hidden(role)) {
        assert.ok(!response.body.includes(id[node]), `${what} reveals the id of ${node} to ${an(role)}`)
        assert.ok(!response.body.includes(TREE[node].title), `${what} reveals the title of ${node} to ${an(role)}`)
      }
    }

    /** List Resources within the fixture's integration, with `filter` and'ed in. */
    const catalog = (role: Role, filter?: object, extra = '') => {
      const inFixture = { operator: 'exact', field: 'integration_id', value: integration }
      const whole = filter === undefined ? inFixture : { operator: 'and', operands: [inFixture, filter] }
      return get(
        role,
        `/api/v1/resource/catalog?page_size=100&filter=${encodeURIComponent(JSON.stringify(whole))}${extra}`,
      )
    }

    for (const role of ROLES) {
      describe(`what ${an(role)} sees`, () => {
        test('GET by id answers 404 for a resource under a hidden ancestor, on every route', async () => {
          for (const node of NODES) {
            for (const url of [`/api/v1/resource/all/${id[node]}`, `/api/v1${TREE[node].path}/${id[node]}`]) {
              const response = await get(role, url)
              if (SEES[role].includes(node)) {
                assert.equal(response.statusCode, 200, `${url} (${node}): ${response.body}`)
                assertNoLeak(role, response, url)
              } else {
                assertErrorBody(response, 404, 'NOT_FOUND')
              }
            }
          }
        })

        test('List Resources lists exactly what it may see, and no answer names a hidden title', async () => {
          const response = await catalog(role)
          assert.equal(response.statusCode, 200, response.body)
          assert.deepEqual(sorted(idsOf(response)), sorted(SEES[role].map((n) => id[n])))
          assert.equal(response.json().count, SEES[role].length)
          assertNoLeak(role, response, 'List Resources')
        })

        test('title_full and search_metadata of what it sees name only ancestors it sees', async () => {
          const response = await catalog(role)
          for (const resource of response.json().results) {
            const node = nodeOf.get(resource.id) as Node
            assert.equal(resource.title_full, titleFull[node])
            const chain: Node[] = []
            for (let n: Node | undefined = node; n !== undefined; n = TREE[n].parent) chain.push(n)
            assert.ok(
              chain.every((n) => SEES[role].includes(n)),
              `${node} is listed but an ancestor is hidden`,
            )
            assert.equal(resource.search_metadata.database, TREE.database.title)
          }
        })

        const filters: [string, object, (node: Node) => boolean][] = [
          [
            'title_full contains a draft schema title',
            { operator: 'contains', field: 'title_full', value: 'unannounced merger' },
            (n) => titleFull[n].includes('Unannounced Merger'),
          ],
          [
            'title_full contains the title of a schema of another team',
            { operator: 'contains', field: 'title_full', value: 'Payroll' },
            (n) => titleFull[n].includes('Payroll'),
          ],
          [
            'title_full is exactly the path of a table under a draft',
            { operator: 'exact', field: 'title_full', value: 'Sales Warehouse.Unannounced Merger.Targets' },
            (n) => n === 'tableUnderDraft',
          ],
          [
            'parent_id is a draft schema',
            { operator: 'exact', field: 'parent_id', value: '<draftSchema>' },
            (n) => TREE[n].parent === 'draftSchema',
          ],
          [
            'parent (alias) is one of three hidden-or-not schemas',
            { operator: 'in', field: 'parent', value: ['<draftSchema>', '<otherTeamSchema>', '<generalSchema>'] },
            (n) => ['draftSchema', 'otherTeamSchema', 'generalSchema'].includes(TREE[n].parent as string),
          ],
          [
            'title is a hidden schema title, or a child of one is',
            {
              operator: 'or',
              operands: [
                { operator: 'exact', field: 'title', value: 'Payroll Of Other Team' },
                { operator: 'contains', field: 'title_full', value: 'Of Other Team.' },
              ],
            },
            (n) => titleFull[n].includes('Payroll Of Other Team'),
          ],
        ]
        for (const [name, filter, matches] of filters) {
          test(`a filter on ${name} finds only what it may see`, async () => {
            const text = JSON.stringify(filter).replace(/<(\w+)>/g, (_, node: Node) => id[node])
            const response = await catalog(role, JSON.parse(text))
            assert.equal(response.statusCode, 200, response.body)
            const expected = SEES[role].filter(matches).map((n) => id[n])
            assert.deepEqual(sorted(idsOf(response)), sorted(expected))
            assert.equal(response.json().count, expected.length)
            assertNoLeak(role, response, name)
          })
        }

        test('a sort on title_full orders only what it may see', async () => {
          const sort = encodeURIComponent(JSON.stringify({ field: 'title_full', order: 'asc' }))
          const response = await catalog(role, undefined, `&sort=${sort}`)
          const expected = [...SEES[role]].sort((a, b) => (titleFull[a] < titleFull[b] ? -1 : 1)).map((n) => id[n])
          assert.deepEqual(idsOf(response), expected)
        })

        test('children_count counts only the children it may see, in every answer', async () => {
          const expected = (node: Node) => SEES[role].filter((n) => TREE[n].parent === node).length
          const listed = await catalog(role)
          for (const resource of listed.json().results) {
            const node = nodeOf.get(resource.id) as Node
            assert.equal(resource.children_count, expected(node), `List Resources: ${node}`)
          }
          for (const node of SEES[role]) {
            for (const url of [`/api/v1/resource/all/${id[node]}`, `/api/v1${TREE[node].path}/${id[node]}`]) {
              assert.equal((await get(role, url)).json().children_count, expected(node), `${url}: ${node}`)
            }
          }
          const databases = await get(role, `/api/v1/database/databases?integration_id=${integration}`)
          assert.deepEqual(
            databases.json().results.map((r: { children_count: number }) => r.children_count),
            [expected('database')],
          )
        })

        test('typed lists filtered on parent_id list only what it may see', async () => {
          const lists: [string, Node][] = [
            ['/database/schemas', 'database'],
            ['/table/tables', 'draftSchema'],
            ['/table/tables', 'otherTeamSchema'],
            ['/table/tables', 'generalSchema'],
            ['/table/columns', 'tableUnderDraft'],
          ]
          for (const [path, parent] of lists) {
            const response = await get(role, `/api/v1${path}?parent_id=${id[parent]}`)
            assert.equal(response.statusCode, 200, response.body)
            const expected = SEES[role].filter((n) => TREE[n].parent === parent).map((n) => id[n])
            assert.deepEqual(sorted(idsOf(response)), sorted(expected), `${path}?parent_id=<${parent}>`)
            assert.equal(response.json().count, expected.length)
            assertNoLeak(role, response, `${path}?parent_id=<${parent}>`)
            for (const resource of response.json().results) {
              const node = nodeOf.get(resource.id) as Node
              const children = SEES[role].filter((n) => TREE[n].parent === node).length
              assert.equal(resource.children_count, children, `${path}: children_count of ${node}`)
            }
          }
        })

        test('PATCH and DELETE of a resource under a hidden ancestor answer 404, and change nothing', async () => {
          for (const node of hidden(role)) {
            const before = (await get('admin', `/api/v1/resource/all/${id[node]}`)).json()
            for (const url of [`/api/v1/resource/all/${id[node]}`, `/api/v1${TREE[node].path}/${id[node]}`]) {
              const patched = await h.request({ method: 'PATCH', url, headers: as(role), body: { description: 'x' } })
              assertErrorBody(patched, 404, 'NOT_FOUND')
              const deleted = await h.request({ method: 'DELETE', url, headers: as(role) })
              assertErrorBody(deleted, 404, 'NOT_FOUND')
            }
            assert.deepEqual((await get('admin', `/api/v1/resource/all/${id[node]}`)).json(), before)
          }
        })
      })
    }

    describe('what may be referred to', () => {
      test('an editor cannot create under a parent whose ancestor it cannot see: the same 400 as a missing one', async () => {
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/table/columns',
          headers: as('editor'),
          body: { title: 'sneaky', parent: id.tableUnderOtherTeam, teams: [teams.own] },
        })
        const body = assertErrorBody(response, 400, 'VALIDATION_ERROR')
        assert.deepEqual(
          body.errors?.map((e) => e.field),
          ['parent'],
        )
        assert.match(body.errors?.[0]?.message ?? '', /not a resource of this workspace/)
      })

      test('an editor cannot file a resource in a collection under a collection it cannot see', async () => {
        const parent = await makeVia(h, '/collection/collections', { title: 'Board Only', teams: [teams.other] })
        const nested = await makeVia(h, '/collection/collections', {
          title: 'Board Minutes',
          teams: [teams.own],
          parent: parent.id,
        })
        const seen = await makeVia(h, '/collection/collections', { title: 'Open Collection', teams: [teams.own] })
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/database/databases',
          headers: as('editor'),
          body: { title: 'filed', integration, teams: [teams.own], collections: [seen.id, nested.id] },
        })
        const body = assertErrorBody(response, 400, 'VALIDATION_ERROR')
        assert.deepEqual(
          body.errors?.map((e) => e.field),
          ['collections[1]'],
        )
        // Told apart from a missing collection by nothing but its id.
        const missing = '3b2c7185-fb5d-4d94-89d4-3dae08e093a9'
        const other = await h.request({
          method: 'POST',
          url: '/api/v1/database/databases',
          headers: as('editor'),
          body: { title: 'filed', integration, teams: [teams.own], collections: [seen.id, missing] },
        })
        const message = (r: LightMyRequestResponse, id: string) =>
          assertErrorBody(r, 400, 'VALIDATION_ERROR').errors?.[0]?.message.replace(id, '<id>')
        assert.equal(message(response, nested.id), message(other, missing))
      })
    })

    describe('lists of resources in an answer', () => {
      test('collections show only what the caller may see, and a PATCH by an editor keeps the others', async () => {
        const hidden = await makeVia(h, '/collection/collections', { title: 'Hidden Shelf', teams: [teams.other] })
        const draft = await makeVia(h, '/collection/collections', {
          title: 'Draft Shelf',
          teams: [teams.own],
          published: false,
        })
        const open = await makeVia(h, '/collection/collections', { title: 'Open Shelf', teams: [teams.own] })
        const more = await makeVia(h, '/collection/collections', { title: 'More Shelf', teams: [teams.own] })
        const filed = await makeDatabase(h, {
          integration,
          teams: [teams.own],
          collections: [hidden.id, open.id, draft.id],
        })
        const seenBy: Record<Role, string[]> = {
          admin: [hidden.id, open.id, draft.id],
          editor: [open.id, draft.id],
          viewer: [open.id],
          guest: [open.id],
        }
        const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'id', value: filed.id }))
        for (const role of ROLES) {
          for (const url of [
            `/api/v1/resource/all/${filed.id}`,
            `/api/v1/database/databases/${filed.id}`,
            `/api/v1/resource/catalog?filter=${filter}`,
            `/api/v1/database/databases?integration_id=${integration}&title=${encodeURIComponent(filed.title)}`,
          ]) {
            const response = await get(role, url)
            const resource = url.includes('?') ? response.json().results[0] : response.json()
            assert.deepEqual(resource.collections, seenBy[role], `${role}: ${url}`)
            if (role !== 'admin') assert.ok(!response.body.includes(hidden.id), `${role}: ${url}`)
          }
        }
        const patched = await h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${filed.id}`,
          headers: as('editor'),
          body: { collections: [more.id, open.id] },
        })
        assert.equal(patched.statusCode, 200, patched.body)
        assert.deepEqual(patched.json().collections, [more.id, open.id])
        const stored = (await get('admin', `/api/v1/resource/all/${filed.id}`)).json().collections
        assert.deepEqual(stored, [more.id, open.id, hidden.id])
      })
    })

    describe('writes that change what is visible', () => {
      /** A database › schema › table › column chain in team `own`, all published, in a fresh integration. */
      async function chain() {
        const database = await makeDatabase(h, { integration: await makeIntegration(h), teams: [teams.own] })
        const schema = await makeVia(h, '/database/schemas', { parent: database.id, teams: [teams.own] })
        const table = await makeVia(h, '/table/tables', { parent: schema.id, teams: [teams.own] })
        const column = await makeVia(h, '/table/columns', { parent: table.id, teams: [teams.own] })
        return { database, schema, table, column }
      }
      const status = async (role: Role, resourceId: string) =>
        (await get(role, `/api/v1/resource/all/${resourceId}`)).statusCode
      const listedIds = async (role: Role, parentId: string) => {
        const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'parent_id', value: parentId }))
        return idsOf(await get(role, `/api/v1/resource/catalog?filter=${filter}`))
      }
      const patch = async (resourceId: string, body: object) => {
        const response = await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${resourceId}`, body })
        assert.equal(response.statusCode, 200, response.body)
      }

      test('unpublishing a schema hides its whole subtree from viewers at once, and publishing shows it again', async () => {
        const { database, schema, table, column } = await chain()
        assert.deepEqual(await listedIds('viewer', schema.id), [table.id])
        await patch(schema.id, { published: false })
        for (const resource of [schema, table, column]) assert.equal(await status('viewer', resource.id), 404)
        assert.equal(await status('editor', column.id), 200)
        assert.deepEqual(await listedIds('viewer', schema.id), [])
        assert.equal((await get('viewer', `/api/v1/resource/all/${database.id}`)).json().children_count, 0)
        await patch(schema.id, { published: true })
        for (const resource of [schema, table, column]) assert.equal(await status('viewer', resource.id), 200)
        assert.deepEqual(await listedIds('viewer', schema.id), [table.id])
        assert.equal((await get('viewer', `/api/v1/resource/all/${database.id}`)).json().children_count, 1)
      })

      test('a published table stays hidden under a database that becomes a draft, whatever changes below it', async () => {
        const { database, schema, table } = await chain()
        await patch(database.id, { published: false })
        await patch(table.id, { published: true, description: 'still hidden' })
        await patch(schema.id, { teams: [teams.own, teams.general] })
        assert.equal(await status('viewer', table.id), 404)
        assert.equal(await status('guest', table.id), 404)
        assert.equal(await status('editor', table.id), 200)
      })

      test('moving a schema to a team an editor is not in hides its subtree from that editor', async () => {
        const { schema, table, column } = await chain()
        await patch(schema.id, { teams: [teams.other] })
        for (const resource of [schema, table, column]) assert.equal(await status('editor', resource.id), 404)
        await patch(schema.id, { teams: [teams.other, teams.own] })
        for (const resource of [schema, table, column]) assert.equal(await status('editor', resource.id), 200)
      })

      test('a resource created under a draft is hidden from viewers though it is published itself', async () => {
        const { schema } = await chain()
        await patch(schema.id, { published: false })
        const created = await h.request({
          method: 'POST',
          url: '/api/v1/table/tables',
          headers: as('editor'),
          body: { title: 'Made Under Draft', parent: schema.id, teams: [teams.own], published: true },
        })
        assert.equal(created.statusCode, 201, created.body)
        assert.equal(await status('editor', created.json().id), 200)
        assert.equal(await status('viewer', created.json().id), 404)
        const found = await catalog('viewer', { operator: 'contains', field: 'title', value: 'Made Under Draft' })
        assert.equal(found.json().count, 0)
      })

      test('deleting the only team of a schema gives it General, and what General may see follows', async () => {
        const { schema, table } = await chain()
        const doomed = await makeTeam(h)
        await patch(schema.id, { teams: [doomed] })
        assert.equal(await status('viewer', table.id), 404)
        const removed = await h.request({ method: 'DELETE', url: `/api/v1/auth/teams/${doomed}` })
        assert.equal(removed.statusCode, 204, removed.body)
        // The schema is now in General, which the viewer is in; the guest is not.
        assert.equal(await status('viewer', table.id), 200)
        assert.equal(await status('guest', table.id), 404)
      })

      test("a sync adds what it finds under a draft or another team's schema hidden, as a create would", async () => {
        const integrationId = await makeIntegration(h)
        const target = { integrationId, workspaceId: h.workspaceId, teamIds: [teams.own] }
        const table = (name: string) => ({
          name,
          nativeType: 'BASE TABLE',
          comment: null,
          rowCount: null,
          byteSize: null,
          columns: [{ name: 'id', position: 1, dataType: 'integer', nullable: false, isPk: true, comment: null }],
        })
        const snapshot = (extra: boolean): SourceSnapshot => ({
          problems: [],
          databases: [
            {
              name: 'warehouse',
              comment: null,
              schemas: [
                { name: 'hr', comment: null, tables: [table('pay'), ...(extra ? [table('bonuses')] : [])] },
                { name: 'sales', comment: null, tables: [table('orders'), ...(extra ? [table('refunds')] : [])] },
              ],
            },
          ],
        })
        await syncSnapshot(h.store, target, snapshot(false))
        const byTitle = async (title: string) => {
          const filter = {
            operator: 'and',
            operands: [
              { operator: 'exact', field: 'integration_id', value: integrationId },
              { operator: 'exact', field: 'title', value: title },
            ],
          }
          const url = `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify(filter))}`
          return (await get('admin', url)).json().results[0].id as string
        }
        await patch(await byTitle('hr'), { published: false })
        await patch(await byTitle('sales'), { teams: [teams.other] })
        await syncSnapshot(h.store, target, snapshot(true))
        const bonuses = await byTitle('bonuses')
        const refunds = await byTitle('refunds')
        assert.equal(await status('viewer', bonuses), 404)
        assert.equal(await status('editor', bonuses), 200)
        assert.equal(await status('editor', refunds), 404)
        assert.deepEqual(await listedIds('editor', refunds), [])
        assert.deepEqual(await listedIds('viewer', bonuses), [])
        assert.equal(await status('viewer', await byTitle('warehouse')), 200)
      })

      test('a viewer added to a team sees what it holds at once, and loses it when removed', async () => {
        const viewer = await makeUser(h, { role: 'viewer', teamIds: [teams.own] })
        const key = await makeKey(h, viewer)
        const { table } = await chain()
        const team = await makeTeam(h)
        await patch(table.id, { teams: [team] })
        const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'id', value: table.id }))
        const count = async () =>
          (
            await h.request({
              method: 'GET',
              url: `/api/v1/resource/catalog?filter=${filter}`,
              headers: { authorization: key },
            })
          ).json().count
        assert.equal(await count(), 0)
        const joined = await h.request({
          method: 'PATCH',
          url: `/api/v1/user/${viewer}`,
          body: { teams: [teams.own, team] },
        })
        assert.equal(joined.statusCode, 200, joined.body)
        assert.equal(await count(), 1)
        const left = await h.request({ method: 'PATCH', url: `/api/v1/user/${viewer}`, body: { teams: [teams.own] } })
        assert.equal(left.statusCode, 200, left.body)
        assert.equal(await count(), 0)
      })
    })
    // Not registered on SQLite, whose one writer at a time leaves nothing to race.
    ;(engine === 'postgres' ? describe : () => {})('concurrent writes on PostgreSQL', () => {
      const holdOpen = (work: (trx: Kysely<DB>) => Promise<void>) => holdOpenOnPeer(h, work)
      const chainOf = async () => {
        const database = await makeDatabase(h, { integration: await makeIntegration(h), teams: [teams.own] })
        const schema = await makeVia(h, '/database/schemas', { parent: database.id, teams: [teams.own] })
        const table = await makeVia(h, '/table/tables', { parent: schema.id, teams: [teams.own] })
        return { schema, table }
      }
      const viewerStatus = async (resourceId: string) =>
        (await get('viewer', `/api/v1/resource/all/${resourceId}`)).statusCode

      test('writes that change visibility wait for each other; other writes do not wait for them', async () => {
        const { schema, table } = await chainOf()
        // A peer in the middle of a visibility change: it holds the workspace's visibility lock.
        const commit = await holdOpen((trx) => lockVisibility(trx, h.workspaceId))
        let finished = false
        const unpublish = h
          .request({ method: 'PATCH', url: `/api/v1/resource/all/${schema.id}`, body: { published: false } })
          .then((response) => {
            finished = true
            return response
          })
        const described = await h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${table.id}`,
          body: { description: 'does not wait' },
        })
        assert.equal(described.statusCode, 200, described.body)
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.equal(finished, false, 'a PATCH of published waits while another visibility change is open')
        await commit()
        assert.equal((await unpublish).statusCode, 200)
        assert.equal(await viewerStatus(table.id), 404)
      })

      test('unpublishing a schema while a peer adds a column deep under it hides that column too', async () => {
        const { schema, table } = await chainOf()
        const parent = await h.store.db
          .selectFrom('resources')
          .selectAll()
          .where('id', '=', table.id)
          .executeTakeFirstOrThrow()
        let columnId = ''
        const commit = await holdOpen(async (trx) => {
          const values = newResourceValues({
            workspaceId: h.workspaceId,
            entityType: 'column',
            title: 'added meanwhile',
            parent,
            integrationId: parent.integration_id,
            now: nowIso(),
          })
          columnId = await insertResourceRow(trx, values, { teams: [teams.own] })
        })
        const unpublish = h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${schema.id}`,
          body: { published: false },
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        await commit()
        assert.equal((await unpublish).statusCode, 200)
        assert.equal(await viewerStatus(table.id), 404)
        assert.equal(await viewerStatus(columnId), 404)
      })

      test('a column added while a peer unpublishes its schema waits for it and is hidden', async () => {
        const { schema, table } = await chainOf()
        const commit = await holdOpen(async (trx) => {
          await trx.updateTable('resources').set({ published: false }).where('id', '=', schema.id).execute()
          await refreshSubtrees(trx, [schema.id])
        })
        const created = h.request({
          method: 'POST',
          url: '/api/v1/table/columns',
          body: { title: 'added meanwhile', parent: table.id, teams: [teams.own] },
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        await commit()
        const column = await created
        assert.equal(column.statusCode, 201, column.body)
        assert.equal(await viewerStatus(column.json().id), 404)
      })
    })
  })
}
