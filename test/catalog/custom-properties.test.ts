import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  holdOpenOnPeer,
  makeDatabase,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

// CONTRACT §10: custom property definitions (admins write them, every member reads them, as a bare array), values
// checked by their type, `custom_properties` on every resource, List Resources filtering and sorting on
// `custom_properties.<name>`, and the cascades of deleting a definition, an option, a user or a resource.

const PATH = '/api/v1/resource/all_v2/custom_properties'

interface Definition {
  id: string
  name: string
  entity_types: string[]
  value_type: string
  integration: { id: string; name: string; type: string } | null
  options: { id: string; name: string }[]
}

let names = 0
const fresh = (prefix: string) => `${prefix} ${++names}`

for (const { engine, skip } of ENGINES) {
  describe(`custom properties on ${engine}`, { skip }, () => {
    let h: Harness
    let schemaId: string
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h)
      schemaId = (await makeVia(h, '/database/schemas', { parent: database.id })).id
    })
    after(() => h?.close())

    const define = async (body: Record<string, unknown>, authorization?: string) => {
      const response = await h.request({
        method: 'POST',
        url: PATH,
        body,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json() as Definition
    }
    const table = async (body: Record<string, unknown> = {}) =>
      makeVia(h, '/table/tables', { parent: schemaId, ...body })
    const get = async (id: string, authorization?: string) => {
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/resource/all/${id}`,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json()
    }
    const patch = (id: string, custom: Record<string, unknown>, authorization?: string) =>
      h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${id}`,
        body: { custom_properties: custom },
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
    const list = async (query: { filter?: unknown; sort?: unknown }, authorization?: string) => {
      const params = new URLSearchParams({ page_size: '1000' })
      if (query.filter !== undefined) params.set('filter', JSON.stringify(query.filter))
      if (query.sort !== undefined) params.set('sort', JSON.stringify(query.sort))
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/resource/catalog?${params}`,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return (response.json().results as { id: string }[]).map((r) => r.id)
    }

    test('definitions: create (200), the bare-array list, get, PUT, PATCH, DELETE, 404 and 409', async () => {
      const integration = (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: fresh('I'), type: 'dbt' },
        })
      ).json().id
      const made = await define({ name: fresh('Tier'), value_type: 'select', options: ['Gold', 'Silver'], integration })
      assert.deepEqual(Object.keys(made).slice(0, 5), ['id', 'name', 'entity_types', 'value_type', 'integration'])
      assert.deepEqual(made.entity_types, [])
      assert.equal(made.integration?.id, integration)
      assert.equal(made.integration?.type, 'dbt')
      assert.deepEqual(
        made.options.map((o) => o.name),
        ['Gold', 'Silver'],
      )
      const plain = await define({ name: fresh('Note') })
      assert.equal(plain.value_type, 'string', 'value_type defaults to string')
      assert.equal(plain.integration, null)

      const listed = await h.request({ method: 'GET', url: PATH })
      assert.equal(listed.statusCode, 200)
      const all = listed.json() as Definition[]
      assert.ok(Array.isArray(all), 'the list is a bare array, not the envelope')
      assert.ok(all.some((d) => d.id === made.id) && all.some((d) => d.id === plain.id))
      for (const url of [
        `${PATH}/${made.id}`,
        `${PATH}/${made.id}/`,
        `/resource/all_v2/custom_properties/${made.id}`,
      ]) {
        const one = await h.request({ method: 'GET', url })
        assert.equal(one.statusCode, 200, url)
        assert.deepEqual(one.json(), made)
      }
      const missing = await h.request({ method: 'GET', url: `${PATH}/00000000-0000-4000-8000-000000000000` })
      assert.equal(assertErrorBody(missing, 404, 'NOT_FOUND').detail, 'Custom property not found.')
      assert.equal(
        assertErrorBody(await h.request({ method: 'GET', url: `${PATH}/nope` }), 404, 'NOT_FOUND').detail,
        'Custom property not found.',
      )

      const renamed = await h.request({ method: 'PATCH', url: `${PATH}/${plain.id}`, body: { name: fresh('Remark') } })
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.equal(renamed.json().value_type, 'string')
      const replaced = await h.request({
        method: 'PUT',
        url: `${PATH}/${plain.id}`,
        body: { name: fresh('Count'), value_type: 'number', entity_types: ['table'] },
      })
      assert.equal(replaced.statusCode, 200, replaced.body)
      assert.equal(replaced.json().value_type, 'number')
      assert.deepEqual(replaced.json().entity_types, ['table'])

      const clash = await h.request({ method: 'POST', url: PATH, body: { name: made.name } })
      assertErrorBody(clash, 409, 'CONFLICT')
      const all2 = await h.request({
        method: 'POST',
        url: PATH,
        body: { name: fresh('Everywhere'), entity_types: 'all' },
      })
      assert.equal(all2.statusCode, 200, all2.body)
      assert.deepEqual(all2.json().entity_types, ['all'])

      assertFieldError(
        await h.request({ method: 'POST', url: PATH, body: { name: fresh('x'), value_type: 'json' } }),
        'value_type',
      )
      assertFieldError(
        await h.request({ method: 'POST', url: PATH, body: { name: fresh('x'), entity_types: ['table', 'tabel'] } }),
        'entity_types[1]',
        /not an entity type/,
      )
      assertFieldError(await h.request({ method: 'POST', url: PATH, body: { name: '   ' } }), 'name')
      assertFieldError(await h.request({ method: 'POST', url: PATH, body: {} }), 'name')
      assertFieldError(
        await h.request({ method: 'POST', url: PATH, body: { name: fresh('x'), options: ['a'] } }),
        'options',
        /only a select property/,
      )
      assertFieldError(
        await h.request({
          method: 'POST',
          url: PATH,
          body: { name: fresh('x'), integration: '00000000-0000-4000-8000-000000000000' },
        }),
        'integration',
      )

      const gone = await h.request({ method: 'DELETE', url: `${PATH}/${plain.id}` })
      assert.equal(gone.statusCode, 204)
      assertErrorBody(await h.request({ method: 'DELETE', url: `${PATH}/${plain.id}` }), 404, 'NOT_FOUND')
    })

    test('roles: only admins write definitions; every member reads them; another workspace sees none', async () => {
      const made = await define({ name: fresh('Owner note') })
      for (const role of ['editor', 'viewer', 'guest'] as const) {
        const key = await makeKey(h, await makeUser(h, { role }))
        const headers = { authorization: key }
        assertErrorBody(
          await h.request({ method: 'POST', url: PATH, body: { name: fresh('x') }, headers }),
          403,
          'PERMISSION_DENIED',
        )
        assertErrorBody(
          await h.request({ method: 'PATCH', url: `${PATH}/${made.id}`, body: { name: fresh('x') }, headers }),
          403,
          'PERMISSION_DENIED',
        )
        assertErrorBody(
          await h.request({ method: 'DELETE', url: `${PATH}/${made.id}`, headers }),
          403,
          'PERMISSION_DENIED',
        )
        const listed = await h.request({ method: 'GET', url: PATH, headers })
        assert.equal(listed.statusCode, 200, `${role}: ${listed.body}`)
        assert.ok((listed.json() as Definition[]).some((d) => d.id === made.id))
      }
      const other = await makeWorkspace(h)
      const theirs = await h.request({ method: 'GET', url: PATH, headers: { authorization: other.authorization } })
      assert.deepEqual(theirs.json(), [])
      assertErrorBody(
        await h.request({ method: 'GET', url: `${PATH}/${made.id}`, headers: { authorization: other.authorization } }),
        404,
        'NOT_FOUND',
      )
    })

    test('every value type is accepted at its edges and refused past them', async () => {
      const t = await table()
      const text = await define({ name: fresh('text') })
      const number = await define({ name: fresh('number'), value_type: 'number' })
      const flag = await define({ name: fresh('flag'), value_type: 'boolean' })
      const date = await define({ name: fresh('date'), value_type: 'date' })
      const select = await define({ name: fresh('select'), value_type: 'select', options: ['Gold', 'Silver'] })
      const user = await define({ name: fresh('user'), value_type: 'user' })
      const resource = await define({ name: fresh('resource'), value_type: 'resource' })
      const someone = await makeUser(h)
      const accepted: [Definition, unknown, unknown][] = [
        [text, 'x'.repeat(255), 'x'.repeat(255)],
        [text, '😀'.repeat(255), '😀'.repeat(255)],
        [text, '', ''],
        [number, 1.5, 1.5],
        [number, -9007199254740991, -9007199254740991],
        [number, 1e-300, 1e-300],
        [number, 0.1 + 0.2, 0.1 + 0.2],
        [number, 2 ** 53 - 1, 2 ** 53 - 1],
        [flag, false, false],
        [flag, true, true],
        [date, '2024-02-29', '2024-02-29'],
        [date, '0001-01-01', '0001-01-01'],
        [date, '9999-12-31', '9999-12-31'],
        [select, [select.options[1]?.id, select.options[0]?.id], [select.options[1]?.id, select.options[0]?.id]],
        [select, ['Gold'], [select.options[0]?.id]],
        [select, [select.options[0]?.id, 'Gold'], [select.options[0]?.id]],
        [user, [someone.toUpperCase(), h.adminUserId], [someone, h.adminUserId]],
        [resource, [schemaId], [schemaId]],
      ]
      for (const [definition, value, shown] of accepted) {
        const response = await patch(t.id, { [definition.name]: value })
        assert.equal(response.statusCode, 200, `${definition.value_type} ${JSON.stringify(value)}: ${response.body}`)
        assert.deepEqual(response.json().custom_properties[definition.name], shown)
        assert.deepEqual((await get(t.id)).custom_properties[definition.name], shown, 'as read back')
      }
      const other = await makeWorkspace(h)
      const refused: [Definition, unknown, string, RegExp][] = [
        [text, 'x'.repeat(256), '', /at most 255/],
        [text, '😀'.repeat(256), '', /at most 255/],
        [text, 5, '', /takes text/],
        [text, ['a'], '', /takes text/],
        [number, '1', '', /takes a number/],
        [number, true, '', /takes a number/],
        [number, 1e308, '', /a number from/],
        [flag, 0, '', /true or false/],
        [flag, 'true', '', /true or false/],
        [date, '2023-02-29', '', /date such as/],
        [date, '2026-01-31T00:00:00Z', '', /date such as/],
        [date, '0000-01-01', '', /date such as/],
        [date, '2026-1-31', '', /date such as/],
        [select, 'Gold', '', /array of option ids/],
        [select, ['Bronze'], '[0]', /not an option/],
        [user, [other.adminUserId], '[0]', /not a user of this workspace/],
        [user, ['not-a-uuid'], '[0]', /a UUID/],
        [user, [someone, 7], '[1]', /a UUID/],
        [resource, ['00000000-0000-4000-8000-000000000000'], '[0]', /not a resource/],
      ]
      const before = (await get(t.id)).custom_properties
      for (const [definition, value, suffix, message] of refused) {
        const response = await h.request({
          method: 'PATCH',
          url: `/api/v1/resource/all/${t.id}`,
          body: { description: 'must not be written', custom_properties: { [definition.name]: value } },
        })
        assertFieldError(response, `custom_properties.${definition.name}${suffix}`, message)
      }
      const after = await get(t.id)
      assert.deepEqual(after.custom_properties, before, 'a refused value writes nothing')
      assert.notEqual(after.description, 'must not be written')

      // Errors carry the index the id had in the body, repeated ids included; a long value is quoted, not echoed.
      const repeated = await patch(t.id, { [user.name]: [someone, someone, '00000000-0000-4000-8000-000000000000'] })
      assertFieldError(repeated, `custom_properties.${user.name}[2]`, /not a user/)
      const long = await patch(t.id, { [date.name]: 'x'.repeat(100_000) })
      const body = assertFieldError(long, `custom_properties.${date.name}`, /date such as/)
      assert.ok(body.detail.length < 400, body.detail)

      const unknown = await patch(t.id, { 'no such property': 1 })
      assertFieldError(unknown, 'custom_properties.no such property', /no custom property/)

      // null and an empty list clear.
      const cleared = await patch(t.id, { [text.name]: null, [select.name]: [] })
      assert.equal(cleared.statusCode, 200)
      assert.equal(text.name in cleared.json().custom_properties, false)
      assert.equal(select.name in cleared.json().custom_properties, false)
      assert.equal(text.name in (await get(t.id)).custom_properties, false)
    })

    test('a value on a type outside entity_types is refused; custom_properties is on every resource and path', async () => {
      const onTables = await define({ name: fresh('rows'), value_type: 'number', entity_types: ['table'] })
      const schema = await get(schemaId)
      assert.deepEqual(typeof schema.custom_properties, 'object')
      const refused = await patch(schemaId, { [onTables.name]: 3 })
      assertFieldError(refused, `custom_properties.${onTables.name}`, /applies to table, not to a schema/)
      const created = await table({ custom_properties: { [onTables.name]: 42 } })
      assert.deepEqual(created.custom_properties, { [onTables.name]: 42 })
      const keys = Object.keys(await get(created.id))
      assert.equal(keys.indexOf('custom_properties'), keys.indexOf('total_usage') + 1, 'after the common fields')
      for (const url of [
        `/api/v1/table/tables/${created.id}`,
        `/api/v1/resource/all/${created.id}`,
        `/api/v1/table/tables?parent_id=${schemaId}&title=${encodeURIComponent(String(created.title))}`,
        `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'id', value: created.id }))}`,
      ]) {
        const response = await h.request({ method: 'GET', url })
        assert.equal(response.statusCode, 200, url)
        const body = response.json()
        const resource = body.results === undefined ? body : body.results[0]
        assert.deepEqual(resource.custom_properties, { [onTables.name]: 42 }, url)
      }
      const badCreate = await h.request({
        method: 'POST',
        url: '/api/v1/table/tables',
        body: { title: fresh('t'), parent: schemaId, custom_properties: { [onTables.name]: 'many' } },
      })
      assertFieldError(badCreate, `custom_properties.${onTables.name}`, /takes a number/)
      const narrowing = await h.request({
        method: 'PATCH',
        url: `${PATH}/${onTables.id}`,
        body: { entity_types: ['column'] },
      })
      assertFieldError(narrowing, 'entity_types', /1 resource/)
      const retype = await h.request({ method: 'PATCH', url: `${PATH}/${onTables.id}`, body: { value_type: 'string' } })
      assertFieldError(retype, 'value_type', /clear them first/)
    })

    test('filters on a property of each type, and sorts on one value', async () => {
      const text = await define({ name: fresh('f text') })
      const number = await define({ name: fresh('f number'), value_type: 'number' })
      const flag = await define({ name: fresh('f flag'), value_type: 'boolean' })
      const date = await define({ name: fresh('f date'), value_type: 'date' })
      const select = await define({ name: fresh('f select'), value_type: 'select', options: ['A', 'B'] })
      const user = await define({ name: fresh('f user'), value_type: 'user' })
      const resource = await define({ name: fresh('f resource'), value_type: 'resource' })
      const [a, b] = select.options.map((o) => o.id) as [string, string]
      const someone = await makeUser(h)
      const t1 = await table({
        custom_properties: {
          [text.name]: 'Finance 100%',
          [number.name]: 2.5,
          [flag.name]: true,
          [date.name]: '2026-01-31',
          [select.name]: [a],
          [user.name]: [someone],
          [resource.name]: [schemaId],
        },
      })
      const t2 = await table({
        custom_properties: {
          [text.name]: 'marketing',
          [number.name]: -1,
          [flag.name]: false,
          [date.name]: '2025-12-01',
          [select.name]: [a, b],
        },
      })
      const t3 = await table({ custom_properties: { [text.name]: '' } })
      const leaf = (name: string, operator: string, value?: unknown) => ({
        operator,
        field: `custom_properties.${name}`,
        value,
      })
      const only = async (filter: unknown) => {
        const ids = await list({ filter })
        return [t1.id, t2.id, t3.id].filter((id) => ids.includes(id))
      }
      assert.deepEqual(await only(leaf(text.name, 'exact', 'marketing')), [t2.id])
      assert.deepEqual(await only(leaf(text.name, 'contains', '100%')), [t1.id], '% is literal')
      assert.deepEqual(await only(leaf(text.name, 'contains', 'FINANCE')), [t1.id], 'case-insensitive')
      assert.deepEqual(await only(leaf(text.name, 'is_set')), [t1.id, t2.id], 'empty text is not set')
      assert.deepEqual(await only(leaf(text.name, 'in', ['marketing', 'Finance 100%'])), [t1.id, t2.id])
      assert.deepEqual(await only(leaf(number.name, 'exact', 2.5)), [t1.id])
      assert.deepEqual(await only(leaf(number.name, 'in', [-1, 7])), [t2.id])
      assert.deepEqual(await only(leaf(flag.name, 'exact', false)), [t2.id])
      assert.deepEqual(await only({ operator: 'not', operands: [leaf(flag.name, 'exact', true)] }), [t2.id, t3.id])
      assert.deepEqual(await only(leaf(date.name, 'exact', '2026-01-31')), [t1.id])
      assert.deepEqual(await only(leaf(date.name, 'in', ['2025-12-01'])), [t2.id])
      assert.deepEqual(await only(leaf(select.name, 'exact', b)), [t2.id], 'exact on ids: holds this id')
      assert.deepEqual(await only(leaf(select.name, 'in', [a])), [t1.id, t2.id])
      assert.deepEqual(await only(leaf(user.name, 'exact', someone.toUpperCase())), [t1.id])
      assert.deepEqual(await only(leaf(resource.name, 'is_set')), [t1.id])
      assert.deepEqual(
        await only({ operator: 'and', operands: [leaf(select.name, 'exact', a), leaf(number.name, 'exact', -1)] }),
        [t2.id],
      )

      const bad = async (filter: unknown, where: RegExp) => {
        const response = await h.request({
          method: 'GET',
          url: `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify(filter))}`,
        })
        const body = assertErrorBody(response, 400, 'INVALID_FILTER')
        assert.match(body.detail, where)
      }
      await bad(leaf('nope', 'exact', 1), /no custom property of this workspace is named 'nope'/)
      await bad(leaf(number.name, 'exact', '2.5'), /takes a number/)
      await bad(leaf(number.name, 'contains', '2'), /'contains' applies to text fields/)
      await bad(leaf(date.name, 'exact', '2026-02-30'), /date such as/)
      await bad(leaf(flag.name, 'exact', 'true'), /true or false/)

      const sorted = async (sort: unknown) => {
        const ids = await list({ filter: { operator: 'in', field: 'id', value: [t1.id, t2.id, t3.id] }, sort })
        return ids
      }
      assert.deepEqual(await sorted({ field: `custom_properties.${number.name}`, order: 'asc' }), [t2.id, t1.id, t3.id])
      assert.deepEqual(
        await sorted({ field: `custom_properties.${number.name}`, order: 'desc' }),
        [t1.id, t2.id, t3.id],
        'nulls last',
      )
      assert.deepEqual(await sorted({ field: `custom_properties.${date.name}` }), [t2.id, t1.id, t3.id])
      assert.deepEqual(await sorted({ field: `custom_properties.${text.name}`, order: 'asc' }), [t3.id, t1.id, t2.id])
      const unsortable = await h.request({
        method: 'GET',
        url: `/api/v1/resource/catalog?sort=${encodeURIComponent(JSON.stringify({ field: `custom_properties.${select.name}` }))}`,
      })
      assert.match(assertErrorBody(unsortable, 400, 'INVALID_SORT').detail, /list of ids/)
    })

    test('a resource value shows, lists and matches only what the caller may see', async () => {
      const linked = await define({ name: fresh('linked'), value_type: 'resource' })
      const draft = await makeVia(h, '/dictionary/terms', { title: fresh('draft'), published: false })
      const t = await table({ custom_properties: { [linked.name]: [draft.id, schemaId] } })
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      assert.deepEqual((await get(t.id, viewer)).custom_properties[linked.name], [schemaId])
      assert.deepEqual((await get(t.id)).custom_properties[linked.name], [draft.id, schemaId])
      const byDraft = { operator: 'exact', field: `custom_properties.${linked.name}`, value: draft.id }
      assert.ok((await list({ filter: byDraft })).includes(t.id))
      assert.equal((await list({ filter: byDraft }, viewer)).includes(t.id), false)
      const listed = await h.request({
        method: 'GET',
        url: `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'id', value: t.id }))}`,
        headers: { authorization: viewer },
      })
      assert.deepEqual(listed.json().results[0].custom_properties[linked.name], [schemaId])
      // An editor who cannot see a resource of another team keeps it when it replaces the value, and cannot name it.
      const secret = await makeVia(h, '/dictionary/terms', { title: fresh('secret'), teams: [await makeTeam(h)] })
      await patch(t.id, { [linked.name]: [secret.id, schemaId] })
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assert.deepEqual((await get(t.id, editor)).custom_properties[linked.name], [schemaId])
      const other = await table()
      const replaced = await patch(t.id, { [linked.name]: [other.id] }, editor)
      assert.equal(replaced.statusCode, 200, replaced.body)
      assert.deepEqual(replaced.json().custom_properties[linked.name], [other.id])
      assert.deepEqual((await get(t.id)).custom_properties[linked.name], [other.id, secret.id])
      const hidden = await patch(t.id, { [linked.name]: [secret.id] }, editor)
      assertFieldError(hidden, `custom_properties.${linked.name}[0]`, /not a resource of this workspace/)
    })

    test('deleting a definition, an option, a user or a resource removes what referred to it', async () => {
      const gone = await define({ name: fresh('goes') })
      const select = await define({ name: fresh('opts'), value_type: 'select', options: ['keep', 'drop'] })
      const user = await define({ name: fresh('people'), value_type: 'user' })
      const resource = await define({ name: fresh('things'), value_type: 'resource' })
      const leaving = await makeUser(h)
      const staying = await makeUser(h)
      const target = await table()
      const [keep, drop] = select.options.map((o) => o.id) as [string, string]
      const t = await table({
        custom_properties: {
          [gone.name]: 'x',
          [select.name]: [drop, keep],
          [user.name]: [leaving, staying],
          [resource.name]: [target.id],
        },
      })
      assert.equal((await h.request({ method: 'DELETE', url: `${PATH}/${gone.id}` })).statusCode, 204)
      const options = await h.request({
        method: 'PATCH',
        url: `${PATH}/${select.id}`,
        body: { options: [{ id: keep, name: 'kept' }, 'new'] },
      })
      assert.equal(options.statusCode, 200, options.body)
      assert.deepEqual(
        options.json().options.map((o: { name: string }) => o.name),
        ['kept', 'new'],
      )
      assert.equal(options.json().options[0].id, keep)
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1/user/${leaving}` })).statusCode, 204)
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${target.id}` })).statusCode, 204)
      assert.deepEqual((await get(t.id)).custom_properties, { [select.name]: [keep], [user.name]: [staying] })
      const rows = await h.store.db
        .selectFrom('custom_property_values')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('resource_id', '=', t.id)
        .executeTakeFirstOrThrow()
      assert.equal(Number(rows.n), 2)
      // Deleting the resource takes its values with it.
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${t.id}` })).statusCode, 204)
      const left = await h.store.db
        .selectFrom('custom_property_values')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('resource_id', '=', t.id)
        .executeTakeFirstOrThrow()
      assert.equal(Number(left.n), 0)
    })

    test('the value route sets and clears one value (204), names `value` in errors, and checks roles', async () => {
      const size = await define({ name: fresh('size'), value_type: 'number' })
      const t = await table()
      for (const method of ['PUT', 'PATCH'] as const) {
        const set = await h.request({ method, url: `${PATH}/${size.id}/${t.id}`, body: { value: 7 } })
        assert.equal(set.statusCode, 204, set.body)
        assert.equal(set.body, '')
        assert.equal((await get(t.id)).custom_properties[size.name], 7)
        const cleared = await h.request({ method, url: `${PATH}/${size.id}/${t.id}/`, body: { value: null } })
        assert.equal(cleared.statusCode, 204)
        assert.equal(size.name in (await get(t.id)).custom_properties, false)
      }
      assertFieldError(
        await h.request({ method: 'PUT', url: `${PATH}/${size.id}/${t.id}`, body: { value: 'big' } }),
        'value',
        /takes a number/,
      )
      assertFieldError(await h.request({ method: 'PUT', url: `${PATH}/${size.id}/${t.id}`, body: {} }), 'value')
      const unknown = await h.request({
        method: 'PUT',
        url: `${PATH}/00000000-0000-4000-8000-000000000000/${t.id}`,
        body: { value: 1 },
      })
      assert.equal(assertErrorBody(unknown, 404, 'NOT_FOUND').detail, 'Custom property not found.')
      const noResource = await h.request({
        method: 'PUT',
        url: `${PATH}/${size.id}/00000000-0000-4000-8000-000000000000`,
        body: { value: 1 },
      })
      assertErrorBody(noResource, 404, 'NOT_FOUND')
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      const refused = await h.request({
        method: 'PUT',
        url: `${PATH}/${size.id}/${t.id}`,
        body: { value: 1 },
        headers: { authorization: viewer },
      })
      assertErrorBody(refused, 403, 'PERMISSION_DENIED')
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      const allowed = await h.request({
        method: 'PUT',
        url: `${PATH}/${size.id}/${t.id}`,
        body: { value: 3 },
        headers: { authorization: editor },
      })
      assert.equal(allowed.statusCode, 204, allowed.body)
    })

    // PostgreSQL only: SQLite runs one write at a time, so no write can run between another's steps.
    if (engine === 'postgres')
      test('a value is written under the definition it was checked against: a definition changed meanwhile is read as changed', async () => {
        const changing = await define({ name: fresh('changing') })
        const t = await table()
        const commit = await holdOpenOnPeer(h, async (trx) => {
          await trx
            .updateTable('custom_properties')
            .set({ value_type: 'number' })
            .where('id', '=', changing.id)
            .execute()
        })
        const pending = patch(t.id, { [changing.name]: 'text' })
        await new Promise((resolve) => setTimeout(resolve, 300))
        await commit()
        assertFieldError(await pending, `custom_properties.${changing.name}`, /takes a number/)
        assert.equal(changing.name in (await get(t.id)).custom_properties, false)
      })

    test('names that Object.prototype holds are names like any other', async () => {
      const t = await table()
      const linked = await define({ name: 'constructor', value_type: 'resource' })
      await define({ name: 'toString' })
      const before = await get(t.id)
      const unchanged = await patch(t.id, { toString: null, constructor: [] })
      assert.equal(unchanged.statusCode, 200, unchanged.body)
      assert.equal(unchanged.json().updated_at, before.updated_at, 'clearing what is not set changes nothing')
      const secret = await makeVia(h, '/dictionary/terms', { title: fresh('secret'), teams: [await makeTeam(h)] })
      await patch(t.id, { constructor: [secret.id] })
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assert.deepEqual((await get(t.id, editor)).custom_properties, {})
      const set = await patch(t.id, { constructor: [schemaId], toString: 'x' }, editor)
      assert.equal(set.statusCode, 200, set.body)
      assert.deepEqual(set.json().custom_properties, { constructor: [schemaId], toString: 'x' })
      assert.deepEqual((await get(t.id)).custom_properties.constructor, [schemaId, secret.id])
      await h.request({ method: 'DELETE', url: `${PATH}/${linked.id}` })
    })

    test("a member who is not an admin sees a definition's integration only when it is one of its teams'", async () => {
      const team = await makeTeam(h)
      const theirs = (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: fresh('hidden integration'), type: 'snowflake', teams: [team] },
        })
      ).json().id
      const made = await define({ name: fresh('from a hidden integration'), integration: theirs })
      assert.equal(made.integration?.id, theirs)
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      const one = await h.request({ method: 'GET', url: `${PATH}/${made.id}`, headers: { authorization: editor } })
      assert.equal(one.json().integration, null)
      const listed = await h.request({ method: 'GET', url: PATH, headers: { authorization: editor } })
      assert.equal((listed.json() as Definition[]).find((d) => d.id === made.id)?.integration, null)
      const member = await makeUser(h, { role: 'viewer' })
      await h.store.db.insertInto('team_members').values({ team_id: team, user_id: member }).execute()
      const seen = await h.request({
        method: 'GET',
        url: `${PATH}/${made.id}`,
        headers: { authorization: await makeKey(h, member) },
      })
      assert.equal(seen.json().integration?.id, theirs)
    })

    test('a select filter names options by id in any case or by name; another text is refused', async () => {
      const select = await define({ name: fresh('grade'), value_type: 'select', options: ['High', 'Low'] })
      const [high] = select.options.map((o) => o.id) as [string]
      const t = await table({ custom_properties: { [select.name]: ['High'] } })
      const field = `custom_properties.${select.name}`
      for (const value of [high, high.toUpperCase(), 'High']) {
        assert.ok((await list({ filter: { operator: 'exact', field, value } })).includes(t.id), value)
      }
      const refused = await h.request({
        method: 'GET',
        url: `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify({ operator: 'in', field, value: ['Medium'] }))}`,
      })
      assert.match(assertErrorBody(refused, 400, 'INVALID_FILTER').detail, /no option of/)
    })

    // PostgreSQL only: SQLite runs one write at a time, so no write can run between another's steps.
    if (engine === 'postgres')
      test('a definition change waits for a value being written, then sees it', async () => {
        const kind = await define({ name: fresh('kind') })
        const t = await table()
        // A peer writes a value the way a PATCH does: the definition share-locked, then the value.
        const commit = await holdOpenOnPeer(h, async (trx) => {
          await sql`select id from custom_properties where id = ${kind.id} for share`.execute(trx)
          await trx
            .insertInto('custom_property_values')
            .values({ resource_id: t.id, property_id: kind.id, position: 0, text_value: 'written meanwhile' })
            .execute()
        })
        const pending = h.request({ method: 'PATCH', url: `${PATH}/${kind.id}`, body: { value_type: 'number' } })
        await new Promise((resolve) => setTimeout(resolve, 300))
        await commit()
        assertFieldError(await pending, 'value_type', /1 resource/)
        assert.equal((await get(t.id)).custom_properties[kind.name], 'written meanwhile')
      })

    test('bulk update sets a property on 100 tables in one request, all or nothing', async () => {
      const owner = await define({ name: fresh('steward'), value_type: 'string', entity_types: ['table'] })
      const tables = []
      for (let i = 0; i < 100; i++) tables.push(await table())
      const items = tables.map((t) => ({ id: t.id, data: { custom_properties: { [owner.name]: 'data team' } } }))
      const bad = [...items.slice(0, 99), { id: schemaId, data: { custom_properties: { [owner.name]: 'data team' } } }]
      const refused = await h.request({ method: 'POST', url: '/api/v1/resource/all/bulk_update', body: bad })
      assertFieldError(refused, `[99].data.custom_properties.${owner.name}`, /not to a schema/)
      const filter = { operator: 'exact', field: `custom_properties.${owner.name}`, value: 'data team' }
      assert.deepEqual(await list({ filter }), [], 'the refused bulk update wrote nothing')
      const done = await h.request({ method: 'POST', url: '/api/v1/resource/all/bulk_update', body: items })
      assert.equal(done.statusCode, 200, done.body)
      assert.equal(done.json().length, 100)
      assert.deepEqual(new Set(await list({ filter })), new Set(tables.map((t) => t.id)))
      const byFilter = await h.request({
        method: 'POST',
        url: '/api/v1/resource/all/bulk_update',
        body: { filter, data: { custom_properties: { [owner.name]: 'platform' } }, dry_run: true },
      })
      assert.equal(byFilter.json().count, 100)
      assert.equal((await list({ filter })).length, 100, 'a dry run writes nothing')
    })
  })
}
