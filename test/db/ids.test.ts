import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newResourceId } from '../../src/db/ids.ts'

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('a new resource id is a lowercase UUID v4 whose first 48 bits are its time, then random', () => {
  const ids = Array.from({ length: 2000 }, () => newResourceId())
  for (const id of ids) assert.match(id, V4)
  assert.equal(new Set(ids).size, ids.length, 'no two alike')
  // Made later, ordered after (by their time part): what keeps a batch's index entries together.
  const earlier = newResourceId(Date.parse('2026-01-01T00:00:00Z'))
  const later = newResourceId(Date.parse('2026-01-01T00:00:00.001Z'))
  assert.ok(earlier < later)
  assert.equal(Number.parseInt(later.replace('-', '').slice(0, 12), 16), Date.parse('2026-01-01T00:00:00.001Z'))
  // The random part differs between ids of the same millisecond.
  const same = new Set(Array.from({ length: 100 }, () => newResourceId(0).slice(14)))
  assert.equal(same.size, 100)
})
