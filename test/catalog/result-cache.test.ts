import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ENGINES, type Harness, makeDatabase, startHarness } from '../helpers.ts'

const byTitle = (value: string) => encodeURIComponent(JSON.stringify({ operator: 'contains', field: 'title', value }))

for (const { engine, skip } of ENGINES) {
  describe(`List Resources never answers from stale cached results on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const titles = async (query: string) => {
      const response = await h.request({ method: 'GET', url: `/resource/catalog?${query}` })
      assert.equal(response.statusCode, 200, response.body)
      return response
        .json()
        .results.map((r: { title: string }) => r.title)
        .sort()
    }

    test('a PATCH through the API shows in the next identical list', async () => {
      const db = await makeDatabase(h, { title: 'cache alpha' })
      assert.deepEqual(await titles(`filter=${byTitle('alpha')}`), ['cache alpha'])
      assert.deepEqual(await titles(`filter=${byTitle('beta')}`), [])
      await h.request({ method: 'PATCH', url: `/database/databases/${db.id}`, body: { title: 'cache beta' } })
      assert.deepEqual(await titles(`filter=${byTitle('alpha')}`), [])
      assert.deepEqual(await titles(`filter=${byTitle('beta')}`), ['cache beta'])
    })

    test('a write by another connection (another instance or a CLI) shows in the next identical list', async () => {
      const db = await makeDatabase(h, { title: 'peer gamma' })
      assert.deepEqual(await titles(`filter=${byTitle('gamma')}`), ['peer gamma'])
      assert.deepEqual(await titles(`filter=${byTitle('delta')}`), [])
      const peer = await h.openPeer()
      try {
        await peer.db.updateTable('resources').set({ title: 'peer delta' }).where('id', '=', db.id).execute()
      } finally {
        await peer.close()
      }
      assert.deepEqual(await titles(`filter=${byTitle('gamma')}`), [])
      assert.deepEqual(await titles(`filter=${byTitle('delta')}`), ['peer delta'])
    })

    test('a delete shows in count and pages at once', async () => {
      const first = await makeDatabase(h, { title: 'gone one' })
      await makeDatabase(h, { title: 'gone two' })
      const list = async () =>
        (await h.request({ method: 'GET', url: `/resource/catalog?filter=${byTitle('gone')}` })).json()
      assert.equal((await list()).count, 2)
      await h.request({ method: 'DELETE', url: `/database/databases/${first.id}` })
      const after = await list()
      assert.equal(after.count, 1)
      assert.deepEqual(
        after.results.map((r: { title: string }) => r.title),
        ['gone two'],
      )
    })
  })
}
