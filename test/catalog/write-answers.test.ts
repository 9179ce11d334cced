import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Kysely } from 'kysely'
import { insertResourceRow, newResourceValues } from '../../src/catalog/repository/writes.ts'
import { GroupCommit } from '../../src/db/group-commit.ts'
import type { DB } from '../../src/db/types.ts'
import { nowIso } from '../../src/db/values.ts'
import {
  countRows,
  ENGINES,
  type Harness,
  holdOpenOnPeer,
  makeDatabase,
  makeGroup,
  makeTag,
  makeTeam,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

// A write's answer is made from what its transaction read and wrote: it must be exactly what a read returns after.

for (const { engine, skip } of ENGINES) {
  describe(`answers of writes on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const read = async (id: string) => {
      const response = await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })
      assert.equal(response.statusCode, 200)
      return response.json()
    }

    test('POST answers what a GET then returns, for every entity type and with every list set', async () => {
      const database = await makeDatabase(h, { description: 'a database' })
      assert.deepEqual(database, await read(database.id))
      const [user, group, tag, team] = await Promise.all([makeUser(h), makeGroup(h), makeTag(h), makeTeam(h)])
      const schema = await makeVia(h, '/database/schemas', { parent: database.id, pii: true })
      assert.deepEqual(schema, await read(schema.id))
      const table = await makeVia(h, '/table/tables', {
        parent: schema.id,
        owners: [user],
        owners_groups: [group],
        tags: [tag],
        teams: [team, h.defaultTeamId],
        subscribers: [user],
        internal_users: [user],
        external_users: ['someone@example.com'],
        external_updated_at: '2026-01-02T03:04:05.678Z',
        row_count: 12,
        byte_size: 3400,
        internal_usage: 5,
        external_usage: 6,
        verified: true,
        published: false,
        archived: true,
        url: 'https://example.com/t',
        icon: 'table',
        native_type: 'view',
        definition: 'select 1',
      })
      assert.deepEqual(table, await read(table.id))
      const column = await makeVia(h, '/table/columns', { parent: table.id })
      assert.deepEqual(column, await read(column.id))
      const collection = await makeVia(h, '/collection/collections', {})
      assert.deepEqual(collection, await read(collection.id))
      // The parent now counts its child, which the answer of the child's POST did not need to know.
      assert.equal((await read(table.id)).children_count, 1)
    })

    test('PATCH answers what a GET then returns: scalars, lists, renames, no-op patches', async () => {
      const database = await makeDatabase(h)
      const schema = await makeVia(h, '/database/schemas', { parent: database.id })
      const table = await makeVia(h, '/table/tables', { parent: schema.id })
      const [user, tag] = await Promise.all([makeUser(h), makeTag(h)])
      const patches: Record<string, unknown>[] = [
        { description: 'now described' },
        { definition: 'select 2', verified: true },
        { archived: true },
        { archived: false, pii: true },
        { owners: [user], tags: [tag] },
        { owners: [], teams: [] },
        { external_updated_at: '2026-05-06T07:08:09Z', row_count: null },
        { title: 'renamed_table' },
        { description: 'now described' },
        {},
      ]
      for (const patch of patches) {
        const response = await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${table.id}`, body: patch })
        assert.equal(response.statusCode, 200, `${JSON.stringify(patch)}: ${response.body}`)
        assert.deepEqual(response.json(), await read(table.id), JSON.stringify(patch))
      }
      const renamedSchema = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${schema.id}`,
        body: { title: 'renamed_schema' },
      })
      assert.deepEqual(renamedSchema.json(), await read(schema.id))
      assert.equal((await read(table.id)).title_full, `${database.title}.renamed_schema.renamed_table`)
    })

    test('a List Resources page, read and then cached, holds each resource exactly as GET gives it', async () => {
      const collection = await makeVia(h, '/collection/collections', {})
      const [tag] = await Promise.all([makeTag(h)])
      for (let i = 0; i < 3; i++) {
        await makeVia(h, '/collection/collections', { parent: collection.id, tags: [tag], description: `d${i}` })
      }
      const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'parent_id', value: collection.id }))
      const url = `/api/v1/resource/catalog?filter=${filter}&page_size=2&page=2`
      const first = await h.request({ method: 'GET', url })
      const again = await h.request({ method: 'GET', url })
      assert.equal(first.statusCode, 200)
      assert.equal(again.body, first.body)
      assert.equal(again.headers['content-type'], 'application/json; charset=utf-8')
      const page = again.json()
      assert.deepEqual(Object.keys(page), ['links', 'meta', 'count', 'total_pages', 'results'])
      assert.equal(page.count, 3)
      assert.deepEqual(page.meta, { page: 2, previous_page: 1, next_page: null })
      assert.match(page.links.previous, /page_size=2&page=1$/)
      assert.equal(page.results.length, 1)
      const [item] = page.results
      const single = await h.request({ method: 'GET', url: `/api/v1/resource/all/${item.id}` })
      assert.equal(JSON.stringify(item), single.body)
    })

    test('writes sent together all commit, and one that fails fails alone', async () => {
      const database = await makeDatabase(h)
      const schema = await makeVia(h, '/database/schemas', { parent: database.id })
      const tables = await Promise.all(
        Array.from({ length: 8 }, (_, i) => makeVia(h, '/table/tables', { parent: schema.id, title: `t${i}` })),
      )
      const before = await countRows(h, 'resources')
      const missingTag = '00000000-0000-4000-8000-000000000000'
      const responses = await Promise.all([
        ...tables.map((t, i) =>
          h.request({ method: 'PATCH', url: `/api/v1/resource/all/${t.id}`, body: { description: `note ${i}` } }),
        ),
        h.request({ method: 'PATCH', url: `/api/v1/resource/all/${tables[0]?.id}`, body: { tags: [missingTag] } }),
        h.request({ method: 'POST', url: '/api/v1/table/tables', body: { title: 'late', parent: schema.id } }),
        h.request({ method: 'POST', url: '/api/v1/table/tables', body: { title: 'orphan', parent: missingTag } }),
      ])
      const statuses = responses.map((r) => r.statusCode)
      assert.deepEqual(statuses, [...tables.map(() => 200), 400, 201, 400])
      for (const [i, t] of tables.entries()) {
        const now = await read(t.id)
        assert.equal(now.description, `note ${i}`)
        assert.deepEqual(now.tags, [])
      }
      assert.equal(await countRows(h, 'resources'), before + 1)
    })

    test('PATCHes of one resource sent together all apply, one after another: no update is lost', async () => {
      const database = await makeDatabase(h)
      const count = 12
      const responses = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          h.request({ method: 'PATCH', url: `/api/v1/resource/all/${database.id}`, body: { definition: `v${i}` } }),
        ),
      )
      assert.deepEqual(
        responses.map((r) => r.statusCode),
        responses.map(() => 200),
      )
      // Each PATCH changed the definition, so each bumped its version once: every version from 2 on was answered.
      const versions = responses.map((r) => r.json().definition_version).sort((a, b) => a - b)
      assert.deepEqual(
        versions,
        Array.from({ length: count }, (_, i) => i + 2),
      )
      for (const [i, r] of responses.entries()) assert.equal(r.json().definition, `v${i}`)
      const last = responses.find((r) => r.json().definition_version === count + 1)?.json()
      assert.deepEqual(await read(database.id), last)
    })

    if (engine === 'postgres') {
      const holdOpen = (work: (trx: Kysely<DB>) => Promise<void>) => holdOpenOnPeer(h, work)

      test('a rename waiting on a peer that adds a child renames that child too', async () => {
        const database = await makeDatabase(h, { title: 'old_name' })
        const parent = await h.store.db
          .selectFrom('resources')
          .selectAll()
          .where('id', '=', database.id)
          .executeTakeFirstOrThrow()
        let childId = ''
        const commit = await holdOpen(async (trx) => {
          const values = newResourceValues({
            workspaceId: h.workspaceId,
            entityType: 'schema',
            title: 'child',
            parent,
            integrationId: parent.integration_id,
            now: nowIso(),
          })
          childId = await insertResourceRow(trx, values, { teams: [h.defaultTeamId] })
        })
        const patch = h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${database.id}`,
          body: { title: 'new_name' },
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        await commit()
        assert.equal((await patch).statusCode, 200)
        const child = await read(childId)
        assert.equal(child.title_full, 'new_name.child')
      })

      test('a PATCH waiting on a peer that changes the lists answers with the lists the peer committed', async () => {
        const team = await makeTeam(h)
        const database = await makeDatabase(h, { teams: [team] })
        // What DELETE /auth/teams does: give the resource the default team, then delete the team.
        const commit = await holdOpen(async (trx) => {
          await trx
            .insertInto('resource_teams')
            .values({ resource_id: database.id, target_id: h.defaultTeamId, position: 1 })
            .execute()
          await trx.deleteFrom('teams').where('id', '=', team).execute()
        })
        const patch = h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${database.id}`,
          body: { description: 'x' },
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        await commit()
        const answer = await patch
        assert.equal(answer.statusCode, 200, answer.body)
        assert.deepEqual(answer.json().teams, [h.defaultTeamId])
        assert.deepEqual(answer.json(), await read(database.id))
      })
    }
  })
}

describe('GroupCommit', () => {
  test('runs the writes of one turn in one transaction, each in a savepoint, and settles them after the commit', async () => {
    const h = await startHarness('sqlite')
    try {
      const group = new GroupCommit(h.store.db)
      const order: string[] = []
      const insert = (id: string) =>
        group.run(async (trx) => {
          await trx.insertInto('docent_meta').values({ key: id, value: 'x' }).execute()
          order.push(id)
          return id
        })
      const failing = group.run(async (trx) => {
        await trx.insertInto('docent_meta').values({ key: 'doomed', value: 'x' }).execute()
        throw new Error('this write fails')
      })
      const results = await Promise.allSettled([insert('a'), failing, insert('b')])
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      )
      assert.deepEqual(order, ['a', 'b'])
      const keys = await h.store.db
        .selectFrom('docent_meta')
        .select('key')
        .where('key', 'in', ['a', 'b', 'doomed'])
        .orderBy('key')
        .execute()
      assert.deepEqual(
        keys.map((k) => k.key),
        ['a', 'b'],
      )
    } finally {
      await h.close()
    }
  })
})
