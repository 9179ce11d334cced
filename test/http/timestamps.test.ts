import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { parseTimestamp } from '../../src/db/values.ts'
import { assertErrorBody, assertFieldError, ENGINES, type Harness, makeDatabase, startHarness } from '../helpers.ts'

// Days Date.parse rolls over into the next month instead of refusing them.
const NOT_ON_THE_CALENDAR = [
  '2026-02-30',
  '2026-02-29T00:00:00Z',
  '2100-02-29',
  '2026-04-31T23:59:59.999Z',
  '2026-06-31',
]

describe('parseTimestamp', () => {
  test('refuses a day the month does not have, and gives the stored form of every real one', () => {
    for (const text of NOT_ON_THE_CALENDAR) {
      assert.equal(parseTimestamp(text), undefined, text)
    }
    assert.equal(parseTimestamp('2028-02-29'), '2028-02-29T00:00:00.000Z')
    assert.equal(parseTimestamp('2000-02-29T12:00:00+02:00'), '2000-02-29T10:00:00.000Z')
    assert.equal(parseTimestamp('2026-12-31T23:59:59.999Z'), '2026-12-31T23:59:59.999Z')
    assert.equal(parseTimestamp('0004-02-29T00:00:00Z'), '0004-02-29T00:00:00.000Z')
  })

  test('refuses what is not an ISO 8601 date, or a year outside 1 to 9999', () => {
    for (const text of ['', 'yesterday', '2026-13-01', '2026-00-10', '2026-01-00', '0000-01-01', '+010000-01-01']) {
      assert.equal(parseTimestamp(text), undefined, text)
    }
  })
})

for (const { engine, skip } of ENGINES) {
  describe(`timestamps on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('answer 400 INVALID_FILTER for a filter on a day the month does not have', async () => {
      for (const value of NOT_ON_THE_CALENDAR) {
        for (const field of ['created_at', 'updated_at', 'external_updated_at']) {
          const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field, value }))
          const response = await h.request({ method: 'GET', url: `/resource/catalog?filter=${filter}` })
          const body = assertErrorBody(response, 400, 'INVALID_FILTER')
          assert.match(body.detail, new RegExp(`${field}.*ISO 8601`), value)
        }
      }
      const real = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'created_at', value: '2028-02-29' }))
      assert.equal((await h.request({ method: 'GET', url: `/resource/catalog?filter=${real}` })).statusCode, 200)
    })

    test('answer 400 naming external_updated_at for a day the month does not have, and store a real one', async () => {
      const db = await makeDatabase(h)
      for (const value of NOT_ON_THE_CALENDAR.filter((text) => text.includes('T'))) {
        const response = await h.request({
          method: 'PATCH',
          url: `/database/databases/${db.id}`,
          body: { external_updated_at: value },
        })
        assertFieldError(response, 'external_updated_at')
      }
      const response = await h.request({
        method: 'PATCH',
        url: `/database/databases/${db.id}`,
        body: { external_updated_at: '2028-02-29T10:00:00+01:00' },
      })
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().external_updated_at, '2028-02-29T09:00:00.000Z')
      const read = await h.request({ method: 'GET', url: `/database/databases/${db.id}` })
      assert.equal(read.json().external_updated_at, '2028-02-29T09:00:00.000Z')
    })
  })
}
