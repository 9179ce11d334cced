import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ENGINES, type Harness, makeKey, makeUser, makeVia, startHarness } from '../helpers.ts'

// Issue 17: the catalog's tools for AI assistants. Secoda's endpoint with the exact body its MCP servers send, and
// docent's own MCP server through the official SDK's client, over Streamable HTTP and over stdio (`docent mcp`).

const BIN = fileURLToPath(new URL('../../bin/docent.js', import.meta.url))

type Answer = { isError: boolean; content: { type: string; text: string }[] }
const textOf = (answer: Answer) => answer.content.map((c) => c.text).join('\n')

for (const { engine, skip } of ENGINES) {
  describe(`tools for AI assistants on ${engine}`, { skip }, () => {
    let h: Harness
    let base: string
    let table: { id: string }
    let source: { id: string }
    let secret: { id: string }
    let viewer: string

    before(async () => {
      h = await startHarness(engine)
      await h.app.listen({ port: 0, host: '127.0.0.1' })
      base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
      const integration = (
        await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: 'warehouse', type: 'snowflake' },
        })
      ).json().id
      const database = await makeVia(h, '/database/databases', { title: 'analytics', integration })
      const schema = await makeVia(h, '/database/schemas', { title: 'sales', parent: database.id })
      table = await makeVia(h, '/table/tables', {
        title: 'customer_orders',
        parent: schema.id,
        description: 'One row per order a customer placed.',
        definition: '# Orders\n\nRefunds are negative amounts.',
      })
      for (const title of ['order_id', 'customer_id', 'amount']) {
        await makeVia(h, '/table/columns', { title, parent: table.id, description: `The ${title.replace('_', ' ')}.` })
      }
      // Enough metrics for a second page of results (20 a page).
      for (let i = 0; i < 25; i++) await makeVia(h, '/table/columns', { title: `metric_${i}`, parent: table.id })
      // A column a viewer may not see, in a table they may.
      await makeVia(h, '/table/columns', { title: 'hidden_margin', parent: table.id, published: false })
      source = await makeVia(h, '/table/tables', { title: 'raw_orders', parent: schema.id })
      secret = await makeVia(h, '/table/tables', { title: 'secret_salaries', parent: schema.id, published: false })
      for (const [from, to] of [
        [source.id, table.id],
        [secret.id, table.id],
      ]) {
        const edge = await h.request({
          method: 'POST',
          url: '/api/v1/lineage/manual',
          body: { from_entity: from, to_entity: to },
        })
        assert.equal(edge.statusCode, 201, edge.body)
      }
      await makeVia(h, '/dictionary/terms', { title: 'Churn', description: 'Customers who left in a month.' })
      await makeVia(h, '/document/documents', {
        title: 'Orders handbook',
        description: 'How customer orders are counted.',
      })
      viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    /** Secoda's endpoint, as the Secoda MCP servers call it: trailing slash, JSON body `{name, arguments}`. */
    const secoda = async (name: unknown, args: unknown, authorization?: string) => {
      const response = await h.request({
        method: 'POST',
        url: '/api/v1/ai/mcp/tools/call/',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: { name, arguments: args },
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json() as Answer
    }

    test("Secoda's endpoint: searches, reads a table with its columns, lineage, glossary, documentation", async () => {
      const found = await secoda('search_data_assets', { query: 'customer orders', page: 1 })
      assert.equal(found.isError, false)
      assert.match(textOf(found), /analytics\.sales\.customer_orders/)
      assert.ok(textOf(found).includes(table.id), 'the id to retrieve it by')
      assert.doesNotMatch(textOf(found), /Orders handbook/, 'documents are not data assets')

      const entity = textOf(await secoda('retrieve_entity', { entity_id: table.id }))
      assert.match(entity, /^# customer_orders/)
      assert.match(entity, /Path: analytics\.sales\.customer_orders/)
      assert.match(entity, /One row per order a customer placed\./)
      assert.match(entity, /Refunds are negative amounts\./)
      assert.match(entity, /## Columns \(29\)/)
      assert.match(entity, /\| customer_id \| .* \| The customer id\. \|/)

      const cut = await secoda('retrieve_entity', { entity_id: table.id, truncate_length: 300 })
      assert.equal(cut.isError, false)
      assert.ok(textOf(cut).length <= 300, `${textOf(cut).length} characters`)
      assert.match(textOf(cut), /cut at 300 of/)

      const lineage = textOf(await secoda('entity_lineage', { entity_id: table.id }))
      assert.match(lineage, /## Upstream[^#]*raw_orders/)
      assert.match(lineage, /Nothing is known to read from it\./)

      assert.match(textOf(await secoda('glossary', {})), /\*\*Churn\*\* — Customers who left in a month\./)
      const docs = textOf(await secoda('search_documentation', { query: 'orders' }))
      assert.match(docs, /Orders handbook/)
      assert.doesNotMatch(docs, /customer_orders/)
    })

    test('a second page of results, and a page past the last said plainly', async () => {
      const first = textOf(await secoda('search_data_assets', { query: 'metric' }))
      assert.match(first, /Data assets for “metric”: 25 \(page 1 of 2\)/)
      assert.match(first, /More on page 2\./)
      const second = textOf(await secoda('search_data_assets', { query: 'metric', page: 2 }))
      assert.match(second, /^Data assets for “metric”: 25 \(page 2 of 2\)/)
      assert.equal((second.match(/^\d+\. /gm) ?? []).length, 5)
      assert.match(second, /^21\. /m)
      const past = await secoda('search_data_assets', { query: 'metric', page: 3 })
      assert.equal(past.isError, true)
      assert.match(textOf(past), /There is no page 3/)
    })

    test('run_sql, unknown tools and bad arguments answer isError with a sentence, never a 500', async () => {
      const sqlAnswer = await secoda('run_sql', { query: 'select 1' })
      assert.equal(sqlAnswer.isError, true)
      assert.match(textOf(sqlAnswer), /docent does not run SQL/)
      for (const [name, args, said] of [
        ['drop_everything', {}, /Unknown tool "drop_everything"\. The tools are: search_data_assets/],
        ['retrieve_entity', {}, /`entity_id` is required/],
        ['retrieve_entity', { entity_id: 'orders' }, /must be a resource id/],
        ['retrieve_entity', { entity_id: 42 }, /must be text, not a number/],
        ['retrieve_entity', { entity_id: table.id, truncate_length: 0 }, /`truncate_length` must be a whole number/],
        ['search_data_assets', { query: '' }, /`query` must not be empty/],
        ['search_data_assets', { query: 'x', page: -1 }, /`page` must be a whole number from 1/],
        ['search_data_assets', { query: 'x', limit: 5 }, /Unknown argument `limit`/],
        ['search_data_assets', ['x'], /arguments must be an object, not a list/],
        ['list_resources', { filter: { operator: 'like', field: 'title', value: 'x' } }, /operator/],
        ['retrieve_entity', { entity_id: '00000000-0000-4000-8000-000000000000' }, /No resource has the id/],
      ] as const) {
        const answer = await secoda(name, args)
        assert.equal(answer.isError, true, `${name} ${JSON.stringify(args)}`)
        assert.match(textOf(answer), said)
      }
      // The body itself must name a tool.
      const nameless = await h.request({ method: 'POST', url: '/api/v1/ai/mcp/tools/call', body: { arguments: {} } })
      assert.equal(nameless.statusCode, 400, nameless.body)
      const anonymous = await h.request({
        method: 'POST',
        url: '/api/v1/ai/mcp/tools/call',
        headers: { authorization: '' },
        body: { name: 'glossary' },
      })
      assert.equal(anonymous.statusCode, 401)
    })

    for (const role of ['viewer', 'guest'] as const)
      test(`a ${role} gets no unpublished resource through any tool`, async () => {
        let viewerKey = viewer
        if (role === 'guest') {
          const guest = await makeUser(h, { role })
          const joined = await h.request({
            method: 'PATCH',
            url: `/api/v1/user/${guest}`,
            body: { teams: [h.defaultTeamId] },
          })
          assert.equal(joined.statusCode, 200, joined.body)
          viewerKey = await makeKey(h, guest)
        }
        const seen = [
          await secoda('search_data_assets', { query: 'salaries' }, viewerKey),
          await secoda('search_data_assets', { query: 'sales' }, viewerKey),
          await secoda('retrieve_entity', { entity_id: secret.id }, viewerKey),
          await secoda('retrieve_entity', { entity_id: table.id }, viewerKey),
          await secoda('entity_lineage', { entity_id: table.id }, viewerKey),
          await secoda('entity_lineage', { entity_id: secret.id }, viewerKey),
          await secoda(
            'list_resources',
            { filter: { operator: 'contains', field: 'title', value: 'secret' } },
            viewerKey,
          ),
          await secoda('list_resources', {}, viewerKey),
          await secoda('search_documentation', { query: 'salaries' }, viewerKey),
          await secoda('glossary', {}, viewerKey),
        ]
        for (const [i, answer] of seen.entries()) {
          assert.doesNotMatch(textOf(answer), /secret_salaries|hidden_margin/i)
          // (Asked by its id, the answer repeats the id it was given.)
          if (i !== 2 && i !== 5) assert.ok(!textOf(answer).includes(secret.id), textOf(answer))
        }
        // What the viewer may see is still answered (the test is not passing by answering nothing).
        assert.match(textOf(seen[3] as Answer), /customer_orders[\s\S]*## Columns \(28\)/)
        assert.match(textOf(seen[4] as Answer), /raw_orders/)
        assert.equal((seen[2] as Answer).isError, true)
        // The admin sees them, through the same tools.
        assert.match(textOf(await secoda('entity_lineage', { entity_id: table.id })), /secret_salaries/)
        assert.match(textOf(await secoda('retrieve_entity', { entity_id: table.id })), /\| hidden_margin \|/)
      })

    /** An SDK client in a new MCP session over Streamable HTTP at `path`, sending `authorization`. */
    const connectOverHttp = async (path: string, authorization: string) => {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
        requestInit: { headers: { authorization } },
      })
      const client = new Client({ name: 'docent-test', version: '1.0.0' })
      await client.connect(transport)
      return { transport, client }
    }

    test('MCP over Streamable HTTP with the SDK client: initialize, list tools, call each, paging, an error', async () => {
      const { transport, client } = await connectOverHttp('/api/v1/mcp', `Bearer ${h.adminKey}`)
      try {
        assert.equal(client.getServerVersion()?.name, 'docent')
        assert.match(client.getInstructions() ?? '', /data catalog/)
        const { tools } = await client.listTools()
        assert.deepEqual(tools.map((t) => t.name).sort(), [
          'entity_lineage',
          'glossary',
          'list_resources',
          'retrieve_entity',
          'run_sql',
          'search_data_assets',
          'search_documentation',
        ])
        const listing = tools.find((t) => t.name === 'list_resources')
        assert.match(JSON.stringify(listing?.inputSchema), /custom_properties/)
        const call = async (name: string, args: Record<string, unknown>) =>
          (await client.callTool({ name, arguments: args })) as Answer
        assert.match(textOf(await call('search_data_assets', { query: 'customer' })), /customer_orders/)
        assert.match(textOf(await call('search_data_assets', { query: 'metric', page: 2 })), /page 2 of 2/)
        assert.match(textOf(await call('search_documentation', { query: 'churn' })), /Churn/)
        assert.match(textOf(await call('retrieve_entity', { entity_id: table.id })), /## Columns \(29\)/)
        assert.match(textOf(await call('entity_lineage', { entity_id: table.id })), /raw_orders/)
        assert.match(textOf(await call('glossary', {})), /Churn/)
        const listed = textOf(
          await call('list_resources', {
            filter: { operator: 'and', operands: [{ operator: 'exact', field: 'entity_type', value: 'table' }] },
            sort: { field: 'title', order: 'asc' },
          }),
        )
        assert.match(
          listed,
          /1\. \*\*analytics\.sales\.customer_orders\*\*[\s\S]*2\. \*\*analytics\.sales\.raw_orders\*\*/,
        )
        const refused = await call('run_sql', { query: 'select 1' })
        assert.equal(refused.isError, true)
        const wrong = await call('retrieve_entity', { entity_id: 'nope' })
        assert.equal(wrong.isError, true)
        // The session is the key's: another key cannot use it.
        const other = await fetch(`${base}/api/v1/mcp`, {
          method: 'POST',
          headers: {
            authorization: viewer,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': transport.sessionId as string,
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
        })
        assert.equal(other.status, 403)
      } finally {
        await transport.terminateSession()
        await client.close()
      }
      // Ended: the session id is no longer known.
      const ended = await fetch(`${base}/api/v1/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${h.adminKey}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': transport.sessionId ?? 'gone',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      })
      assert.equal(ended.status, 404)
    })

    test('a revoked key stops working in its open MCP session at the next call', async () => {
      const userId = await makeUser(h, { role: 'editor' })
      const key = await makeKey(h, userId)
      const { client } = await connectOverHttp('/mcp', key)
      try {
        assert.equal(((await client.callTool({ name: 'glossary', arguments: {} })) as Answer).isError, false)
        const keys = (await h.request({ method: 'GET', url: '/api/v1/auth/api_keys?page_size=1000' })).json()
          .results as {
          id: string
          user: string
        }[]
        for (const k of keys.filter((k) => k.user === userId)) {
          const revoked = await h.request({ method: 'DELETE', url: `/api/v1/auth/api_keys/${k.id}` })
          assert.equal(revoked.statusCode, 204, revoked.body)
        }
        await assert.rejects(() => client.callTool({ name: 'glossary', arguments: {} }))
      } finally {
        await client.close()
      }
    })

    test('a role changed during an MCP session counts at the next call, the columns of a table included', async () => {
      const userId = await makeUser(h, { role: 'admin' })
      const key = await makeKey(h, userId)
      const { client } = await connectOverHttp('/mcp', key)
      try {
        const read = async () =>
          textOf((await client.callTool({ name: 'retrieve_entity', arguments: { entity_id: table.id } })) as Answer)
        assert.match(await read(), /\| hidden_margin \|/)
        const demoted = await h.request({ method: 'PATCH', url: `/api/v1/user/${userId}`, body: { role: 'viewer' } })
        assert.equal(demoted.statusCode, 200, demoted.body)
        const after = await read()
        assert.match(after, /## Columns \(28\)/)
        assert.doesNotMatch(after, /hidden_margin/)
      } finally {
        await client.close()
      }
    })

    test('the MCP endpoint refuses what is not the protocol with a clear status', async () => {
      const post = (headers: Record<string, string>, body: unknown) =>
        fetch(`${base}/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${h.adminKey}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          },
          body: JSON.stringify(body),
        })
      // A request other than initialize, without a session.
      assert.equal((await post({}, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status, 400)
      // A session nobody opened, or a malformed one.
      for (const id of ['00000000-0000-4000-8000-000000000000', 'x'.repeat(300), '../../etc']) {
        const response = await post({ 'mcp-session-id': id }, { jsonrpc: '2.0', id: 1, method: 'tools/list' })
        assert.equal(response.status, 404, id)
      }
      assert.equal((await fetch(`${base}/mcp`, { headers: { authorization: `Bearer ${h.adminKey}` } })).status, 405)
      const end = await fetch(`${base}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${h.adminKey}` } })
      assert.equal(end.status, 404)
      assert.equal((await fetch(`${base}/mcp`, { method: 'POST', body: '{}' })).status, 401)
    })

    if (engine === 'sqlite')
      test('MCP over stdio (`docent mcp`) with the SDK client, reading a docent server', async () => {
        const transport = new StdioClientTransport({
          command: process.execPath,
          args: [BIN, 'mcp', '--url', base],
          env: { ...(process.env as Record<string, string>), DOCENT_API_KEY: h.adminKey },
          stderr: 'pipe',
        })
        const client = new Client({ name: 'docent-test', version: '1.0.0' })
        await client.connect(transport)
        try {
          const { tools } = await client.listTools()
          assert.equal(tools.length, 7)
          const found = (await client.callTool({
            name: 'search_data_assets',
            arguments: { query: 'customer' },
          })) as Answer
          assert.match(textOf(found), /customer_orders/)
          const page2 = (await client.callTool({
            name: 'search_data_assets',
            arguments: { query: 'metric', page: 2 },
          })) as Answer
          assert.match(textOf(page2), /page 2 of 2/)
          const refused = (await client.callTool({ name: 'run_sql', arguments: { query: 'select 1' } })) as Answer
          assert.equal(refused.isError, true)
          for (const [name, args, said] of [
            ['search_documentation', { query: 'churn' }, /Churn/],
            ['entity_lineage', { entity_id: table.id }, /raw_orders/],
            ['glossary', {}, /Churn/],
            ['list_resources', { filter: { operator: 'exact', field: 'title', value: 'raw_orders' } }, /raw_orders/],
          ] as const) {
            assert.match(textOf((await client.callTool({ name, arguments: args })) as Answer), said, name)
          }
          // Read over HTTP, a table's columns come from its typed list; in the server, directly: the same text.
          const entity = (await client.callTool({
            name: 'retrieve_entity',
            arguments: { entity_id: table.id },
          })) as Answer
          assert.match(textOf(entity), /## Columns \(29\)/)
          assert.equal(textOf(entity), textOf(await secoda('retrieve_entity', { entity_id: table.id })))
        } finally {
          await client.close()
        }
      })
  })
}
