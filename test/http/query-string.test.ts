import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parse } from 'fast-querystring'
import { parseQueryString } from '../../src/http/query-string.ts'

// Long query strings' parses are kept (src/http/query-string.ts): each request must still get what the router's
// own parser gives, in an object no other request shares.

describe('query strings', () => {
  const long = `filter=${encodeURIComponent(JSON.stringify({ ids: Array.from({ length: 100 }, (_, i) => `id-${i}`) }))}&tag=a&tag=b&page=2`

  test('a long query string parses as the router parses it, every time', () => {
    assert.ok(long.length >= 1024)
    for (let i = 0; i < 3; i++) assert.deepEqual({ ...parseQueryString(long) }, { ...parse(long) })
    assert.deepEqual({ ...parseQueryString('a=1&b=%20x+y') }, { ...parse('a=1&b=%20x+y') })
  })

  test("changing one request's parse changes no other's", () => {
    const first = parseQueryString(long)
    first.page = '9'
    ;(first.tag as string[]).push('c')
    delete first.filter
    const second = parseQueryString(long)
    assert.notEqual(second, first)
    assert.equal(second.page, '2')
    assert.deepEqual(second.tag, ['a', 'b'])
    assert.equal(typeof second.filter, 'string')
  })
})
