import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { ApiError } from '../../src/errors.ts'
import {
  checkJsonValue,
  findJsonProblem,
  findTooDeepText,
  MAX_JSON_DEPTH,
  parseJson,
} from '../../src/http/json-body.ts'
import {
  assertErrorBody,
  assertFieldError,
  countRows,
  ENGINES,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeUser,
  startHarness,
} from '../helpers.ts'

const nest = (levels: number, inner = 'null') => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`

/** The problem parseJson reports for `text`: its field and message, from the ApiError it throws. */
function problemOf(text: string): { field: string; message: string } | undefined {
  try {
    parseJson(text)
    return undefined
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error))
    assert.equal(error.code, 'VALIDATION_ERROR', error.detail)
    return error.errors?.[0]
  }
}

describe('the JSON checks of src/http/json-body.ts', () => {
  test(`take ${MAX_JSON_DEPTH} levels of nesting and refuse one more, naming where it starts`, () => {
    assert.equal(problemOf(nest(MAX_JSON_DEPTH)), undefined)
    assert.deepEqual(problemOf(nest(MAX_JSON_DEPTH + 1)), {
      field: '[0]'.repeat(MAX_JSON_DEPTH),
      message: `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
    })
    const text = `{"title": "x", "owners": ["a", ${nest(MAX_JSON_DEPTH - 1)}]}`
    const path = `owners[1]${'[0]'.repeat(MAX_JSON_DEPTH - 2)}`
    assert.equal(problemOf(text)?.field, path)
    assert.equal(findJsonProblem(JSON.parse(text))?.path, path, 'a parsed value gives the same path as its text')
  })

  test('name the same path in text and in a parsed value, through keys with quotes, brackets and escapes', () => {
    const deep = nest(MAX_JSON_DEPTH)
    for (const text of [
      `[{"a": 1}, {"data": {"tags": [1, 2, ${deep}]}}]`,
      `{"say \\"[hi]\\"": {"{": {"x\\\\": ${deep}}}}`,
      `{"a": "]]]]", "b": ["[[[", {"c,d": ${deep}}]}`,
      `{"\\u0062": {"": ${deep}}}`,
    ]) {
      const fromText = findTooDeepText(text)
      assert.ok(fromText, text)
      assert.equal(findJsonProblem(JSON.parse(text))?.path, fromText.path, text)
    }
    assert.match(
      findTooDeepText(`[{"a": 1}, {"data": {"tags": [1, 2, ${deep}]}}]`)?.path ?? '',
      /^\[1\]\.data\.tags\[2\]\[0\]/,
    )
    assert.match(findTooDeepText(`{"a": "]]]]", "b": ["[[[", {"c,d": ${deep}}]}`)?.path ?? '', /^b\[1\]\.c,d\[0\]/)
    assert.match(
      findTooDeepText(`{"say \\"[hi]\\"": {"{": {"x\\\\": ${deep}}}}`)?.path ?? '',
      /^say "\[hi\]"\.\{\.x\\\[0\]/,
    )
  })

  test('find any depth without recursion: a million levels neither overflow nor get parsed', () => {
    const text = nest(1_000_000)
    assert.equal(findTooDeepText(text)?.path.length, 3 * MAX_JSON_DEPTH)
    let value: unknown = null
    for (let i = 0; i < 1_000_000; i++) value = [value]
    assert.equal(findJsonProblem(value)?.path.length, 3 * MAX_JSON_DEPTH)
    assert.throws(() => parseJson(text), ApiError)
  })

  test('refuse numbers beyond ±(2^53 − 1), infinite ones included, and keep every other number', () => {
    for (const number of ['1e309', '-1e309', '9007199254740992', '9007199254740993', '-9007199254740993', '1e16']) {
      assert.deepEqual(problemOf(`{"a": {"b": [0, ${number}]}}`), {
        field: 'a.b[1]',
        message: 'must be a number from -9007199254740991 to 9007199254740991',
      })
    }
    for (const number of ['9007199254740991', '-9007199254740991', '0', '-0', '1.5', '1e-400', '12345.678e3']) {
      assert.equal(problemOf(`{"a": ${number}}`), undefined, number)
    }
  })

  test('refuse a lone surrogate in a string or a key, and keep surrogate pairs', () => {
    for (const [text, field] of [
      ['{"title": "a\\ud800b"}', 'title'],
      ['{"title": "\\udc00"}', 'title'],
      ['{"owners": ["x", "\\ud83d"]}', 'owners[1]'],
      ['{"credentials": {"pass\\ud800": "x"}}', 'credentials.pass\ud800'],
    ]) {
      assert.equal(problemOf(text as string)?.field, field, text)
    }
    assert.deepEqual(parseJson('{"title": "\\ud83d\\ude00 😀"}'), { title: '😀 😀' })
    // The first problem in the text is the one named, keys included.
    assert.equal(problemOf('{"a\\ud800": 1, "b": 1e309}')?.field, 'a\ud800')
    assert.equal(problemOf('{"a": [1e309], "b\\ud800": 1}')?.field, 'a[0]')
  })

  test('parseJson answers MALFORMED_JSON, and another code when asked, with the path in the detail', () => {
    assert.throws(
      () => parseJson('{"a": '),
      (e) => e instanceof ApiError && e.code === 'MALFORMED_JSON',
    )
    assert.throws(
      () => checkJsonValue({ operands: [{ value: 2 ** 60 }] }, { code: 'INVALID_FILTER', root: 'filter' }),
      (e) =>
        e instanceof ApiError &&
        e.code === 'INVALID_FILTER' &&
        e.detail === 'filter: operands[0].value must be a number from -9007199254740991 to 9007199254740991.',
    )
  })
})

type OpenApi = { paths: Record<string, Record<string, { requestBody?: unknown }>> }

for (const { engine, skip } of ENGINES) {
  describe(`JSON bodies on ${engine}`, { skip }, () => {
    let h: Harness
    let viewer: string
    before(async () => {
      h = await startHarness(engine)
      viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    test('answer 400 naming the field, never 500, to a 20 KB body nested 10,000 deep on every route with a body, for any role', async () => {
      const doc: OpenApi = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json()
      const routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, operation]) => operation.requestBody !== undefined)
          .map(([method]) => ({
            method: method.toUpperCase(),
            url: path.replace(/\{[^}]+\}/g, randomUUID()),
          })),
      )
      assert.ok(routes.length >= 20, `routes with a body: ${routes.length}`)
      const payload = `{"title": "Deep", "name": "Deep", "owners": ${nest(10_000)}}`
      const before = await countRows(h, 'resources')
      for (const { method, url } of routes) {
        for (const authorization of [`Bearer ${h.adminKey}`, viewer]) {
          const response = await h.request({
            method: method as 'POST',
            url: `/api/v1${url}`,
            headers: { authorization, 'content-type': 'application/json' },
            payload,
          })
          assertFieldError(response, `owners${'[0]'.repeat(MAX_JSON_DEPTH - 1)}`, /deeper than 64 levels/)
        }
      }
      assert.equal(await countRows(h, 'resources'), before)
    })

    test('refuse 1e309 and integers beyond 2^53 with a 400 naming the field, in typed and free-form fields', async () => {
      const db = await makeDatabase(h)
      const integration = await makeIntegration(h)
      const cases = [
        { method: 'PATCH', url: `/database/databases/${db.id}`, payload: '{"row_count": 1e309}', field: 'row_count' },
        {
          method: 'PATCH',
          url: `/database/databases/${db.id}`,
          payload: '{"external_usage": -1e400}',
          field: 'external_usage',
        },
        {
          method: 'PATCH',
          url: `/integration/integrations/${integration}`,
          payload: '{"credentials": {"port": 9007199254740993}}',
          field: 'credentials.port',
        },
        {
          method: 'POST',
          url: '/integration/integrations',
          payload: '{"name": "Big", "type": "postgres", "credentials": {"timeout": 1e309}}',
          field: 'credentials.timeout',
        },
      ]
      const integrations = await countRows(h, 'integrations')
      for (const { method, url, payload, field } of cases) {
        const response = await h.request({
          method: method as 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload,
        })
        const body = assertFieldError(response, field, /^must be a number from -9007199254740991 to 9007199254740991$/)
        assert.doesNotMatch(body.detail, /null|Infinity/, payload)
      }
      assert.equal(await countRows(h, 'integrations'), integrations)
      const unchanged = await h.request({ method: 'GET', url: `/database/databases/${db.id}` })
      assert.equal(unchanged.json().row_count, null)
    })

    test('refuse a lone surrogate with a 400 naming the field; a surrogate pair is stored and answered as sent', async () => {
      const db = await makeDatabase(h)
      for (const [payload, field] of [
        ['{"description": "half \\ud800 a pair"}', 'description'],
        ['{"title": "\\udfff"}', 'title'],
        ['{"owners": ["\\ud83d"]}', 'owners[0]'],
      ]) {
        const response = await h.request({
          method: 'PATCH',
          url: `/database/databases/${db.id}`,
          headers: { 'content-type': 'application/json' },
          payload: payload as string,
        })
        assertFieldError(response, field as string, /lone UTF-16 surrogate/)
      }
      const stored = await h.request({ method: 'GET', url: `/database/databases/${db.id}` })
      assert.equal(stored.json().description, '')

      const pair = '\ud83d\ude00 and 😀'
      const patched = await h.request({
        method: 'PATCH',
        url: `/database/databases/${db.id}`,
        headers: { 'content-type': 'application/json' },
        payload: '{"description": "\\ud83d\\ude00 and 😀"}',
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(patched.json().description, pair)
      const read = await h.request({ method: 'GET', url: `/database/databases/${db.id}` })
      assert.equal(read.json().description, pair)
      const row = await h.store.db
        .selectFrom('resources')
        .select('description')
        .where('id', '=', db.id)
        .executeTakeFirstOrThrow()
      assert.equal(row.description, pair)
    })

    test('keep refusing __proto__ keys as Fastify does', async () => {
      const response = await h.request({
        method: 'POST',
        url: '/integration/integrations',
        headers: { 'content-type': 'application/json' },
        payload: '{"name": "P", "type": "postgres", "credentials": {"__proto__": {"admin": true}}}',
      })
      assertErrorBody(response, 400, 'MALFORMED_JSON')
    })
  })
}
