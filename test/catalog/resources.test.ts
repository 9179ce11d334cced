import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { Insertable } from 'kysely'
import { RELATION_TABLES } from '../../src/catalog/repository/relations.ts'
import type { DB } from '../../src/db/types.ts'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  findOrphans,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeTeam,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

const CATALOG = '/api/v1/resource/catalog'

type Resource = Record<string, unknown> & { id: string }
type Json = Record<string, unknown>

/** The filter or sort as the query string carries it: spaces as `%20` or as `+`. */
function encode(text: string, spaces: '%20' | '+' = '%20'): string {
  const encoded = encodeURIComponent(text)
  return spaces === '+' ? encoded.replace(/%20/g, '+') : encoded
}

/** JSON with spaces in it (indentation and after each colon), so that the space encoding matters. */
const spaced = (value: unknown) => JSON.stringify(value, null, 1)

const ids = (response: LightMyRequestResponse): string[] => response.json().results.map((r: Resource) => r.id)

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

for (const { engine, skip } of ENGINES) {
  describe(`List Resources on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const catalog = (query: string, path = CATALOG) => h.request({ method: 'GET', url: `${path}?${query}` })
    const filtered = (filter: unknown, extra = '') =>
      catalog(`filter=${encode(typeof filter === 'string' ? filter : JSON.stringify(filter))}${extra}`)

    /** A parent collection of its own, so that a test's filter sees only what the test made. */
    const makeScope = () => makeVia(h, '/collection/collections', {})
    const inScope = (scope: string, ...operands: unknown[]) => ({
      operator: 'and',
      operands: [{ operator: 'exact', field: 'parent_id', value: scope }, ...operands],
    })

    /** Integration › database › schema › tables "Customers" (table), "customers_raw" (view), "orders" (table), ... */
    async function smallCatalog() {
      const integration = await makeIntegration(h)
      const database = await makeDatabase(h, { integration, title: 'Shop' })
      const schema = await makeVia(h, '/database/schemas', { title: 'public', parent: database.id })
      const otherSchema = await makeVia(h, '/database/schemas', { title: 'staging', parent: database.id })
      const table = (title: string, native_type: string | null, parent = schema.id, external_usage = 0) =>
        makeVia(h, '/table/tables', { title, native_type, parent, external_usage })
      const customers = await table('Customers', 'table', schema.id, 1)
      const customersRaw = await table('customers_raw', 'view', schema.id, 5)
      const orders = await table('orders', 'table')
      const oldCustomers = await table('old_customers', 'other')
      const untyped = await table('customers_untyped', null)
      const elsewhere = await table('customers_staged', 'table', otherSchema.id)
      const otherIntegration = await makeIntegration(h)
      const otherDatabase = await makeDatabase(h, { integration: otherIntegration, title: 'Shop' })
      const foreignSchema = await makeVia(h, '/database/schemas', { title: 'public', parent: otherDatabase.id })
      const foreign = await table('Customers', 'table', foreignSchema.id)
      return {
        integration,
        database,
        schema,
        customers,
        customersRaw,
        orders,
        oldCustomers,
        untyped,
        elsewhere,
        foreign,
      }
    }

    describe('GET /resource/catalog filter', () => {
      let shop: Awaited<ReturnType<typeof smallCatalog>>
      before(async () => {
        shop = await smallCatalog()
      })

      /** Every way the contract says a filter may arrive: %20 or + for spaces, padded, with a trailing newline. */
      function variants(filter: unknown): { name: string; query: string }[] {
        const text = spaced(filter)
        assert.ok(text.includes(' '), 'the filter text must contain spaces')
        const out: { name: string; query: string }[] = []
        for (const spaces of ['%20', '+'] as const) {
          out.push({ name: `spaces as ${spaces}`, query: `filter=${encode(text, spaces)}` })
          out.push({ name: `spaces as ${spaces}, padded`, query: `filter=${encode(`  ${text} \t\n`, spaces)}` })
          out.push({ name: `spaces as ${spaces}, trailing newline`, query: `filter=${encode(`${text}\n`, spaces)}` })
        }
        return out
      }

      async function assertSelects(filter: unknown, expected: string[]) {
        for (const { name, query } of variants(filter)) {
          for (const path of [CATALOG, '/api/v1/resource/all', '/resource/catalog/']) {
            const response = await catalog(query, path)
            assert.equal(response.statusCode, 200, `${path} ${name}: ${response.body}`)
            assert.deepEqual(ids(response), expected, `${path} ${name}`)
            assert.equal(response.json().count, expected.length, `${path} ${name}`)
          }
        }
      }

      test("selects exactly what the reference docs' example filter describes", async () => {
        const filter = {
          operator: 'and',
          operands: [
            { operator: 'contains', field: 'title', value: 'customers' },
            { operator: 'in', field: 'native_type', value: ['table', 'view'] },
            { operator: 'in', field: 'integration_id', value: [shop.integration] },
            { operator: 'in', field: 'parent_id', value: [shop.schema.id] },
          ],
        }
        // Default order: external_usage desc (5, then 1).
        await assertSelects(filter, [shop.customersRaw.id, shop.customers.id])
      })

      test('selects the databases with an exact type', async () => {
        const filter = {
          operator: 'and',
          operands: [
            { operator: 'exact', field: 'type', value: 'database' },
            { operator: 'exact', field: 'integration', value: shop.integration },
          ],
        }
        await assertSelects(filter, [shop.database.id])
        const everyDatabase = await filtered({ operator: 'exact', field: 'type', value: 'database' })
        assert.equal(everyDatabase.statusCode, 200, everyDatabase.body)
        const types = everyDatabase.json().results.map((r: Resource) => r.entity_type)
        assert.ok(types.length >= 2 && types.every((t: string) => t === 'database'), types.join())
      })

      test('selects one resource with an exact id', async () => {
        await assertSelects({ operator: 'exact', field: 'id', value: shop.orders.id }, [shop.orders.id])
      })

      test('treats a blank filter as no filter', async () => {
        const all = await catalog('page_size=1')
        const blank = await catalog(`page_size=1&filter=${encode('  \n')}`)
        assert.equal(blank.statusCode, 200, blank.body)
        assert.equal(blank.json().count, all.json().count)
      })

      test('matches contains case-insensitively, accented capitals included', async () => {
        const scope = (await makeScope()).id
        const upper = await makeVia(h, '/collection/collections', { title: 'OLD CUSTOMERS', parent: scope })
        const mixed = await makeVia(h, '/collection/collections', { title: 'CuStOmErS', parent: scope })
        const accented = await makeVia(h, '/collection/collections', { title: 'ÉCOLE', parent: scope })
        await makeVia(h, '/collection/collections', { title: 'orders', parent: scope })
        const contains = (value: string) => filtered(inScope(scope, { operator: 'contains', field: 'title', value }))
        assert.deepEqual(ids(await contains('customers')).sort(byId), [upper.id, mixed.id].sort(byId))
        assert.deepEqual(ids(await contains('CUSTOMERS')).sort(byId), [upper.id, mixed.id].sort(byId))
        assert.deepEqual(ids(await contains('école')), [accented.id])
      })

      test('treats % and _ in a contains value literally', async () => {
        const scope = (await makeScope()).id
        const titles = ['a%b', 'axb', 'a_b', 'ab']
        const made: Record<string, string> = {}
        for (const title of titles) {
          made[title] = (await makeVia(h, '/collection/collections', { title, parent: scope })).id
        }
        const contains = async (value: string) =>
          ids(await filtered(inScope(scope, { operator: 'contains', field: 'title', value }))).sort(byId)
        assert.deepEqual(await contains('%'), [made['a%b']])
        assert.deepEqual(await contains('_'), [made.a_b])
        assert.deepEqual(await contains('a%b'), [made['a%b']])
        assert.deepEqual(await contains('a_b'), [made.a_b])
        assert.deepEqual(await contains('\\'), [])
        assert.deepEqual(await contains('B'), titles.map((t) => made[t] as string).sort(byId))
      })
    })

    describe('GET /resource/catalog invalid filter', () => {
      const leaf = { operator: 'exact', field: 'title', value: 'x' }
      const nest = (depth: number) => {
        let node: unknown = leaf
        for (let i = 0; i < depth; i++) node = { operator: 'and', operands: [node] }
        return node
      }
      const orOf = (n: number) => ({
        operator: 'or',
        operands: Array.from({ length: n }, (_, i) => ({ operator: 'exact', field: 'title', value: `t${i}` })),
      })
      const inOf = (n: number) => ({
        operator: 'in',
        field: 'id',
        value: Array.from({ length: n }, () => randomUUID()),
      })

      const cases: { name: string; filter: unknown; says: string[] }[] = [
        {
          name: 'an unknown field, naming its place',
          filter: { operator: 'and', operands: [leaf, { operator: 'exact', field: 'colour', value: 'red' }] },
          says: ['operands[1].field', 'colour'],
        },
        {
          name: 'an unknown operator',
          filter: { operator: 'or', operands: [{ operator: 'startswith', field: 'title', value: 'a' }] },
          says: ['operands[0].operator', 'startswith'],
        },
        {
          name: 'a number for a text field',
          filter: { operator: 'exact', field: 'title', value: 5 },
          says: ['value', 'title'],
        },
        {
          name: 'a string for a boolean field',
          filter: { operator: 'exact', field: 'pii', value: 'yes' },
          says: ['value', 'pii'],
        },
        {
          name: 'a string for a number field',
          filter: { operator: 'exact', field: 'external_usage', value: 'x' },
          says: ['value', 'external_usage'],
        },
        {
          name: 'a timestamp that is not ISO 8601',
          filter: { operator: 'exact', field: 'created_at', value: 'yesterday' },
          says: ['value', 'created_at'],
        },
        {
          name: '`in` with a value that is not an array',
          filter: { operator: 'in', field: 'title', value: 'a' },
          says: ['value', 'array'],
        },
        { name: '`in` with an empty array', filter: { operator: 'in', field: 'title', value: [] }, says: ['value'] },
        {
          name: '`in` with an element of the wrong type',
          filter: { operator: 'in', field: 'row_count', value: [1, 'two'] },
          says: ['value[1]', 'row_count'],
        },
        {
          name: '`not` with two operands',
          filter: { operator: 'not', operands: [leaf, leaf] },
          says: ['operands', 'not'],
        },
        { name: '`and` with no operands', filter: { operator: 'and', operands: [] }, says: ['operands'] },
        { name: '`and` without an operands array', filter: { operator: 'and', operands: leaf }, says: ['operands'] },
        { name: 'nesting 9 deep', filter: nest(9), says: ['8'] },
        { name: '101 operands', filter: orOf(101), says: ['operands', '100'] },
        { name: 'an `in` list of 1001 values', filter: inOf(1001), says: ['value', '1000'] },
        {
          name: 'contains on a list field',
          filter: { operator: 'contains', field: 'owners', value: 'x' },
          says: ['owners'],
        },
        {
          name: 'contains on a boolean field',
          filter: { operator: 'contains', field: 'pii', value: 'x' },
          says: ['pii'],
        },
        { name: 'a leaf without a field', filter: { operator: 'exact', value: 'x' }, says: ['field'] },
        { name: 'JSON that is an array', filter: [leaf], says: ['object'] },
        { name: 'JSON that is a string', filter: 'title', says: ['object'] },
        { name: 'JSON that is null', filter: null, says: ['object'] },
        { name: 'JSON that is a number', filter: 7, says: ['object'] },
      ]

      for (const { name, filter, says } of cases) {
        test(`returns 400 INVALID_FILTER for ${name}`, async () => {
          const response = await catalog(`filter=${encode(spaced(filter), '+')}`)
          const body = assertErrorBody(response, 400, 'INVALID_FILTER')
          for (const word of says) {
            assert.ok(body.detail.includes(word), `detail should mention ${word}: ${body.detail}`)
          }
        })
      }

      test('returns 400 INVALID_FILTER for text that is not JSON', async () => {
        for (const text of [
          '{"operator": "exact", "field": "title"',
          'title=orders',
          '{operator: "and"}',
          "{'a': 1}",
        ]) {
          const body = assertErrorBody(await catalog(`filter=${encode(text)}`), 400, 'INVALID_FILTER')
          assert.match(body.detail, /JSON/, body.detail)
        }
      })

      test('accepts nesting 8 deep, 100 operands and an `in` list of 1000 values', async () => {
        for (const filter of [nest(8), orOf(100), inOf(1000)]) {
          const response = await filtered(filter)
          assert.equal(response.statusCode, 200, response.body)
          assert.equal(response.json().count, 0)
        }
      })

      test('answers a NUL character in a text value with 400 INVALID_FILTER or no match, never 500', async () => {
        const title = (await makeScope()).title as string
        for (const filter of [
          { operator: 'exact', field: 'title', value: `${title}\u0000` },
          { operator: 'contains', field: 'title', value: '\u0000' },
          { operator: 'contains', field: 'title', value: `${title.slice(0, 3)}\u0000` },
          { operator: 'in', field: 'description', value: ['\u0000'] },
          { operator: 'exact', field: 'owners', value: 'a\u0000b' },
        ]) {
          const response = await filtered(filter)
          if (response.statusCode === 400) {
            assertErrorBody(response, 400, 'INVALID_FILTER')
          } else {
            assert.equal(response.statusCode, 200, `${JSON.stringify(filter)}: ${response.body}`)
            assert.equal(response.json().count, 0, `no stored text holds a NUL: ${JSON.stringify(filter)}`)
          }
        }
      })

      test('answers a timestamp the store cannot hold (year 0) with 400 INVALID_FILTER or no match, never 500', async () => {
        for (const filter of [
          { operator: 'exact', field: 'created_at', value: '0000-01-01' },
          { operator: 'in', field: 'external_updated_at', value: ['0000-06-01T00:00:00Z'] },
        ]) {
          const response = await filtered(filter)
          if (response.statusCode === 400) {
            const body = assertErrorBody(response, 400, 'INVALID_FILTER')
            assert.ok(body.detail.includes('value'), body.detail)
          } else {
            assert.equal(response.statusCode, 200, `${JSON.stringify(filter)}: ${response.body}`)
            assert.equal(response.json().count, 0)
          }
        }
      })

      test('names the place of an error deep inside the tree', async () => {
        const filter = {
          operator: 'or',
          operands: [
            leaf,
            {
              operator: 'not',
              operands: [{ operator: 'and', operands: [leaf, { operator: 'in', field: 'tags', value: 'x' }] }],
            },
          ],
        }
        const body = assertErrorBody(await filtered(filter), 400, 'INVALID_FILTER')
        assert.ok(body.detail.includes('operands[1].operands[0].operands[1].value'), body.detail)
      })
    })

    describe('GET /resource/catalog invalid sort', () => {
      const cases: { name: string; sort: string; says: string[] }[] = [
        {
          name: 'an unknown field',
          sort: JSON.stringify({ field: 'colour', order: 'asc' }),
          says: ['field', 'colour'],
        },
        { name: 'a bad order', sort: JSON.stringify({ field: 'title', order: 'up' }), says: ['order'] },
        { name: 'text that is not JSON', sort: '{"field": "title"', says: ['JSON'] },
        { name: 'JSON that is an array', sort: '[{"field": "title"}]', says: ['object'] },
        { name: 'JSON that is a string', sort: '"title"', says: ['object'] },
        { name: 'JSON that is null', sort: 'null', says: ['object'] },
        { name: 'a sort without a field', sort: '{"order": "asc"}', says: ['field'] },
        {
          name: 'an unknown field inside tie_breaker',
          sort: JSON.stringify({ field: 'title', order: 'asc', tie_breaker: { field: 'colour', order: 'asc' } }),
          says: ['tie_breaker.field', 'colour'],
        },
        {
          name: 'a tie_breaker that is not an object',
          sort: JSON.stringify({ field: 'title', tie_breaker: 'row_count' }),
          says: ['tie_breaker'],
        },
      ]
      for (const { name, sort, says } of cases) {
        test(`returns 400 INVALID_SORT for ${name}`, async () => {
          const response = await h.request({ method: 'GET', url: `${CATALOG}?sort=${encode(sort, '+')}` })
          const body = assertErrorBody(response, 400, 'INVALID_SORT')
          for (const word of says) {
            assert.ok(body.detail.includes(word), `detail should mention ${word}: ${body.detail}`)
          }
        })
      }
    })

    describe('GET /resource/catalog sort', () => {
      let scope: string
      let a: string
      let b: string
      let c: string
      let d: string
      before(async () => {
        scope = (await makeScope()).id
        const make = async (body: Json) => (await makeVia(h, '/collection/collections', { parent: scope, ...body })).id
        // total_usage: a 6, b 2, c 7, d 7
        a = await make({
          title: 'b',
          internal_usage: 1,
          external_usage: 5,
          row_count: 10,
          external_updated_at: '2025-03-01T00:00:00Z',
        })
        b = await make({
          title: 'a',
          internal_usage: 0,
          external_usage: 2,
          row_count: null,
          external_updated_at: '2025-01-01T00:00:00Z',
        })
        c = await make({ title: 'c', internal_usage: 7, external_usage: 0, row_count: 3 })
        d = await make({
          title: 'd',
          internal_usage: 2,
          external_usage: 5,
          external_updated_at: '2025-02-01T00:00:00Z',
        })
      })

      const sorted = async (sort: unknown | undefined) => {
        const filter = encode(JSON.stringify({ operator: 'exact', field: 'parent_id', value: scope }))
        const query = sort === undefined ? `filter=${filter}` : `filter=${filter}&sort=${encode(spaced(sort))}`
        const response = await catalog(query)
        assert.equal(response.statusCode, 200, response.body)
        return ids(response)
      }
      const tie = (...items: string[]) => items.sort(byId)

      test('orders by external_usage descending, then id, by default', async () => {
        assert.deepEqual(await sorted(undefined), [...tie(a, d), b, c])
      })

      test('orders by title ascending and descending', async () => {
        assert.deepEqual(await sorted({ field: 'title', order: 'asc' }), [b, a, c, d])
        assert.deepEqual(await sorted({ field: 'title', order: 'desc' }), [d, c, a, b])
        assert.deepEqual(await sorted({ field: 'title' }), [b, a, c, d], 'order defaults to asc')
      })

      test('orders by total_usage, the sum of internal and external usage', async () => {
        assert.deepEqual(await sorted({ field: 'total_usage', order: 'asc' }), [b, a, ...tie(c, d)])
        assert.deepEqual(await sorted({ field: 'total_usage', order: 'desc' }), [...tie(c, d), a, b])
      })

      test('puts nulls last in both directions', async () => {
        assert.deepEqual(await sorted({ field: 'row_count', order: 'asc' }), [c, a, ...tie(b, d)])
        assert.deepEqual(await sorted({ field: 'row_count', order: 'desc' }), [a, c, ...tie(b, d)])
        assert.deepEqual(await sorted({ field: 'external_updated_at', order: 'desc' }), [a, d, b, c])
      })

      test('breaks ties with the tie_breaker chain, then id', async () => {
        assert.deepEqual(
          await sorted({ field: 'total_usage', order: 'desc', tie_breaker: { field: 'title', order: 'desc' } }),
          [d, c, a, b],
        )
        assert.deepEqual(
          await sorted({ field: 'external_usage', order: 'desc', tie_breaker: { field: 'title', order: 'desc' } }),
          [d, a, b, c],
        )
        assert.deepEqual(
          await sorted({
            field: 'row_count',
            order: 'desc',
            tie_breaker: { field: 'internal_usage', order: 'asc', tie_breaker: { field: 'title', order: 'asc' } },
          }),
          [a, c, b, d],
        )
        assert.deepEqual(await sorted({ field: 'title', order: 'asc', tie_breaker: null }), [b, a, c, d])
      })

      test('accepts externally_updated_at as an alias of external_updated_at', async () => {
        const alias = await sorted({ field: 'externally_updated_at', order: 'asc' })
        assert.deepEqual(alias, [b, d, a, c])
        assert.deepEqual(await sorted({ field: 'external_updated_at', order: 'asc' }), alias)
      })
    })

    describe('GET /resource/catalog teams', () => {
      test('lists only the resources of the given team', async () => {
        const team = await makeTeam(h)
        const other = await makeTeam(h)
        const first = await makeVia(h, '/collection/collections', { teams: [team] })
        const second = await makeVia(h, '/collection/collections', { teams: [other, team] })
        await makeVia(h, '/collection/collections', { teams: [other] })
        await makeVia(h, '/collection/collections', {})
        const response = await catalog(`teams=${team}`)
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(ids(response).sort(byId), [first.id, second.id].sort(byId))
        assert.equal(response.json().count, 2)
        assert.deepEqual(ids(await catalog(`teams=${team.toUpperCase()}`)).sort(byId), [first.id, second.id].sort(byId))
        const withFilter = await catalog(
          `teams=${team}&filter=${encode(JSON.stringify({ operator: 'exact', field: 'id', value: first.id }))}`,
        )
        assert.deepEqual(ids(withFilter), [first.id])
        assert.equal((await catalog(`teams=${randomUUID()}`)).json().count, 0)
      })

      test('returns 400 for a malformed team id', async () => {
        for (const teams of ['nope', '123', `${randomUUID()}x`]) {
          assertFieldError(await catalog(`teams=${teams}`), 'teams')
        }
      })
    })

    describe('GET /resource/catalog pagination links', () => {
      test('keep filter and sort exactly as sent and change only page', async () => {
        const scope = (await makeScope()).id
        const made: string[] = []
        for (const title of ['one', 'two', 'three']) {
          made.push((await makeVia(h, '/collection/collections', { title, parent: scope })).id)
        }
        const filter = encode(spaced({ operator: 'exact', field: 'parent_id', value: scope }), '+')
        const sort = encode(spaced({ field: 'title', order: 'desc', tie_breaker: null }), '%20')
        const base = `filter=${filter}&page_size=1&sort=${sort}`
        const strip = (link: string | null) => {
          assert.ok(link !== null && /^http:\/\/[^/]+\//.test(link), String(link))
          return link.replace(/^http:\/\/[^/]+/, '')
        }

        const first = await catalog(base)
        assert.equal(first.statusCode, 200, first.body)
        assert.equal(first.json().total_pages, 3)
        assert.equal(strip(first.json().links.next), `${CATALOG}?${base}&page=2`)
        assert.equal(first.json().links.previous, null)

        const second = await catalog(`${base}&page=2`)
        assert.equal(strip(second.json().links.next), `${CATALOG}?${base}&page=3`)
        assert.equal(strip(second.json().links.previous), `${CATALOG}?${base}&page=1`)

        const third = await catalog(`${base}&page=3`)
        assert.equal(third.json().links.next, null)
        assert.equal(strip(third.json().links.previous), `${CATALOG}?${base}&page=2`)

        // title desc: two, three, one
        assert.deepEqual([...ids(first), ...ids(second), ...ids(third)], [made[1], made[2], made[0]])

        const bare = await h.request({ method: 'GET', url: `/resource/all/?${base}` })
        assert.equal(bare.statusCode, 200, bare.body)
        assert.equal(strip(bare.json().links.next), `/resource/all/?${base}&page=2`)
      })
    })

    describe('POST /resource/catalog', () => {
      const post = (body: Json) => h.request({ method: 'POST', url: CATALOG, body })

      test('creates a table under a schema, with the entity_type of the body', async () => {
        const database = await makeDatabase(h)
        const schema = await makeVia(h, '/resource/catalog', { entity_type: 'schema', parent: database.id })
        assert.equal(schema.entity_type, 'schema')
        const response = await post({ entity_type: 'table', title: 'orders', parent: schema.id, native_type: 'VIEW' })
        assert.equal(response.statusCode, 201, response.body)
        const table = response.json()
        assert.equal(table.entity_type, 'table')
        assert.equal(table.parent, schema.id)
        assert.equal(table.integration, database.integration)
        assert.equal(table.native_type, 'VIEW')
        assert.equal(table.title_full, `${database.title}.${schema.title}.orders`)
        assert.deepEqual((await h.request({ method: 'GET', url: `/api/v1/table/tables/${table.id}` })).json(), table)
      })

      test('creates a column under a column', async () => {
        const database = await makeDatabase(h)
        const schema = await makeVia(h, '/database/schemas', { parent: database.id })
        const table = await makeVia(h, '/table/tables', { parent: schema.id })
        const column = await makeVia(h, '/resource/catalog', {
          entity_type: 'column',
          title: 'address',
          parent: table.id,
        })
        const response = await post({ entity_type: 'column', title: 'street', parent: column.id })
        assert.equal(response.statusCode, 201, response.body)
        assert.equal(response.json().entity_type, 'column')
        assert.equal(response.json().parent, column.id)
        assert.equal(response.json().title_full, `${table.title_full}.address.street`)
      })

      test('creates a collection at the top without an integration', async () => {
        const response = await post({ entity_type: 'collection', title: 'Finance' })
        assert.equal(response.statusCode, 201, response.body)
        const collection = response.json()
        assert.equal(collection.entity_type, 'collection')
        assert.equal(collection.parent, null)
        assert.equal(collection.integration, null)
        assert.deepEqual(collection.teams, [h.defaultTeamId])
      })

      test('returns 400 naming entity_type when it is unknown or missing, and writes nothing', async () => {
        const database = await makeDatabase(h)
        const before = (await catalog('page_size=1')).json().count
        assertFieldError(await post({ entity_type: 'spreadsheet', title: 'x', parent: database.id }), 'entity_type')
        assertFieldError(await post({ entity_type: 5, title: 'x' }), 'entity_type')
        assertFieldError(await post({ title: 'x', parent: database.id }), 'entity_type')
        assert.equal((await catalog('page_size=1')).json().count, before)
      })

      test('returns 400 naming the field for text with a NUL character, on every engine', async () => {
        const before = (await catalog('page_size=1')).json().count
        assertFieldError(await post({ entity_type: 'collection', title: 'a\u0000b' }), 'title')
        assertFieldError(await post({ entity_type: 'collection', title: 'ok', description: '\u0000' }), 'description')
        assert.equal((await catalog('page_size=1')).json().count, before)
      })

      test('returns 400 naming external_updated_at for a timestamp in year 0, on every engine', async () => {
        const response = await post({
          entity_type: 'collection',
          title: 'x',
          external_updated_at: '0000-01-01T00:00:00Z',
        })
        assertFieldError(response, 'external_updated_at')
      })

      test('applies the hierarchy rules to the entity_type of the body', async () => {
        const database = await makeDatabase(h)
        assertFieldError(await post({ entity_type: 'table', title: 'x', parent: database.id }), 'parent', /schema/)
        assertFieldError(await post({ entity_type: 'schema', title: 'x' }), 'parent')
      })
    })

    describe('GET|PATCH|DELETE /resource/all/{id}', () => {
      const one = (method: 'GET' | 'PATCH' | 'DELETE', id: string, body?: Json) =>
        h.request({ method, url: `/api/v1/resource/all/${id}`, ...(body === undefined ? {} : { body }) })

      async function chain() {
        const database = await makeDatabase(h)
        const schema = await makeVia(h, '/database/schemas', { parent: database.id })
        const table = await makeVia(h, '/table/tables', { parent: schema.id })
        const column = await makeVia(h, '/table/columns', { parent: table.id })
        return { database, schema, table, column }
      }

      test('gets a resource of any type', async () => {
        const { database, schema, table, column } = await chain()
        const collection = await makeVia(h, '/collection/collections', {})
        for (const [resource, type] of [
          [database, 'database'],
          [schema, 'schema'],
          [table, 'table'],
          [column, 'column'],
          [collection, 'collection'],
        ] as const) {
          const response = await one('GET', resource.id)
          assert.equal(response.statusCode, 200, response.body)
          assert.equal(response.json().entity_type, type)
          assert.equal(response.json().id, resource.id)
          assert.equal(response.json().title, resource.title)
        }
        const upper = await one('GET', table.id.toUpperCase())
        assert.equal(upper.statusCode, 200, upper.body)
        assert.equal(upper.json().id, table.id)
      })

      test("changes a table's description through PATCH", async () => {
        const { table } = await chain()
        const response = await one('PATCH', table.id, { description: 'Every order, one row each' })
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(response.json().description, 'Every order, one row each')
        assert.equal(response.json().entity_type, 'table')
        const typed = await h.request({ method: 'GET', url: `/api/v1/table/tables/${table.id}` })
        assert.equal(typed.json().description, 'Every order, one row each')
      })

      test('changes a schema and a collection through PATCH', async () => {
        const { schema } = await chain()
        const collection = await makeVia(h, '/collection/collections', {})
        const renamed = await one('PATCH', schema.id, { title: 'renamed', pii: true })
        assert.equal(renamed.statusCode, 200, renamed.body)
        assert.equal(renamed.json().title, 'renamed')
        assert.equal(renamed.json().pii, true)
        const owner = await makeUser(h)
        const owned = await one('PATCH', collection.id, { owners: [owner] })
        assert.equal(owned.statusCode, 200, owned.body)
        assert.deepEqual(owned.json().owners, [owner])
      })

      test('returns 400 when PATCH would move a resource to another parent', async () => {
        const { table } = await chain()
        const other = await chain()
        assertFieldError(await one('PATCH', table.id, { parent: other.schema.id }), 'parent')
        assert.equal((await one('GET', table.id)).json().parent, table.parent)
      })

      test('deletes a schema with its tables and columns', async () => {
        const { database, schema, table, column } = await chain()
        const response = await one('DELETE', schema.id)
        assert.equal(response.statusCode, 204, response.body)
        assert.equal(response.body, '')
        for (const id of [schema.id, table.id, column.id]) {
          assertErrorBody(await one('GET', id), 404, 'NOT_FOUND')
        }
        const left = await h.store.db
          .selectFrom('resources')
          .select('id')
          .where('id', 'in', [schema.id, table.id, column.id])
          .execute()
        assert.deepEqual(left, [])
        const kept = await one('GET', database.id)
        assert.equal(kept.statusCode, 200)
        assert.equal(kept.json().children_count, 0)
        assert.deepEqual(await findOrphans(h), [])
      })

      test('deleting a collection takes it out of the collections lists that named it', async () => {
        const collection = await makeVia(h, '/collection/collections', {})
        const child = await makeVia(h, '/collection/collections', { parent: collection.id })
        const { table } = await chain()
        await one('PATCH', table.id, { collections: [collection.id] })
        assert.equal((await one('DELETE', collection.id)).statusCode, 204)
        assertErrorBody(await one('GET', child.id), 404, 'NOT_FOUND')
        assert.deepEqual((await one('GET', table.id)).json().collections, [])
      })

      test('returns 400, not 500, for a PATCH with a NUL character in text', async () => {
        const { table } = await chain()
        assertFieldError(await one('PATCH', table.id, { description: 'a\u0000b' }), 'description')
        assertFieldError(await one('PATCH', table.id, { title: '\u0000' }), 'title')
        assert.equal((await one('GET', table.id)).json().description, table.description)
      })

      test('answers 404 for a random id and a malformed id', async () => {
        for (const id of [randomUUID(), 'abc', '123', `${randomUUID()}0`]) {
          assertErrorBody(await one('GET', id), 404, 'NOT_FOUND')
          assertErrorBody(await one('PATCH', id, { description: 'x' }), 404, 'NOT_FOUND')
          assertErrorBody(await one('DELETE', id), 404, 'NOT_FOUND')
        }
      })
    })
  })

  describe(`List Resources cap of 10,000 on ${engine}`, { skip }, () => {
    const TOTAL = 10_050
    let h: Harness
    let tableIds: string[]
    let databaseId: string
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h, { title: 'Big' })
      databaseId = database.id
      const schema = await makeVia(h, '/database/schemas', { title: 'wide', parent: database.id })
      tableIds = Array.from({ length: TOTAL }, () => randomUUID())
      const now = new Date().toISOString()
      const rows = tableIds.map((id, i) => {
        const title = `t${String(i).padStart(5, '0')}`
        return {
          id,
          workspace_id: h.workspaceId,
          entity_type: 'table',
          native_type: 'BASE TABLE',
          icon: null,
          url: null,
          title,
          title_full: `Big.wide.${title}`,
          description: '',
          definition: '',
          definition_version: 1,
          multiplayer_last_modified_by: null,
          multiplayer_last_modified: null,
          published: true,
          archived: false,
          archived_at: null,
          pii: false,
          verified: false,
          parent_id: schema.id,
          integration_id: database.integration as string,
          external_updated_at: null,
          internal_usage: 0,
          external_usage: 0,
          databuilder_id: null,
          search_database: 'Big',
          search_schema: 'wide',
          stale: false,
          stale_at: null,
          forced_unstale_by_user: false,
          row_count: null,
          byte_size: null,
          display_metadata: '{}',
          question_status: null,
          question_priority: null,
          question_answered_by: null,
          question_assigned_to: null,
          created_at: now,
          updated_at: now,
        } satisfies Insertable<DB['resources']>
      })
      await h.store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += 500) {
          await trx
            .insertInto('resources')
            .values(rows.slice(i, i + 500))
            .execute()
        }
      })
      tableIds.sort(byId)
    })
    after(() => h?.close())

    const tables = encode(spaced({ operator: 'exact', field: 'type', value: 'table' }))
    const catalog = (query: string) => h.request({ method: 'GET', url: `${CATALOG}?${query}` })

    test('counts at most 10,000 matches and pages only through them', async () => {
      const first = await catalog(`filter=${tables}`)
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(first.json().count, 10_000)
      assert.equal(first.json().total_pages, 200)
      assert.deepEqual(ids(first), tableIds.slice(0, 50))

      const last = await catalog(`filter=${tables}&page=200`)
      assert.equal(last.statusCode, 200, last.body)
      assert.equal(last.json().count, 10_000)
      assert.deepEqual(last.json().meta, { page: 200, previous_page: 199, next_page: null })
      assert.equal(last.json().links.next, null)
      assert.equal(last.json().results.length, 50)
      assert.deepEqual(ids(last), tableIds.slice(9_950, 10_000))

      const past = await catalog(`filter=${tables}&page=201`)
      const body = assertErrorBody(past, 404, 'INVALID_PAGE')
      assert.equal(body.detail, 'Invalid page.')
    })

    test('follows the cap with page_size 100', async () => {
      const first = await catalog(`filter=${tables}&page_size=100`)
      assert.equal(first.json().count, 10_000)
      assert.equal(first.json().total_pages, 100)
      const last = await catalog(`filter=${tables}&page_size=100&page=100`)
      assert.equal(last.statusCode, 200, last.body)
      assert.equal(last.json().results.length, 100)
      assert.deepEqual(ids(last), tableIds.slice(9_900, 10_000))
      assert.equal(
        assertErrorBody(await catalog(`filter=${tables}&page_size=100&page=101`), 404, 'INVALID_PAGE').detail,
        'Invalid page.',
      )
    })

    test('ends the last page at the cap when the page size does not divide it', async () => {
      const first = await catalog(`filter=${tables}&page_size=30`)
      assert.equal(first.json().total_pages, 334)
      const last = await catalog(`filter=${tables}&page_size=30&page=334`)
      assert.equal(last.statusCode, 200, last.body)
      assert.deepEqual(ids(last), tableIds.slice(9_990, 10_000))
      assertErrorBody(await catalog(`filter=${tables}&page_size=30&page=335`), 404, 'INVALID_PAGE')
    })

    test('caps the unfiltered list too', async () => {
      const all = await catalog('page_size=100')
      assert.equal(all.json().count, 10_000)
      assert.equal(all.json().total_pages, 100)
    })

    test('does not cap the typed table list', async () => {
      const first = await h.request({ method: 'GET', url: '/api/v1/table/tables' })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(first.json().count, TOTAL)
      assert.equal(first.json().total_pages, 201)
      const last = await h.request({ method: 'GET', url: '/api/v1/table/tables?page=201' })
      assert.equal(last.statusCode, 200, last.body)
      assert.equal(last.json().results.length, 50)
      assert.equal(last.json().results.at(-1).title, 't10049')
    })

    test('leaves no orphans and no relation rows when the database of 10,050 tables goes', async () => {
      const response = await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${databaseId}` })
      assert.equal(response.statusCode, 204, response.body)
      assert.equal((await catalog('')).json().count, 0)
      assert.deepEqual(await findOrphans(h), [])
      for (const table of Object.values(RELATION_TABLES)) {
        const row = await h.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
        assert.equal(Number(row.n), 0, table)
      }
    })
  })
}
