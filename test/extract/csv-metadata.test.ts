import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeKey,
  makeUser,
  makeVia,
  multipartBody,
  startHarness,
} from '../helpers.ts'

// Issue 15: a custom integration's resources.csv and lineage.csv (test/fixtures/csv, provenance beside them), the
// CSV form of the JSONL import: the same upsert by databuilder_id, all or nothing, a report line by line.

const FIXTURE = new URL('../fixtures/csv/', import.meta.url)
const RESOURCES = readFileSync(new URL('resources.csv', FIXTURE), 'utf8')
const LINEAGE = readFileSync(new URL('lineage.csv', FIXTURE), 'utf8')

for (const { engine, skip } of ENGINES) {
  describe(`CSV metadata into a ${engine} catalog`, { skip }, () => {
    let h: Harness
    let total: { id: string }
    before(async () => {
      h = await startHarness(engine)
      const warehouse = (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: 'warehouse', type: 'snowflake' },
        })
      ).json().id
      const database = await makeVia(h, '/database/databases', { title: 'warehouse', integration: warehouse })
      const schema = await makeVia(h, '/database/schemas', { title: 'raw', parent: database.id })
      const orders = await makeVia(h, '/table/tables', { title: 'orders', parent: schema.id })
      total = await makeVia(h, '/table/columns', { title: 'total', parent: orders.id })
    })
    after(() => h?.close())

    const custom = async (type = 'custom') =>
      (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: `c ${Math.random()}`, type },
        })
      ).json().id as string
    const upload = (id: string, files: Record<string, string>, authorization?: string) => {
      const { payload, headers } = multipartBody(
        Object.entries(files).map(([name, text]) => ({ field: 'file', filename: `${name}.csv`, text })),
      )
      return h.request({
        method: 'POST',
        url: `/api/v1/integration/integrations/${id}/import_metadata`,
        payload,
        headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) },
      })
    }
    type Listed = {
      databuilder_id: string
      id: string
      updated_at: string
      description: string
      title_full: string
      native_type: string | null
      parent: string | null
    }
    const byKey = async (id: string) => {
      const filter = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'integration_id', value: id }))
      const listed = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?page_size=1000&filter=${filter}` })
      return new Map((listed.json().results as Listed[]).map((r) => [r.databuilder_id, r]))
    }

    test('an import creates the resources and edges, each line reported where it starts', async () => {
      const id = await custom()
      const response = await upload(id, { resources: RESOURCES, lineage: LINEAGE })
      assert.equal(response.statusCode, 200, response.body)
      const report = response.json()
      assert.equal(report.created, 7)
      assert.deepEqual(report.lineage, { added: 3, removed: 0 })
      // Line 4 starts a row whose quoted description ends on line 5; line 8 is a row of empty cells.
      assert.deepEqual(
        report.lines.map((l: { file: string; line: number; outcome: string }) => [l.file, l.line, l.outcome]),
        [
          ['resources', 2, 'created'],
          ['resources', 3, 'created'],
          ['resources', 4, 'created'],
          ['resources', 6, 'created'],
          ['resources', 7, 'created'],
          ['resources', 9, 'created'],
          ['resources', 10, 'created'],
          ['lineage', 2, 'added'],
          ['lineage', 3, 'added'],
          ['lineage', 4, 'added'],
        ],
      )
      const made = await byKey(id)
      assert.equal(made.get('shopdb.public.order')?.title_full, 'shopdb.public.order')
      assert.equal(made.get('shopdb.public.order')?.description, 'Orders from the web shop,\none row per order')
      assert.equal(made.get('shopdb.public.order')?.native_type, 'BASE TABLE')
      assert.equal(made.get('shopdb.public.order.amount')?.description, 'In cents ("gross")')
      // An empty cell is a field not given: no description, no native type.
      assert.equal(made.get('shopdb.public.order.order_id')?.description, '')
      assert.equal(made.get('dashboard.revenue_2026_forecast')?.parent, null)
      const graph = await h.request({
        method: 'GET',
        url: `/api/v1/lineage/graph/${made.get('shopdb.public.order')?.id}?depth=1`,
      })
      assert.deepEqual(
        graph
          .json()
          .nodes.map((n: { title: string }) => n.title)
          .sort(),
        ['YoY Growth', 'order', 'orders'],
      )
      const columnEdges = await h.request({ method: 'GET', url: `/api/v1/lineage/manual?from_entity=${total.id}` })
      assert.equal(columnEdges.json().results[0].to_entity, made.get('shopdb.public.order.amount')?.id)

      // The same files as a spreadsheet saves them (a byte-order mark, CRLF, the columns in another order and
      // case): nothing changes.
      const reordered = RESOURCES.split('\n')
        .map((line) => (line.startsWith('one row') ? line : line.replace(/^([^,]*),([^,]*),/, '$2,$1,')))
        .join('\r\n')
        // A spreadsheet ends rows with CRLF and keeps a cell's own line break as LF.
        .replace('web shop,\r\n', 'web shop,\n')
        .replace(/^databuilder_id,entity_type/, 'DataBuilder_ID,Entity_Type')
      const again = await upload(id, { resources: `\uFEFF${reordered}`, lineage: LINEAGE.replaceAll('\n', '\r\n') })
      assert.equal(again.statusCode, 200, again.body)
      assert.deepEqual([again.json().created, again.json().updated, again.json().unchanged], [0, 0, 7])
      assert.deepEqual(again.json().lineage, { added: 0, removed: 0 })
      const after = await byKey(id)
      for (const [key, resource] of made) assert.equal(after.get(key)?.updated_at, resource.updated_at, key)

      // A changed description updates; an edge's row left out removes the edge.
      const changed = RESOURCES.replace('In cents (""gross"")', 'In cents, after refunds')
      const third = await upload(id, { resources: changed, lineage: LINEAGE.split('\n').slice(0, 3).join('\n') })
      assert.equal(third.statusCode, 200, third.body)
      assert.equal(third.json().updated, 1)
      assert.deepEqual(third.json().lineage, { added: 0, removed: 1 })
      assert.equal((await byKey(id)).get('shopdb.public.order.amount')?.description, 'In cents, after refunds')
    })

    test('a malformed file refuses the whole import, naming the lines; nothing is written', async () => {
      const id = await custom()
      const refusedWith = async (files: Record<string, string>, field: string, message: RegExp) => {
        assertFieldError(await upload(id, files), field, message)
        assert.equal((await byKey(id)).size, 0)
      }
      // A row with a cell too many, and one whose type is not a resource type: both named.
      const lines = RESOURCES.split('\n')
      lines[1] = `${lines[1]},extra`
      lines.push('view,x,,x,,,')
      const body = assertFieldError(
        await upload(id, { resources: lines.join('\n') }),
        'resources.csv:2',
        /has 8 cell\(s\), the header names 7/,
      )
      assert.ok(body.errors?.some((e) => e.field === `resources.csv:${lines.length}` && /entity_type/.test(e.message)))
      assert.equal((await byKey(id)).size, 0)
      // A quote never closed: the CSV cannot be read past it.
      await refusedWith(
        { resources: `${RESOURCES}column,a.b,shopdb.public.order,"b,,,\n` },
        'resources.csv:11',
        /not valid CSV/,
      )
      // A header naming a column docent does not know (a misspelt one is not silently dropped), one twice, one missing.
      await refusedWith(
        { resources: RESOURCES.replace('description', 'descripton') },
        'resources.csv:1',
        /unknown column\(s\) "descripton"/,
      )
      await refusedWith({ resources: RESOURCES.replace('native_type', 'title') }, 'resources.csv:1', /"title" twice/)
      await refusedWith(
        { resources: 'entity_type,title\ntable,x\n' },
        'resources.csv:1',
        /lacks the required column\(s\) databuilder_id/,
      )
      // Lineage: an end without its type, and an internal end without its databuilder_id, named by column.
      const header = LINEAGE.split('\n')[0]
      await refusedWith(
        { resources: RESOURCES, lineage: `${header}\n,shopdb.public.order,,,,,internal_resource,shopdb,,,,\n` },
        'lineage.csv:2',
        /from_type must be internal_resource, external_table or external_column/,
      )
      await refusedWith(
        { resources: RESOURCES, lineage: `${header}\ninternal_resource,shopdb,,,,,internal_resource,,,,,\n` },
        'lineage.csv:2',
        /to_databuilder_id is required for an internal_resource/,
      )
      // A parent that is nowhere, found only inside the transaction.
      await refusedWith(
        { resources: `${RESOURCES}column,a.b.c.d,nowhere,d,,,\n` },
        'resources.csv:11',
        /names no resource/,
      )
    })

    test("a spreadsheet's trailing comma and cells of spaces are read past; a value under no column is refused", async () => {
      const id = await custom()
      const text = 'entity_type,databuilder_id,title,description,\ndatabase,trail.db,trail,   ,\n'
      const response = await upload(id, { resources: text })
      assert.equal(response.statusCode, 200, response.body)
      const made = (await byKey(id)).get('trail.db')
      assert.equal(made?.description, '', 'spaces only are no description')
      assertFieldError(
        await upload(await custom(), { resources: 'entity_type,databuilder_id,title,\ndatabase,trail2.db,t,oops\n' }),
        'resources.csv:2',
        /column the header does not name/,
      )
    })

    test('only admins import, only into a custom integration, and a file is required', async () => {
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      assertErrorBody(await upload(await custom(), { resources: RESOURCES }, editor), 403, 'PERMISSION_DENIED')
      const synced = await upload(await custom('postgres'), { resources: RESOURCES })
      assert.match(assertErrorBody(synced, 400, 'BAD_REQUEST').detail, /kept in step by its syncs/)
      assertFieldError(await upload(await custom(), {}), 'resources', /resources\.csv/)
      // JSON text instead of multipart files.
      const id = await custom()
      const json = await h.request({
        method: 'POST',
        url: `/api/v1/integration/integrations/${id}/import_metadata`,
        body: { resources: RESOURCES.replaceAll('shopdb', 'jsonshop').replaceAll('dashboard.', 'jsondash.') },
      })
      assert.equal(json.statusCode, 200, json.body)
      assert.equal(json.json().created, 7)
      assertFieldError(
        await h.request({
          method: 'POST',
          url: `/api/v1/integration/integrations/${id}/import_metadata`,
          body: { resources: 5 },
        }),
        'resources',
        /CSV file as text/,
      )
    })
  })
}
