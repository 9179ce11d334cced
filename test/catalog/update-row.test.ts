import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { updateResourceRow } from '../../src/catalog/repository/writes.ts'
import { ENGINES, type Harness, makeDatabase, makeVia, seededRandom, startHarness } from '../helpers.ts'

// A resource's row is updated by a statement prepared for its set of columns, for the first 256 sets; other sets
// are built each time. Both ways write exactly the values given, on both engines.

const COLUMNS = ['description', 'definition', 'icon', 'url', 'pii', 'verified', 'row_count', 'byte_size', 'native_type']

for (const { engine, skip } of ENGINES) {
  describe(`updating a resource's row on ${engine}`, { skip }, () => {
    let h: Harness
    let id: string
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h)
      id = (await makeVia(h, '/database/schemas', { parent: database.id })).id
    })
    after(() => h?.close())

    test('300 sets of columns (prepared for the first 256, built after): each write reads back as written', async () => {
      const { int, chance } = seededRandom(18)
      const valueFor = (column: string, round: number): unknown => {
        if (column === 'pii' || column === 'verified') return chance(0.5)
        if (column === 'row_count' || column === 'byte_size') return int(1_000_000)
        return `${column} ${round}`
      }
      for (let round = 1; round <= 300; round++) {
        // Each round's own set of columns: the bits of the round number (1..300 over nine columns are all distinct).
        const columns = COLUMNS.filter((_, bit) => (round >> bit) & 1)
        const values = Object.fromEntries(columns.map((column) => [column, valueFor(column, round)]))
        await h.store.write((trx) => updateResourceRow(trx, id, values))
        const row = (await h.store.db
          .selectFrom('resources')
          .select(columns as never[])
          .where('id', '=', id)
          .executeTakeFirstOrThrow()) as Record<string, unknown>
        for (const column of columns) {
          const stored = row[column]
          const wanted = values[column]
          assert.equal(
            typeof wanted === 'boolean' ? Boolean(stored) : typeof wanted === 'number' ? Number(stored) : stored,
            wanted,
            `round ${round}, ${column}`,
          )
        }
      }
    })
  })
}
