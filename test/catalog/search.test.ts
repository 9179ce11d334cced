import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { refreshAllNoted } from '../../src/search/index-sqlite.ts'
import {
  assertFieldError,
  ENGINES,
  type Harness,
  makeIntegration,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

type Resource = Record<string, unknown> & { id: string; title: string; title_full: string }

const results = (response: LightMyRequestResponse): Resource[] => {
  assert.equal(response.statusCode, 200, response.body)
  return response.json().results
}

for (const { engine, skip } of ENGINES) {
  describe(`search_term on ${engine}`, { skip }, () => {
    let h: Harness
    /** The fixed catalog, by title_full. */
    const made = new Map<string, Resource>()

    const search = async (term: string, extra = '', path = '/resource/catalog') =>
      results(
        await h.request({
          method: 'GET',
          url: `/api/v1${path}?search_term=${encodeURIComponent(term)}${extra}`,
        }),
      )
    const titles = (found: Resource[]) => found.map((r) => r.title_full)
    const add = async (path: string, parent: string | undefined, title: string, body: Record<string, unknown> = {}) => {
      const parentId = parent === undefined ? undefined : made.get(parent)?.id
      const created = (await makeVia(h, path, {
        title,
        ...(parentId ? { parent: parentId } : {}),
        ...body,
      })) as Resource
      made.set(created.title_full, created)
      return created
    }

    before(async () => {
      h = await startHarness(engine)
      const integration = await makeIntegration(h)
      // A small warehouse as extraction would leave it: usage on tables, none on columns.
      await add('/database/databases', undefined, 'prod', { integration })
      await add('/database/databases', undefined, 'staging', { integration })
      await add('/database/schemas', 'prod', 'analytics')
      await add('/database/schemas', 'prod', 'raw')
      await add('/database/schemas', 'staging', 'analytics')
      await add('/table/tables', 'prod.analytics', 'orders', {
        description: 'Every order a customer placed, one row per order',
        external_usage: 900,
      })
      await add('/table/tables', 'prod.analytics', 'order_items', { external_usage: 500 })
      await add('/table/tables', 'prod.analytics', 'customers', {
        description: 'People who bought something at least once',
        external_usage: 800,
        verified: true,
      })
      await add('/table/tables', 'prod.analytics', 'customer_churn', {
        description: 'Monthly churn rate by customer segment',
        external_usage: 300,
      })
      await add('/table/tables', 'prod.analytics', 'revenue_daily', {
        definition: '# Revenue\n\nComputed from **refunds** and orders every night.',
        external_usage: 700,
      })
      await add('/table/tables', 'prod.raw', 'orders_raw', { external_usage: 950 })
      await add('/table/tables', 'staging.analytics', 'orders', { external_usage: 10 })
      for (const column of ['order_id', 'customer_id', 'created_at']) {
        await add('/table/columns', 'prod.analytics.orders', column)
      }
      await add('/table/columns', 'prod.analytics.customers', 'email', {
        description: "The customer's primary e-mail address",
      })
    })
    after(() => h?.close())

    test('an exact table name comes first, then titles that begin with it, then titles holding it', async () => {
      const found = titles(await search('orders'))
      // Exact titles, verified first and then by usage: the production table before staging's.
      assert.deepEqual(found.slice(0, 3), ['prod.analytics.orders', 'staging.analytics.orders', 'prod.raw.orders_raw'])
      // Then resources whose path holds the word (the columns of the orders table), then a definition that mentions
      // orders; last a title holding `order`, one edit away.
      assert.deepEqual(found.slice(3, 6).sort(), [
        'prod.analytics.orders.created_at',
        'prod.analytics.orders.customer_id',
        'prod.analytics.orders.order_id',
      ])
      assert.deepEqual(found.slice(6), ['prod.analytics.revenue_daily', 'prod.analytics.order_items'])
    })

    test('a column name finds the column first', async () => {
      assert.equal(titles(await search('customer_id'))[0], 'prod.analytics.orders.customer_id')
    })

    test('a word of a description finds the resource it describes', async () => {
      assert.deepEqual(titles(await search('segment')), ['prod.analytics.customer_churn'])
      assert.deepEqual(titles(await search('e-mail')), ['prod.analytics.customers.email'])
    })

    test('a word of a definition finds the resource, after every match in a title, path or description', async () => {
      assert.deepEqual(titles(await search('refunds')), ['prod.analytics.revenue_daily'])
    })

    test('a misspelt word finds what it was meant to, ranked after exact matches', async () => {
      assert.equal(titles(await search('custmers'))[0], 'prod.analytics.customers')
      assert.equal(titles(await search('ordres'))[0], 'prod.analytics.orders')
      // Exact matches of `customer` come before the matches of its neighbour `customers`.
      const found = titles(await search('customer'))
      assert.ok(found.indexOf('prod.analytics.customer_churn') < found.indexOf('prod.analytics.customers.email'))
    })

    test('a dotted path finds the table it names', async () => {
      assert.equal(titles(await search('analytics.orders'))[0], 'prod.analytics.orders')
      assert.deepEqual(titles(await search('prod.raw.orders_raw')), ['prod.raw.orders_raw'])
    })

    test('a path is found as a whole, also where a title folds differently on its own (Greek final sigma)', async () => {
      const table = await add('/table/tables', 'prod.analytics', 'ΠΑΡΑΓΓΕΛΙΕΣ')
      const column = await add('/table/columns', 'prod.analytics.ΠΑΡΑΓΓΕΛΙΕΣ', 'ΠΟΣΟ')
      // From the trigram tables, not from the changes noted since they were last brought up to date.
      await refreshAllNoted(h.store)
      const filter = encodeURIComponent(
        JSON.stringify({ operator: 'contains', field: 'title_full', value: 'ΠΑΡΑΓΓΕΛΙΕΣ.ΠΟΣΟ' }),
      )
      const found = results(await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${filter}` }))
      assert.deepEqual(
        found.map((r) => r.id),
        [column.id],
      )
      assert.deepEqual(titles(await search('ΠΑΡΑΓΓΕΛΙΕΣ.ΠΟΣΟ')), ['prod.analytics.ΠΑΡΑΓΓΕΛΙΕΣ.ΠΟΣΟ'])
      await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${table.id}` })
    })

    test('every word must match, in any field and any case', async () => {
      assert.deepEqual(titles(await search('STAGING Orders')), ['staging.analytics.orders'])
      assert.deepEqual(titles(await search('orders nosuchword')), [])
    })

    test('combines with filter and teams; a sort replaces relevance', async () => {
      const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'entity_type', value: 'column' }))
      // Only columns: the three of the orders table, which all rank alike (path), so by id.
      assert.deepEqual(titles(await search('orders', `&filter=${filter}`)).sort(), [
        'prod.analytics.orders.created_at',
        'prod.analytics.orders.customer_id',
        'prod.analytics.orders.order_id',
      ])
      assert.deepEqual(titles(await search('segment', `&teams=${h.defaultTeamId}`)), ['prod.analytics.customer_churn'])
      const team = await makeTeam(h)
      assert.deepEqual(titles(await search('segment', `&teams=${team}`)), [])
      const sort = encodeURIComponent(JSON.stringify({ field: 'title', order: 'asc' }))
      const sorted = (await search('orders', `&sort=${sort}&entity_type=table`)).map((r) => r.title)
      assert.deepEqual(sorted, ['order_items', 'orders', 'orders', 'orders_raw', 'revenue_daily'])
    })

    test('typed lists search too', async () => {
      const found = titles(await search('orders', '', '/table/tables'))
      assert.deepEqual(found.slice(0, 3), ['prod.analytics.orders', 'staging.analytics.orders', 'prod.raw.orders_raw'])
      assert.ok(found.every((title) => !title.includes('.orders.')))
    })

    test('List Resources (read in stages) and a typed list (one query) agree on the order', async () => {
      for (const term of ['orders', 'customer', 'custmers', 'analytics.orders', 'segment', 'prod orders', 'ordres']) {
        const staged = (await search(term, '&entity_type=table')).map((r) => r.id)
        const single = (await search(term, '', '/table/tables')).map((r) => r.id)
        assert.deepEqual(staged, single, term)
      }
    })

    test('a write is found by the next search: create, rename of an ancestor, description, delete', async () => {
      const table = await add('/table/tables', 'prod.raw', 'zebra_sightings')
      const column = await add('/table/columns', 'prod.raw.zebra_sightings', 'stripe_count')
      assert.deepEqual(titles(await search('zebra')), [
        'prod.raw.zebra_sightings',
        'prod.raw.zebra_sightings.stripe_count',
      ])
      // Renaming the schema changes the path of everything under it.
      const raw = made.get('prod.raw') as Resource
      const renamed = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${raw.id}`,
        body: { title: 'landing' },
      })
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.deepEqual(titles(await search('landing.zebra')).sort(), [
        'prod.landing.zebra_sightings',
        'prod.landing.zebra_sightings.stripe_count',
      ])
      assert.deepEqual(titles(await search('raw.zebra')), [])
      const described = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${column.id}`,
        body: { description: 'Counted by hand in the savanna' },
      })
      assert.equal(described.statusCode, 200, described.body)
      assert.deepEqual(titles(await search('savanna')), ['prod.landing.zebra_sightings.stripe_count'])
      // A misspelling of a word that is only in the new description is corrected too.
      assert.deepEqual(titles(await search('savana')), ['prod.landing.zebra_sightings.stripe_count'])
      const deleted = await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${table.id}` })
      assert.equal(deleted.statusCode, 204)
      assert.deepEqual(titles(await search('zebra')), [])
      assert.deepEqual(titles(await search('savanna')), [])
      // Renamed back, so the other tests see the catalog they expect.
      await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${raw.id}`, body: { title: 'raw' } })
    })

    test('a viewer never finds what is not published, by any word', async () => {
      const secret = await add('/table/tables', 'prod.analytics', 'quokka_secret', {
        description: 'unreleased numbers',
        published: false,
      })
      await add('/table/columns', 'prod.analytics.quokka_secret', 'wombat_total')
      const viewer = await makeUser(h, { role: 'viewer' })
      const authorization = await makeKey(h, viewer)
      for (const term of ['quokka', 'qokka', 'unreleased', 'wombat', 'analytics.quokka_secret']) {
        const seen = results(
          await h.request({
            method: 'GET',
            url: `/api/v1/resource/catalog?search_term=${encodeURIComponent(term)}`,
            headers: { authorization },
          }),
        )
        assert.deepEqual(seen, [], `a viewer searching ${term}`)
      }
      assert.deepEqual(titles(await search('quokka')), [
        'prod.analytics.quokka_secret',
        'prod.analytics.quokka_secret.wombat_total',
      ])
      await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${secret.id}` })
    })

    test('a term that cannot be searched is a 400 naming search_term', async () => {
      assertFieldError(
        await h.request({ method: 'GET', url: `/api/v1/resource/catalog?search_term=${'a'.repeat(401)}` }),
        'search_term',
      )
      assertFieldError(
        await h.request({
          method: 'GET',
          url: `/api/v1/resource/catalog?search_term=${encodeURIComponent('a b c d e f g h i j k')}`,
        }),
        'search_term',
      )
      // Blank is no search: the whole catalog in its usual order.
      const all = results(await h.request({ method: 'GET', url: '/api/v1/resource/catalog?search_term=%20' }))
      assert.ok(all.length > 10)
    })
  })
}
