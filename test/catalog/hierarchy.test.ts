import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { RELATION_TABLES } from '../../src/catalog/repository/relations.ts'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  findOrphans,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeTag,
  makeTeam,
  makeUser,
  makeVia,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

type Resource = Record<string, unknown> & { id: string }

const ids = (response: LightMyRequestResponse): string[] => response.json().results.map((r: Resource) => r.id)

/** A typed route, and how to make a parent for it in a given integration. */
interface Route {
  path: string
  entityType: string
  parentType: string
  makeParent(h: Harness, integration: string): Promise<Resource>
  /** A resource of another type, near the parent, that the route must not answer for. */
  makeOther(h: Harness, parent: Resource): Promise<Resource>
}

async function makeSchema(h: Harness, integration: string) {
  const database = await makeDatabase(h, { integration })
  return makeVia(h, '/database/schemas', { parent: database.id })
}

async function makeTable(h: Harness, integration: string) {
  return makeVia(h, '/table/tables', { parent: (await makeSchema(h, integration)).id })
}

const ROUTES: Route[] = [
  {
    path: '/database/schemas',
    entityType: 'schema',
    parentType: 'database',
    makeParent: (h, integration) => makeDatabase(h, { integration }),
    // A table is no schema, even when the database holds it through a schema.
    makeOther: async (h, parent) =>
      makeVia(h, '/table/tables', { parent: (await makeVia(h, '/database/schemas', { parent: parent.id })).id }),
  },
  {
    path: '/table/tables',
    entityType: 'table',
    parentType: 'schema',
    makeParent: makeSchema,
    makeOther: async (h, parent) =>
      makeVia(h, '/table/columns', { parent: (await makeVia(h, '/table/tables', { parent: parent.id })).id }),
  },
  {
    path: '/table/columns',
    entityType: 'column',
    parentType: 'table',
    makeParent: makeTable,
    makeOther: (h, parent) => makeVia(h, '/table/tables', { parent: parent.parent }),
  },
  {
    path: '/collection/collections',
    entityType: 'collection',
    parentType: 'collection',
    makeParent: (h, integration) => makeVia(h, '/collection/collections', { integration }),
    makeOther: async (h) => makeDatabase(h),
  },
]

for (const { engine, skip } of ENGINES) {
  describe(`hierarchy on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const get = (path: string, id: string) => h.request({ method: 'GET', url: `/api/v1${path}/${id}` })
    const post = (path: string, body: Record<string, unknown>) =>
      h.request({ method: 'POST', url: `/api/v1${path}`, body })
    const patch = (path: string, id: string, body: Record<string, unknown>) =>
      h.request({ method: 'PATCH', url: `/api/v1${path}/${id}`, body })
    const remove = (path: string, id: string) => h.request({ method: 'DELETE', url: `/api/v1${path}/${id}` })
    const list = (path: string, query: string) => h.request({ method: 'GET', url: `/api/v1${path}?${query}` })

    for (const route of ROUTES) {
      const { path, entityType, parentType } = route

      describe(`${path}`, () => {
        test(`creates a ${entityType} under a ${parentType} with 201, whatever entity_type the body says`, async () => {
          const integration = await makeIntegration(h)
          const parent = await route.makeParent(h, integration)
          const wrong = entityType === 'schema' ? 'table' : 'schema'
          const response = await post(path, { title: 'Created', parent: parent.id, entity_type: wrong })
          assert.equal(response.statusCode, 201, response.body)
          const created = response.json()
          assert.equal(created.entity_type, entityType)
          assert.equal(created.parent, parent.id)
          assert.equal(created.integration, integration)
          assert.equal(created.title, 'Created')
          assert.equal(created.title_full, `${parent.title_full}.Created`)
          assert.equal(created.children_count, 0)
          const row = await h.store.db
            .selectFrom('resources')
            .select(['entity_type', 'parent_id', 'workspace_id'])
            .where('id', '=', created.id)
            .executeTakeFirstOrThrow()
          assert.deepEqual(row, { entity_type: entityType, parent_id: parent.id, workspace_id: h.workspaceId })
        })

        test('gets one by id, and answers 404 for another type, a random id and a malformed id', async () => {
          const parent = await route.makeParent(h, await makeIntegration(h))
          const created = await makeVia(h, path, { parent: parent.id })
          const response = await get(path, created.id)
          assert.equal(response.statusCode, 200, response.body)
          assert.deepEqual(response.json(), created)
          const other = await route.makeOther(h, parent)
          assert.notEqual(other.entity_type, entityType)
          const others = entityType === parentType ? [other.id] : [other.id, parent.id]
          for (const id of [...others, randomUUID(), 'not-a-uuid']) {
            assertErrorBody(await get(path, id), 404, 'NOT_FOUND')
          }
        })

        test('lists filtered by integration_id, parent_id and title, in title order', async () => {
          const first = await makeIntegration(h)
          const second = await makeIntegration(h)
          const p1 = await route.makeParent(h, first)
          const p2 = await route.makeParent(h, second)
          const title = `Shared ${randomUUID()}`
          const x1 = await makeVia(h, path, { title, parent: p1.id })
          const x2 = await makeVia(h, path, { title: `A ${title}`, parent: p1.id })
          const x3 = await makeVia(h, path, { title, parent: p2.id })

          const byParent = await list(path, `parent_id=${p1.id}`)
          assert.equal(byParent.statusCode, 200, byParent.body)
          assert.deepEqual(ids(byParent), [x2.id, x1.id])
          assert.equal(byParent.json().count, 2)
          // A parent of the route's own type (a collection) is listed with its children.
          const inSecond = entityType === parentType ? [p2.id, x3.id] : [x3.id]
          assert.deepEqual(ids(await list(path, `integration_id=${second}`)).sort(), inSecond.sort())
          const byTitle = ids(await list(path, `title=${encodeURIComponent(title)}`))
          assert.deepEqual(byTitle.sort(), [x1.id, x3.id].sort())
          assert.deepEqual(ids(await list(path, `parent_id=${p1.id}&title=${encodeURIComponent(title)}`)), [x1.id])
          assert.deepEqual(ids(await list(path, `integration_id=${first}&title=${encodeURIComponent(title)}`)), [x1.id])
          assert.deepEqual(ids(await list(path, `parent_id=${p2.id}&integration_id=${first}`)), [])
          const all = (await list(path, 'page_size=100')).json()
          assert.ok(
            all.results.every((r: Resource) => r.entity_type === entityType),
            'the list holds only its own type',
          )
        })

        test('returns 400 for a malformed integration_id or parent_id', async () => {
          assertFieldError(await list(path, 'integration_id=nope'), 'integration_id')
          assertFieldError(await list(path, 'parent_id=123'), 'parent_id')
        })

        test('changes fields with PATCH and keeps the entity type', async () => {
          const parent = await route.makeParent(h, await makeIntegration(h))
          const created = await makeVia(h, path, { parent: parent.id })
          const response = await patch(path, created.id, {
            title: 'Renamed',
            description: 'now described',
            entity_type: 'glossary',
          })
          assert.equal(response.statusCode, 200, response.body)
          const patched = response.json()
          assert.equal(patched.title, 'Renamed')
          assert.equal(patched.description, 'now described')
          assert.equal(patched.entity_type, entityType)
          assert.equal(patched.title_full, `${parent.title_full}.Renamed`)
          assert.deepEqual((await get(path, created.id)).json(), patched)
          const other = await route.makeOther(h, parent)
          assertErrorBody(await patch(path, other.id, { description: 'x' }), 404, 'NOT_FOUND')
        })

        test('deletes with 204, after which it is 404', async () => {
          const parent = await route.makeParent(h, await makeIntegration(h))
          const created = await makeVia(h, path, { parent: parent.id })
          const other = await route.makeOther(h, parent)
          assertErrorBody(await remove(path, other.id), 404, 'NOT_FOUND')
          const response = await remove(path, created.id)
          assert.equal(response.statusCode, 204, response.body)
          assert.equal(response.body, '')
          assertErrorBody(await get(path, created.id), 404, 'NOT_FOUND')
          assertErrorBody(await remove(path, created.id), 404, 'NOT_FOUND')
          assert.equal((await h.request({ method: 'GET', url: `/api/v1/resource/all/${parent.id}` })).statusCode, 200)
        })
      })
    }

    describe('/table/column', () => {
      test('answers like /table/columns for every method', async () => {
        const table = await makeTable(h, await makeIntegration(h))
        const response = await post('/table/column', { title: 'amount', parent: table.id })
        assert.equal(response.statusCode, 201, response.body)
        const column = response.json()
        assert.equal(column.entity_type, 'column')
        assert.deepEqual((await get('/table/column', column.id)).json(), column)
        assert.deepEqual((await get('/table/columns', column.id)).json(), column)
        const viaAlias = await list('/table/column', `parent_id=${table.id}`)
        const viaRoute = await list('/table/columns', `parent_id=${table.id}`)
        assert.equal(viaAlias.statusCode, 200, viaAlias.body)
        assert.deepEqual(ids(viaAlias), [column.id])
        assert.deepEqual(viaAlias.json().results, viaRoute.json().results)
        const patched = await patch('/table/column', column.id, { description: 'in cents' })
        assert.equal(patched.statusCode, 200, patched.body)
        assert.equal((await get('/table/columns', column.id)).json().description, 'in cents')
        assertErrorBody(await get('/table/column', table.id), 404, 'NOT_FOUND')
        assert.equal((await remove('/table/column', column.id)).statusCode, 204)
        assertErrorBody(await get('/table/columns', column.id), 404, 'NOT_FOUND')
      })
    })

    describe('hierarchy rules', () => {
      /** Runs a create that must fail and checks that it wrote no resource. */
      async function refused(path: string, body: Record<string, unknown>) {
        const before = await countRows(h, 'resources')
        const response = await post(path, { title: 'Refused', ...body })
        assert.equal(await countRows(h, 'resources'), before, 'a refused create wrote a resource')
        return response
      }

      test("refuses a table under a database: a table's parent must be a schema", async () => {
        const database = await makeDatabase(h)
        const response = await refused('/table/tables', { parent: database.id })
        assertFieldError(response, 'parent', /table's parent must be a schema/)
      })

      test('refuses a table without a parent', async () => {
        assertFieldError(await refused('/table/tables', { integration: await makeIntegration(h) }), 'parent', /schema/)
      })

      test('refuses a schema without a parent', async () => {
        const integration = await makeIntegration(h)
        assertFieldError(await refused('/database/schemas', { integration }), 'parent', /database/)
        assertFieldError(await refused('/database/schemas', { integration, parent: null }), 'parent', /database/)
      })

      test('refuses a schema under a schema', async () => {
        const schema = await makeSchema(h, await makeIntegration(h))
        assertFieldError(await refused('/database/schemas', { parent: schema.id }), 'parent', /database/)
      })

      test('refuses a column under a schema or a database', async () => {
        const schema = await makeSchema(h, await makeIntegration(h))
        assertFieldError(await refused('/table/columns', { parent: schema.id }), 'parent', /table or a column/)
        assertFieldError(await refused('/table/columns', { parent: schema.parent }), 'parent')
      })

      test("accepts a table or a column as a column's parent", async () => {
        const table = await makeTable(h, await makeIntegration(h))
        const column = await makeVia(h, '/table/columns', { title: 'address', parent: table.id })
        const nested = await makeVia(h, '/table/columns', { title: 'street', parent: column.id })
        const deeper = await makeVia(h, '/table/columns', { title: 'number', parent: nested.id })
        assert.equal(nested.parent, column.id)
        assert.equal(deeper.title_full, `${table.title_full}.address.street.number`)
        assert.equal(deeper.integration, table.integration)
      })

      test('refuses a collection under a table, and accepts one under a collection', async () => {
        const table = await makeTable(h, await makeIntegration(h))
        assertFieldError(await refused('/collection/collections', { parent: table.id }), 'parent', /collection/)
        const top = await makeVia(h, '/collection/collections', {})
        const child = await makeVia(h, '/collection/collections', { parent: top.id })
        assert.equal(child.parent, top.id)
        assert.equal(child.integration, null)
      })

      if (engine === 'postgres')
        test('a resource created while an ancestor is renamed waits for the rename and gets the new path', async () => {
          const integration = await makeIntegration(h)
          const database = await makeVia(h, '/database/databases', { integration, title: 'before' })
          const schema = await makeVia(h, '/database/schemas', { parent: database.id, title: 'sales' })
          const peer = await h.openPeer()
          let created: Promise<LightMyRequestResponse> | undefined
          try {
            await peer.db.transaction().execute(async (trx) => {
              // Another writer renames the database and holds its row until it has rewritten the paths below.
              await trx
                .updateTable('resources')
                .set({ title: 'after', title_full: 'after' })
                .where('id', '=', database.id)
                .execute()
              created = h.request({
                method: 'POST',
                url: '/api/v1/table/tables',
                body: { parent: schema.id, title: 'orders' },
              })
              const first = await Promise.race([
                created,
                new Promise((resolve) => setTimeout(() => resolve('waiting'), 500)),
              ])
              assert.equal(first, 'waiting', 'the creation waits for the rename of an ancestor')
              await trx
                .updateTable('resources')
                .set({ title_full: 'after.sales' })
                .where('id', '=', schema.id)
                .execute()
            })
          } finally {
            await peer.close()
          }
          const response = await (created as Promise<LightMyRequestResponse>)
          assert.equal(response.statusCode, 201, response.body)
          assert.equal(response.json().title_full, 'after.sales.orders')
        })

      test("inherits the parent's integration when none is given", async () => {
        const integration = await makeIntegration(h)
        const database = await makeDatabase(h, { integration })
        const schema = await makeVia(h, '/database/schemas', { parent: database.id })
        const table = await makeVia(h, '/table/tables', { parent: schema.id, integration: null })
        const column = await makeVia(h, '/table/columns', { parent: table.id, integration })
        for (const resource of [schema, table, column]) {
          assert.equal(resource.integration, integration)
        }
        const row = await h.store.db
          .selectFrom('resources')
          .select('integration_id')
          .where('id', '=', table.id)
          .executeTakeFirstOrThrow()
        assert.equal(row.integration_id, integration)
      })

      test("refuses a child that names an integration other than its parent's", async () => {
        const database = await makeDatabase(h)
        const other = await makeIntegration(h)
        assertFieldError(await refused('/database/schemas', { parent: database.id, integration: other }), 'integration')
        const schema = await makeSchema(h, await makeIntegration(h))
        assertFieldError(await refused('/table/tables', { parent: schema.id, integration: other }), 'integration')
      })

      test('refuses a parent of another workspace, a missing parent and a malformed one', async () => {
        const elsewhere = await makeWorkspace(h)
        const integration = (
          await h.request({
            method: 'POST',
            url: '/api/v1/integration/integrations',
            headers: { authorization: elsewhere.authorization },
            body: { name: 'Theirs', type: 'postgres' },
          })
        ).json().id
        const theirs = await h.request({
          method: 'POST',
          url: '/api/v1/database/databases',
          headers: { authorization: elsewhere.authorization },
          body: { title: 'Theirs', integration },
        })
        assert.equal(theirs.statusCode, 201, theirs.body)
        assertFieldError(await refused('/database/schemas', { parent: theirs.json().id }), 'parent')
        assertFieldError(await refused('/database/schemas', { parent: randomUUID() }), 'parent')
        assertFieldError(await refused('/database/schemas', { parent: 'nope' }), 'parent')
      })
    })

    describe('title_full and search_metadata', () => {
      const read = async (path: string, id: string) => {
        const response = await get(path, id)
        assert.equal(response.statusCode, 200, response.body)
        return response.json()
      }

      test('follow the hierarchy and every rename of an ancestor', async () => {
        const database = await makeDatabase(h, { title: 'Sales' })
        const schema = await makeVia(h, '/database/schemas', { title: 'public', parent: database.id })
        const table = await makeVia(h, '/table/tables', { title: 'orders', parent: schema.id })
        const column = await makeVia(h, '/table/columns', { title: 'id', parent: table.id })
        const nested = await makeVia(h, '/table/columns', { title: 'part', parent: column.id })
        const chain = [
          ['/database/schemas', schema.id, 'schema'],
          ['/table/tables', table.id, 'table'],
          ['/table/columns', column.id, 'column'],
          ['/table/columns', nested.id, 'column'],
        ] as const
        const expect = async (db: string, sc: string) => {
          const fulls = [`${db}.${sc}`, `${db}.${sc}.orders`, `${db}.${sc}.orders.id`, `${db}.${sc}.orders.id.part`]
          for (const [i, [path, id, type]] of chain.entries()) {
            const resource = await read(path, id)
            assert.equal(resource.title_full, fulls[i], `${type} ${id}`)
            assert.deepEqual(resource.search_metadata, { database: db, schema: sc, type }, `${type} ${id}`)
          }
        }

        assert.equal(column.title_full, 'Sales.public.orders.id')
        assert.deepEqual(column.search_metadata, { database: 'Sales', schema: 'public', type: 'column' })
        await expect('Sales', 'public')

        const renamed = await patch('/database/databases', database.id, { title: 'Revenue' })
        assert.equal(renamed.statusCode, 200, renamed.body)
        assert.equal(renamed.json().title_full, 'Revenue')
        await expect('Revenue', 'public')

        const schemaRenamed = await patch('/database/schemas', schema.id, { title: 'analytics' })
        assert.equal(schemaRenamed.statusCode, 200, schemaRenamed.body)
        await expect('Revenue', 'analytics')

        const viaAll = await h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${database.id}`,
          body: { title: 'Income' },
        })
        assert.equal(viaAll.statusCode, 200, viaAll.body)
        await expect('Income', 'analytics')

        const filter = encodeURIComponent(
          JSON.stringify({ operator: 'exact', field: 'title_full', value: 'Income.analytics.orders.id' }),
        )
        const found = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${filter}` })
        assert.deepEqual(ids(found), [column.id])
      })

      test('follow a rename of a table down to nested columns, and leave other branches alone', async () => {
        const database = await makeDatabase(h, { title: 'Ops' })
        const schema = await makeVia(h, '/database/schemas', { title: 'main', parent: database.id })
        const table = await makeVia(h, '/table/tables', { title: 'events', parent: schema.id })
        const sibling = await makeVia(h, '/table/tables', { title: 'users', parent: schema.id })
        const column = await makeVia(h, '/table/columns', { title: 'payload', parent: table.id })
        const nested = await makeVia(h, '/table/columns', { title: 'kind', parent: column.id })
        const siblingColumn = await makeVia(h, '/table/columns', { title: 'email', parent: sibling.id })
        assert.equal((await patch('/table/tables', table.id, { title: 'log' })).statusCode, 200)
        assert.equal((await read('/table/columns', column.id)).title_full, 'Ops.main.log.payload')
        assert.equal((await read('/table/columns', nested.id)).title_full, 'Ops.main.log.payload.kind')
        assert.deepEqual((await read('/table/columns', nested.id)).search_metadata, {
          database: 'Ops',
          schema: 'main',
          type: 'column',
        })
        assert.equal((await read('/table/columns', siblingColumn.id)).title_full, 'Ops.main.users.email')
        assert.equal((await read('/table/tables', sibling.id)).title_full, 'Ops.main.users')
      })

      test('give a database and a collection their own names', async () => {
        const database = await makeDatabase(h, { title: 'Warehouse' })
        assert.deepEqual(database.search_metadata, { database: 'Warehouse', schema: null, type: 'database' })
        const schema = await makeVia(h, '/database/schemas', { title: 'raw', parent: database.id })
        assert.deepEqual(schema.search_metadata, { database: 'Warehouse', schema: 'raw', type: 'schema' })
        const collection = await makeVia(h, '/collection/collections', { title: 'Finance' })
        const inner = await makeVia(h, '/collection/collections', { title: 'Q1', parent: collection.id })
        assert.equal(inner.title_full, 'Finance.Q1')
        assert.deepEqual(inner.search_metadata, { database: null, schema: null, type: 'collection' })
      })
    })

    describe('children_count', () => {
      test('counts direct children through creates and deletes', async () => {
        const database = await makeDatabase(h)
        const schema = await makeVia(h, '/database/schemas', { parent: database.id })
        const count = async (path: string, id: string) => (await get(path, id)).json().children_count
        assert.equal(schema.children_count, 0)
        const tables = []
        for (let i = 0; i < 3; i++) {
          tables.push(await makeVia(h, '/table/tables', { parent: schema.id }))
        }
        assert.equal(await count('/database/schemas', schema.id), 3)
        assert.equal(await count('/database/databases', database.id), 1)
        const first = tables[0] as Resource
        await makeVia(h, '/table/columns', { parent: first.id })
        await makeVia(h, '/table/columns', { parent: first.id })
        assert.equal(await count('/table/tables', first.id), 2)
        assert.equal(await count('/database/schemas', schema.id), 3, 'grandchildren do not count')
        assert.equal((await remove('/table/tables', (tables[1] as Resource).id)).statusCode, 204)
        assert.equal(await count('/database/schemas', schema.id), 2)
        assert.equal((await remove('/table/tables', first.id)).statusCode, 204)
        assert.equal(await count('/database/schemas', schema.id), 1)
        const listed = await list('/database/schemas', `parent_id=${database.id}`)
        assert.equal(listed.json().results[0].children_count, 1)
      })
    })

    describe('subtree delete', () => {
      test('leaves no orphan resources and no list rows of the deleted resources', async () => {
        const owner = await makeUser(h)
        const tag = await makeTag(h)
        const team = await makeTeam(h)
        const lists = { owners: [owner], tags: [tag], teams: [team], subscribers: [owner] }
        const database = await makeDatabase(h, lists)
        const kept = await makeDatabase(h, { integration: database.integration, ...lists })
        const keptSchema = await makeVia(h, '/database/schemas', { parent: kept.id, ...lists })
        const deleted: string[] = [database.id]
        for (let s = 0; s < 2; s++) {
          const schema = await makeVia(h, '/database/schemas', { parent: database.id, ...lists })
          deleted.push(schema.id)
          for (let t = 0; t < 2; t++) {
            const table = await makeVia(h, '/table/tables', { parent: schema.id, ...lists })
            const column = await makeVia(h, '/table/columns', { parent: table.id, ...lists })
            const nested = await makeVia(h, '/table/columns', { parent: column.id, ...lists })
            deleted.push(table.id, column.id, nested.id)
          }
        }
        const collection = await makeVia(h, '/collection/collections', { ...lists })
        await patch('/table/tables', deleted[2] as string, { collections: [collection.id] })

        const response = await remove('/database/databases', database.id)
        assert.equal(response.statusCode, 204, response.body)

        const left = await h.store.db.selectFrom('resources').select('id').where('id', 'in', deleted).execute()
        assert.deepEqual(left, [])
        assert.deepEqual(await findOrphans(h), [])
        for (const table of Object.values(RELATION_TABLES)) {
          const rows = await h.store.db
            .selectFrom(table)
            .select('resource_id')
            .where('resource_id', 'in', deleted)
            .execute()
          assert.deepEqual(rows, [], `${table} still holds rows of deleted resources`)
        }
        for (const id of deleted) {
          assertErrorBody(await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` }), 404, 'NOT_FOUND')
        }
        for (const [path, id] of [
          ['/database/databases', kept.id],
          ['/database/schemas', keptSchema.id],
          ['/collection/collections', collection.id],
        ] as const) {
          const still = await get(path, id)
          assert.equal(still.statusCode, 200, still.body)
          assert.deepEqual(still.json().owners, [owner])
          assert.deepEqual(still.json().tags, [tag])
          assert.deepEqual(still.json().teams, [team])
        }
        assert.equal((await get('/database/databases', kept.id)).json().children_count, 1)
      })
    })
  })
}
