import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ENGINES, type Harness, makeDatabase, startHarness } from '../helpers.ts'

for (const { engine, skip } of ENGINES) {
  describe(`smoke on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('creates and lists a database', async () => {
      const db = await makeDatabase(h)
      const list = await h.request({ method: 'GET', url: '/database/databases' })
      assert.equal(list.statusCode, 200)
      assert.deepEqual(
        list.json().results.map((r: { id: string }) => r.id),
        [db.id],
      )
    })
  })
}
