import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  type Harness,
  makeDatabase,
  makeGroup,
  makeResource,
  makeTeam,
  startHarness,
} from '../helpers.ts'

// What public clients of the Secoda API send (CONTRACT §8): Secoda's PII scanner, MCP servers, Secoda's docs.
for (const { engine, skip } of ENGINES) {
  describe(`requests real Secoda clients send, on ${engine}`, { skip }, () => {
    let h: Harness
    let database: { id: string; integration: string }
    let schema: string
    let table: string
    let columns: string[]
    before(async () => {
      h = await startHarness(engine)
      database = await makeDatabase(h, { title: 'scanner_db' })
      schema = await makeResource(h, { entityType: 'schema', title: 'analytics', parentId: database.id })
      table = await makeResource(h, { entityType: 'table', title: 'orders', parentId: schema })
      columns = []
      // Made in an order unlike their positions; the last has none.
      for (const [title, position] of [
        ['amount', 3],
        ['id', 1],
        ['note', null],
        ['customer_id', 2],
      ] as const) {
        const id = await makeResource(h, { entityType: 'column', title, parentId: table })
        await h.store.db.updateTable('resources').set({ sort_order: position }).where('id', '=', id).execute()
        columns.push(id)
      }
      const other = await makeDatabase(h, { title: 'other_db', integration: database.integration })
      const otherSchema = await makeResource(h, { entityType: 'schema', title: 'staging', parentId: other.id })
      await makeResource(h, { entityType: 'table', title: 'orders', parentId: otherSchema })
    })
    after(() => h?.close())

    const catalog = (query: string) => h.request({ method: 'GET', url: `/api/v1/resource/catalog?${query}` })
    const encode = (value: unknown) => encodeURIComponent(JSON.stringify(value))
    const titles = (response: { json(): { results: { title: string }[] } }) =>
      response.json().results.map((r) => r.title)

    test('page_size takes 1 to 1000 on every list', async () => {
      for (const path of [
        '/resource/catalog',
        '/database/databases',
        '/table/columns',
        '/user',
        '/tag',
        '/auth/teams',
      ]) {
        const response = await h.request({ method: 'GET', url: `${path}?page_size=1000` })
        assert.equal(response.statusCode, 200, `${path}: ${response.body}`)
        assertFieldError(await h.request({ method: 'GET', url: `${path}?page_size=1001` }), 'page_size')
      }
    })

    test('entity_type on /resource/catalog selects one type, and joins filter by and', async () => {
      const databases = await catalog('entity_type=database&page_size=1000')
      assert.equal(databases.statusCode, 200, databases.body)
      assert.deepEqual(titles(databases).sort(), ['other_db', 'scanner_db'])
      const filtered = await catalog(
        `entity_type=table&filter=${encode({ operator: 'exact', field: 'title', value: 'orders' })}`,
      )
      assert.equal(filtered.json().count, 2)
      const none = await catalog(
        `entity_type=schema&filter=${encode({ operator: 'exact', field: 'title', value: 'orders' })}`,
      )
      assert.equal(none.json().count, 0)
      assert.equal((await catalog('entity_type=no_such_type')).json().count, 0)
    })

    test('filter and sort take schema and database, the names in search_metadata', async () => {
      const inSchema = await catalog(`filter=${encode({ operator: 'exact', field: 'schema', value: 'analytics' })}`)
      assert.equal(inSchema.statusCode, 200, inSchema.body)
      // The schema itself and everything under it carry the name.
      assert.equal(inSchema.json().count, 6)
      assert.ok(
        inSchema
          .json()
          .results.every((r: { search_metadata: { schema: string } }) => r.search_metadata.schema === 'analytics'),
      )
      const tables = await catalog(
        `entity_type=table&sort=${encode({ field: 'database', order: 'desc' })}&filter=${encode({ operator: 'contains', field: 'database', value: '_DB' })}`,
      )
      assert.deepEqual(
        tables.json().results.map((r: { search_metadata: { database: string } }) => r.search_metadata.database),
        ['scanner_db', 'other_db'],
      )
      const bySchema = await catalog(`entity_type=table&sort=${encode({ field: 'schema' })}`)
      assert.deepEqual(
        bySchema.json().results.map((r: { search_metadata: { schema: string } }) => r.search_metadata.schema),
        ['analytics', 'staging'],
      )
    })

    test('sort_order sorts columns by position, nulls last in either order', async () => {
      const parent = encode({ operator: 'exact', field: 'parent_id', value: table })
      const ascending = await catalog(`filter=${parent}&sort=${encode({ field: 'sort_order', order: 'asc' })}`)
      assert.equal(ascending.statusCode, 200, ascending.body)
      assert.deepEqual(titles(ascending), ['id', 'customer_id', 'amount', 'note'])
      const descending = await catalog(`filter=${parent}&sort=${encode({ field: 'sort_order', order: 'desc' })}`)
      assert.deepEqual(titles(descending), ['amount', 'customer_id', 'id', 'note'])
    })

    test('/tag/tags answers as /tag does', async () => {
      const created = await h.request({ method: 'POST', url: '/api/v1/tag/tags/', body: { name: 'PII' } })
      assert.equal(created.statusCode, 201, created.body)
      const id = created.json().id
      const listed = await h.request({ method: 'GET', url: '/tag/tags' })
      assert.ok(listed.json().results.some((t: { id: string }) => t.id === id))
      assert.equal((await h.request({ method: 'GET', url: `/tag/${id}` })).json().name, 'PII')
      const patched = await h.request({ method: 'PATCH', url: `/tag/tags/${id}`, body: { color: '#ff0000' } })
      assert.equal(patched.json().color, '#ff0000')
      assert.equal((await h.request({ method: 'DELETE', url: `/tag/tags/${id}` })).statusCode, 204)
      assert.equal((await h.request({ method: 'GET', url: `/tag/${id}` })).statusCode, 404)
    })

    describe('POST /user with emails', () => {
      test('makes one user per address with the role, teams and groups given, answered as a list', async () => {
        const team = await makeTeam(h)
        const group = await makeGroup(h)
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/user/',
          body: { emails: ['Ada@Example.com', 'grace@example.com'], role: 'editor', teams: [team], groups: [group] },
        })
        assert.equal(response.statusCode, 201, response.body)
        const users = response.json()
        assert.deepEqual(
          users.map((u: { email: string }) => u.email),
          ['ada@example.com', 'grace@example.com'],
        )
        for (const user of users) {
          assert.equal(user.role, 'editor')
          assert.ok(user.teams.includes(team) && user.teams.includes(h.defaultTeamId))
          assert.deepEqual(user.user_groups, [group])
        }
      })

      test('is all or nothing, and an error names the address', async () => {
        const before = await countRows(h, 'users')
        const repeated = await h.request({
          method: 'POST',
          url: '/user',
          body: { emails: ['new1@example.com', 'NEW1@example.com'] },
        })
        assertFieldError(repeated, 'emails[1]', /repeats new1@example.com/)
        assertFieldError(
          await h.request({ method: 'POST', url: '/user', body: { emails: ['new2@example.com', 'not an email'] } }),
          'emails[1]',
        )
        const taken = await h.request({
          method: 'POST',
          url: '/user',
          body: { emails: ['new3@example.com', 'ada@example.com'] },
        })
        assertErrorBody(taken, 409, 'CONFLICT')
        assert.match(taken.json().detail, /ada@example.com/)
        assertFieldError(await h.request({ method: 'POST', url: '/user', body: { emails: [] } }), 'emails')
        assertFieldError(
          await h.request({ method: 'POST', url: '/user', body: { emails: ['x@example.com'], role: 'guest' } }),
          'teams',
        )
        assertFieldError(
          await h.request({ method: 'POST', url: '/user', body: { role: 'viewer' } }),
          'email',
          /required/,
        )
        assert.equal(await countRows(h, 'users'), before, 'nothing was written')
      })
    })
  })
}
