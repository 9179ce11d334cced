import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { assertErrorBody, ENGINES, type Harness, makeDatabase, makeTag, startHarness } from '../helpers.ts'

const list = (h: Harness, filter: unknown) =>
  h.request({
    method: 'GET',
    url: `/resource/catalog?page_size=100&filter=${encodeURIComponent(JSON.stringify(filter))}`,
  })

for (const { engine, skip } of ENGINES) {
  describe(`List Resources filters at their documented limits on ${engine}`, { skip }, () => {
    let h: Harness
    let database: { id: string; title: string }
    let tag: string
    before(async () => {
      h = await startHarness(engine)
      tag = await makeTag(h)
      database = await makeDatabase(h, { title: 'Warehouse 100% raw_data', row_count: 7, tags: [tag] })
    })
    after(() => h?.close())

    test('100 `in` lists of 1,000 values each, on text, number and list fields, match as one', async () => {
      // 100,000 values in all: one bound parameter each would exceed SQLite's 32,766 variables three times over.
      const operands = []
      for (let i = 0; i < 100; i++) {
        const values: unknown[] = []
        for (let j = 0; j < 1000; j++) values.push(randomUUID())
        operands.push({ operator: 'in', field: i % 2 === 0 ? 'id' : 'tags', value: values })
      }
      operands[97] = { operator: 'in', field: 'row_count', value: Array.from({ length: 1000 }, (_, i) => i + 1) }
      const ids = operands[10]?.value as string[]
      ids[500] = database.id
      const tags = operands[11]?.value as string[]
      tags[999] = tag
      const response = await list(h, { operator: 'and', operands: [operands[10], operands[11], operands[97]] })
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(
        response.json().results.map((r: { id: string }) => r.id),
        [database.id],
      )
      const wide = await list(h, { operator: 'or', operands })
      assert.equal(wide.statusCode, 200, wide.body)
      assert.deepEqual(
        wide.json().results.map((r: { id: string }) => r.id),
        [database.id],
      )
      const none = await list(h, { operator: 'and', operands })
      assert.equal(none.statusCode, 200, none.body)
      assert.equal(none.json().count, 0)
    })

    test('`in` compares each kind of value as that kind', async () => {
      const match = async (field: string, value: unknown[]) => {
        const response = await list(h, {
          operator: 'and',
          operands: [
            { operator: 'exact', field: 'id', value: database.id },
            { operator: 'in', field, value },
          ],
        })
        assert.equal(response.statusCode, 200, response.body)
        return response.json().count
      }
      assert.equal(await match('row_count', [7, 8]), 1)
      assert.equal(await match('row_count', [70]), 0)
      assert.equal(await match('published', [true]), 1)
      assert.equal(await match('published', [false]), 0)
      assert.equal(await match('verified', [false, true]), 1)
      assert.equal(await match('title', ['warehouse 100% raw_data']), 0, '`in` on text is case-sensitive')
      assert.equal(await match('title', [database.title]), 1)
      const created = (await h.request({ method: 'GET', url: `/resource/all/${database.id}` })).json().created_at
      assert.equal(await match('created_at', ['2001-01-01T00:00:00Z', created]), 1)
      assert.equal(await match('created_at', ['2001-01-01T00:00:00Z']), 0)
    })

    test('a `contains` value of up to 400 characters is matched; a longer one is 400 INVALID_FILTER', async () => {
      const found = await list(h, { operator: 'contains', field: 'title', value: '100% RAW_' })
      assert.deepEqual(
        found.json().results.map((r: { id: string }) => r.id),
        [database.id],
      )
      const longest = await list(h, { operator: 'contains', field: 'description', value: '%_'.repeat(200) })
      assert.equal(longest.statusCode, 200, longest.body)
      assert.equal(longest.json().count, 0)
      for (const length of [401, 50_000]) {
        const response = await list(h, { operator: 'contains', field: 'definition', value: 'x'.repeat(length) })
        assertErrorBody(response, 400, 'INVALID_FILTER')
        assert.match(response.json().detail, /value: 'contains' takes at most 400 characters/)
      }
    })
    test('values no engine compares as sent are 400 INVALID_FILTER naming where they are', async () => {
      const raw = (text: string) =>
        h.request({ method: 'GET', url: `/resource/catalog?filter=${encodeURIComponent(text)}` })
      for (const [text, where] of [
        ['{"operator": "exact", "field": "row_count", "value": 1e309}', 'filter: value'],
        ['{"operator": "in", "field": "row_count", "value": [1, 9007199254740993]}', 'filter: value[1]'],
        ['{"operator": "contains", "field": "title", "value": "a\\ud800b"}', 'filter: value'],
      ] as const) {
        const response = await raw(text)
        assertErrorBody(response, 400, 'INVALID_FILTER')
        assert.ok(response.json().detail.startsWith(where), `${text}: ${response.json().detail}`)
        assert.doesNotMatch(response.json().detail, /null/)
      }
    })
  })
}
