import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeIntegration,
  makeKey,
  makeResource,
  makeTag,
  makeUser,
  startHarness,
} from '../helpers.ts'

// CONTRACT §12: bulk update, by a list of ids (Secoda's PII scanner sends that form) or by a filter, all or nothing.

const BULK = '/api/v1/resource/all/bulk_update'

for (const { engine, skip } of ENGINES) {
  describe(`bulk update on ${engine}`, { skip }, () => {
    let h: Harness
    let table: string
    before(async () => {
      h = await startHarness(engine)
      const integration = await makeIntegration(h)
      const database = await makeResource(h, { entityType: 'database', title: 'bulk db', integrationId: integration })
      const schema = await makeResource(h, { entityType: 'schema', title: 'bulk schema', parentId: database })
      table = await makeResource(h, { entityType: 'table', title: 'wide table', parentId: schema })
    })
    after(() => h?.close())

    const bulk = (body: unknown, authorization?: string) =>
      h.request({
        method: 'POST',
        url: BULK,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      })
    const description = async (id: string) =>
      (await h.store.db.selectFrom('resources').select('description').where('id', '=', id).executeTakeFirstOrThrow())
        .description

    test('each item is a PATCH; the answer is the updated resources, in order', async () => {
      const [a, b] = [
        await makeResource(h, { entityType: 'column', title: 'email', parentId: table }),
        await makeResource(h, { entityType: 'column', title: 'phone', parentId: table }),
      ]
      const tag = await makeTag(h)
      const response = await bulk([
        { id: a, data: { pii: true, tags: [tag], description: 'an address' } },
        { id: b.toUpperCase(), data: { pii: true } },
      ])
      assert.equal(response.statusCode, 200, response.body)
      const body = response.json() as { id: string; pii: boolean; tags: string[]; description: string }[]
      assert.deepEqual(
        body.map((r) => [r.id, r.pii]),
        [
          [a, true],
          [b, true],
        ],
      )
      assert.deepEqual(body[0]?.tags, [tag])
      assert.equal(await description(a), 'an address')
    })

    test('1,000 columns in one request, in one transaction: a bad item 999 leaves all 1,000 untouched', async () => {
      const columns: string[] = []
      for (let i = 0; i < 1000; i++) {
        columns.push(await makeResource(h, { entityType: 'column', title: `c${i}`, parentId: table }))
      }
      const tag = await makeTag(h)
      const items = columns.map((id, i) => ({ id, data: { description: `column ${i}`, tags: [tag] } }))
      const bad = structuredClone(items)
      ;(bad[999] as { data: Record<string, unknown> }).data.owners = ['00000000-0000-4000-8000-000000000000']
      assertFieldError(await bulk(bad), '[999].data.owners[0]', /not a user/)
      for (const id of [columns[0], columns[500], columns[999]] as string[]) assert.equal(await description(id), '')
      const missing = structuredClone(items)
      ;(missing[3] as { id: string }).id = '00000000-0000-4000-8000-000000000000'
      assertFieldError(await bulk(missing), '[3].id', /not a resource/)
      assert.equal(await description(columns[0] as string), '')
      const response = await bulk(items)
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().length, 1000)
      assert.equal(await description(columns[999] as string), 'column 999')
      assertFieldError(await bulk([...items, items[0]]), 'body', /at most 1000 items/)
    })

    test('the shape is checked: an item without id, an unknown field, an empty list', async () => {
      const column = await makeResource(h, { entityType: 'column', title: 'x', parentId: table })
      assertFieldError(await bulk([{ data: { pii: true } }]), '[0].id')
      assert.equal((await bulk([{ id: column, data: { pii: 'yes' } }])).statusCode, 400)
      assert.equal((await bulk([])).statusCode, 400)
    })

    test('by filter: a dry run names what it would change and writes nothing; then it changes exactly that', async () => {
      const marked = await Promise.all(
        [1, 2, 3].map((i) => makeResource(h, { entityType: 'column', title: `ssn_${i}`, parentId: table })),
      )
      const filter = { operator: 'contains', field: 'title', value: 'ssn_' }
      const dry = await bulk({ filter, data: { pii: true }, dry_run: true })
      assert.equal(dry.statusCode, 200, dry.body)
      const answer = dry.json() as { count: number; ids: string[]; dry_run: boolean }
      assert.deepEqual({ ...answer, ids: [...answer.ids].sort() }, { count: 3, ids: [...marked].sort(), dry_run: true })
      const pii = async () =>
        (await h.store.db.selectFrom('resources').select('pii').where('id', 'in', marked).execute()).map((r) =>
          Boolean(r.pii),
        )
      assert.deepEqual(await pii(), [false, false, false])
      const done = await bulk({ filter: JSON.stringify(filter), data: { pii: true } })
      assert.equal(done.statusCode, 200, done.body)
      assert.equal(done.json().count, 3)
      assert.deepEqual(await pii(), [true, true, true])
      assertErrorBody(await bulk({ filter: { operator: 'nope' }, data: { pii: true } }), 400, 'INVALID_FILTER')
    })

    test('a viewer may not bulk update', async () => {
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      assertErrorBody(await bulk([{ id: table, data: { pii: true } }], viewer), 403, 'PERMISSION_DENIED')
    })
  })
}
