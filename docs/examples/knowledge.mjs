#!/usr/bin/env node
// A glossary, a document, a question with its answer, a dashboard with charts and a custom property on 100
// tables, written through docent's HTTP API only and then found again through List Resources.
//
//   DOCENT_URL=http://127.0.0.1:8080 DOCENT_API_KEY=<an admin's key> node docs/examples/knowledge.mjs
//
// Node 20 or later, nothing to install. Every name carries a suffix of its own run, so the script can run again
// on the same catalog. It stops at the first answer that is not what it expects, with a non-zero exit code.

const base = `${(process.env.DOCENT_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '')}/api/v1`
const key = process.env.DOCENT_API_KEY
if (!key) {
  console.error('Set DOCENT_API_KEY to an API key of an admin (docent prints one at its first start).')
  process.exit(2)
}
const run = Date.now().toString(36)

/** One API call; any answer but 2xx stops the script with what docent said. */
async function call(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
  return text === '' ? null : JSON.parse(text)
}

/** Every resource List Resources answers for a filter, page after page. */
async function find(filter) {
  const found = []
  for (let page = 1; ; page++) {
    const query = new URLSearchParams({ filter: JSON.stringify(filter), page: String(page), page_size: '100' })
    const answer = await call('GET', `/resource/catalog?${query}`)
    found.push(...answer.results)
    if (page >= answer.total_pages) return found
  }
}

const exact = (field, value) => ({ operator: 'exact', field, value })
const and = (...operands) => ({ operator: 'and', operands })

function expect(what, actual, expected) {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, found ${actual}`)
  console.log(`ok  ${what}: ${actual}`)
}

// Where the data lives: an integration, a database, a schema and 100 tables.
const integration = await call('POST', '/integration/integrations', { name: `Warehouse ${run}`, type: 'postgres' })
const database = await call('POST', '/database/databases', { title: `analytics_${run}`, integration: integration.id })
const schema = await call('POST', '/database/schemas', { title: 'sales', parent: database.id })
const tables = []
for (let i = 1; i <= 100; i++) {
  tables.push(await call('POST', '/table/tables', { title: `orders_${String(i).padStart(3, '0')}`, parent: schema.id }))
}

// A glossary of 20 terms: one parent term and 19 under it.
const glossary = await call('POST', '/dictionary/terms', {
  title: `Revenue ${run}`,
  definition: 'Money from **orders**, before refunds.',
})
for (let i = 1; i < 20; i++) {
  await call('POST', '/dictionary/terms', { title: `Revenue term ${i} ${run}`, parent: glossary.id })
}

// A document about the first table, linked to it through `sources`.
const orders = tables[0]
const document = await call('POST', '/document/documents', {
  title: `How orders are loaded ${run}`,
  definition: '# Loading\nNightly, from the shop database.',
  sources: [orders.id],
})

// A question with two replies; the second becomes the accepted answer.
const question = await call('POST', '/question/questions', {
  title: `Why are refunds missing from ${orders.title_full}? ${run}`,
  question_priority: 'HIGH',
})
await call('POST', '/question/replies', {
  title: 'First guess',
  parent: question.id,
  definition: 'Maybe the load failed?',
})
const answer = await call('POST', '/question/replies', {
  title: 'Answer',
  parent: question.id,
  definition: 'Refunds are in their own table.',
})
await call('PATCH', `/question/replies/${answer.id}`, { accepted: true })

// A dashboard with three charts.
const dashboard = await call('POST', '/dashboard/dashboards', { title: `Sales overview ${run}` })
for (const title of ['Orders a day', 'Revenue a week', 'Refunds']) {
  await call('POST', '/dashboard/charts', { title, parent: dashboard.id })
}

// A custom property for tables, set on all 100 in one bulk update (one transaction).
const steward = await call('POST', '/resource/all_v2/custom_properties', {
  name: `Data steward ${run}`,
  value_type: 'string',
  entity_types: ['table'],
})
const updated = await call(
  'POST',
  '/resource/all/bulk_update',
  tables.map((table) => ({ id: table.id, data: { custom_properties: { [steward.name]: 'Finance team' } } })),
)
expect('tables updated by the bulk update', updated.length, 100)

// Everything, found again through List Resources.
const terms = await find(and(exact('entity_type', 'glossary'), { operator: 'contains', field: 'title', value: run }))
expect('glossary terms found', terms.length, 20)
const aboutOrders = await find(and(exact('entity_type', 'document'), exact('sources', orders.id)))
expect('documents whose sources hold the orders table', aboutOrders.filter((d) => d.id === document.id).length, 1)
const [asked] = await find(exact('id', question.id))
expect('the question is answered', asked.question_status, 'ANSWERED')
const replies = await find(exact('parent_id', question.id))
expect('replies to the question', replies.length, 2)
expect('the accepted reply', replies.find((reply) => reply.accepted)?.id, answer.id)
const charts = await find(and(exact('entity_type', 'chart'), exact('parent_id', dashboard.id)))
expect('charts on the dashboard', charts.length, 3)
const stewarded = await find(exact(`custom_properties.${steward.name}`, 'Finance team'))
expect(`tables whose "${steward.name}" is Finance team`, stewarded.length, 100)
expect('their value, as a resource shows it', stewarded[0].custom_properties[steward.name], 'Finance team')
