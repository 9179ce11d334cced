// The catalog's tools for AI assistants (CONTRACT §13): Secoda's MCP tools, answered as readable Markdown, and
// `list_resources`. A tool reads the catalog only through docent's own HTTP API, with the caller's credentials
// (`ApiReader`): what the caller may not see is answered as if it did not exist, by the same code that answers
// every other client, and a revoked key stops working at the very next call.

/** A table's columns as a list shows them: those the caller sees, primary keys first, then by title. */
export interface ColumnPage {
  count: number
  columns: {
    title: string
    data_type: string | null
    native_type: string | null
    is_pk: boolean
    description: string
  }[]
}

/**
 * One GET of docent's API (`path` below `/api/v1`) with the caller's credentials; in the server's own process also
 * `columns`, the same list of a table's columns its typed list answers, read without the rest of each resource.
 */
export type ApiReader = ((path: string) => Promise<{ status: number; body: unknown }>) & {
  /** Undefined when the columns are to be read through the API after all (its answer then says why not). */
  columns?: (tableId: string, limit: number) => Promise<ColumnPage | undefined>
}

export interface ToolAnswer {
  [key: string]: unknown
  isError: boolean
  content: { type: 'text'; text: string }[]
}

/** An API answer's text as JSON; null for an empty or unparsable one (its status still says what happened). */
export function jsonOf(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text)
  } catch {
    return null
  }
}

/** A tool's arguments failed their checks, or the API refused them: said to the caller, never a 500. */
export class ToolError extends Error {}

interface ToolSpec {
  name: string
  description: string
  /** JSON Schema of the arguments (the MCP `inputSchema`). */
  inputSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[] }
  run(read: ApiReader, args: Record<string, unknown>): Promise<string>
}

interface Resource {
  id: string
  entity_type: string
  native_type: string | null
  title: string
  title_full: string
  description: string
  definition: string
  verified: boolean
  pii: boolean
  published: boolean
  owners: string[]
  tags: string[]
  teams: string[]
  integration: string | null
  external_usage: number
  row_count: number | null
  updated_at: string
  custom_properties: Record<string, unknown>
  type?: string | null
  is_pk?: boolean | null
  is_nullable?: boolean | null
  question_status?: string | null
  children_count: number
}

interface Page<T> {
  count: number
  total_pages: number
  results: T[]
}

/** Results a page of a search or list holds. */
export const TOOL_PAGE_SIZE = 20
/** Columns `retrieve_entity` lists (a wider table says how many more). */
const MAX_COLUMNS = 1000
/** How much of a description a list shows per result. */
const SNIPPET = 200

/** Kinds that are written knowledge rather than data (`search_documentation`). */
const DOCUMENTATION_TYPES = ['document', 'glossary', 'question']
/** Kinds that are neither data assets nor documentation a search should answer with. */
const NOT_DATA_TYPES = [...DOCUMENTATION_TYPES, 'question_reply', 'collection']

// Arguments, checked with a sentence that says what to send instead.

function text(args: Record<string, unknown>, name: string, required: true): string
function text(args: Record<string, unknown>, name: string, required: false): string | undefined
function text(args: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = args[name]
  if (value === undefined || value === null) {
    if (required) throw new ToolError(`The argument \`${name}\` is required: give it as text.`)
    return undefined
  }
  if (typeof value !== 'string') throw new ToolError(`The argument \`${name}\` must be text, not ${typeName(value)}.`)
  if (required && value.trim() === '') throw new ToolError(`The argument \`${name}\` must not be empty.`)
  return value
}

function whole(args: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = args[name]
  if (value === undefined || value === null) return undefined
  // Assistants often send numbers as text.
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new ToolError(`The argument \`${name}\` must be a whole number from ${min} to ${max}, not ${show(value)}.`)
  }
  return number
}

function onlyKnown(args: Record<string, unknown>, known: string[]): void {
  const unknown = Object.keys(args).filter((key) => !known.includes(key))
  if (unknown.length > 0) {
    const takes = known.length === 0 ? 'takes no arguments' : `takes ${known.map((k) => `\`${k}\``).join(', ')}`
    throw new ToolError(`Unknown argument ${unknown.map((k) => `\`${k}\``).join(', ')}: this tool ${takes}.`)
  }
}

const typeName = (value: unknown) => (Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`)
const show = (value: unknown) => JSON.stringify(value)?.slice(0, 60) ?? String(value)

/** A UUID, as docent's ids are; anything else is no id of a resource. */
function entityId(args: Record<string, unknown>): string {
  const id = text(args, 'entity_id', true).trim().toLowerCase()
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw new ToolError(
      `\`entity_id\` must be a resource id (a UUID such as the ids search_data_assets shows), not ${show(args.entity_id)}.`,
    )
  }
  return id
}

// Reading the API.

/** The body of a 200, or a ToolError saying what the API said (its `detail`). */
async function get<T>(read: ApiReader, path: string, notFound?: string): Promise<T> {
  return bodyOf<T>(await read(path), notFound)
}

/** The body of an answer of 200, or a ToolError saying what the API said (its `detail`). */
function bodyOf<T>({ status, body }: { status: number; body: unknown }, notFound?: string): T {
  if (status === 200) return body as T
  if (status === 404 && notFound !== undefined) throw new ToolError(notFound)
  const detail = (body as { detail?: unknown } | null)?.detail
  if (status === 401) throw new ToolError('The API key was refused (unknown, revoked or expired): use a valid key.')
  throw new ToolError(typeof detail === 'string' ? detail : `docent answered ${status}.`)
}

const query = (parameters: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(parameters)) if (value !== undefined) search.set(key, String(value))
  return search.toString()
}

// Markdown.

/** One line of text: newlines folded, cut at `max` characters. */
function line(text: string, max = SNIPPET): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

/** A table cell: one line, backslashes and pipes escaped. */
const cell = (text: string) => line(text, 300).replaceAll('\\', '\\\\').replaceAll('|', '\\|')

/** A name or path as it is shown: one line (a title holding a newline cannot start a line of its own). */
const titleText = (text: string) => line(text, 2000)

const count = (n: number) => n.toLocaleString('en')

function kindOf(resource: Resource): string {
  return resource.native_type && resource.native_type !== resource.entity_type
    ? `${resource.entity_type}, ${resource.native_type}`
    : resource.entity_type
}

function resultList(page: Page<Resource>, heading: string, pageNumber: number, empty: string): string {
  if (page.count === 0) return empty
  const from = (pageNumber - 1) * TOOL_PAGE_SIZE
  const lines = [
    `${heading}: ${count(page.count)}${page.count === 10_000 ? '+' : ''} (page ${pageNumber} of ${page.total_pages}).`,
    '',
  ]
  page.results.forEach((resource, i) => {
    const flags = [resource.verified ? 'verified' : '', resource.pii ? 'PII' : ''].filter(Boolean).join(', ')
    lines.push(
      `${from + i + 1}. **${titleText(resource.title_full || resource.title)}** (${kindOf(resource)}${flags ? `; ${flags}` : ''}) — id \`${resource.id}\``,
    )
    if (resource.description.trim() !== '') lines.push(`   ${line(resource.description)}`)
  })
  if (pageNumber < page.total_pages) lines.push('', `More on page ${pageNumber + 1}.`)
  lines.push('', 'Call retrieve_entity with an id for the whole resource, entity_lineage for what feeds it.')
  return lines.join('\n')
}

/** A page of a search: `search_term`, within the kinds `filter` admits, by relevance. */
async function search(read: ApiReader, args: Record<string, unknown>, filter: unknown) {
  onlyKnown(args, ['query', 'page'])
  const term = text(args, 'query', true)
  const page = whole(args, 'page', 1, 10_000) ?? 1
  const path = `/resource/catalog?${query({
    search_term: term,
    filter: JSON.stringify(filter),
    page_size: TOOL_PAGE_SIZE,
    page,
  })}`
  return { term, page, found: await pageOf(read, path, page) }
}

/** A page of a list; a page past the last is an empty answer, not an error. */
async function pageOf(read: ApiReader, path: string, page: number): Promise<Page<Resource>> {
  const answer = await read(path)
  if (answer.status === 404 && page > 1) {
    throw new ToolError(`There is no page ${page}: the results end before it. Ask for an earlier page.`)
  }
  return bodyOf<Page<Resource>>(answer)
}

/** Names for ids of users, tags, teams: one list read per kind that is needed. */
async function namesOf(read: ApiReader, path: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const list = await get<Page<{ id: string; name?: string; email?: string }>>(read, `${path}?page_size=1000`)
  const named = new Map(list.results.map((item) => [item.id, item.name ?? item.email ?? item.id]))
  return ids.map((id) => named.get(id) ?? id)
}

function showValue(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => String(v)).join(', ')
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  return String(value)
}

/** `text` cut to at most `limit` characters, saying it was cut. */
export function truncated(text: string, limit: number | undefined): string {
  if (limit === undefined || text.length <= limit) return text
  const note = `\n\n…(cut at ${count(limit)} of ${count(text.length)} characters)`
  if (limit <= note.length + 20) return text.slice(0, limit)
  return text.slice(0, limit - note.length) + note
}

async function retrieve(read: ApiReader, args: Record<string, unknown>): Promise<string> {
  onlyKnown(args, ['entity_id', 'truncate_length'])
  const id = entityId(args)
  const limit = whole(args, 'truncate_length', 1, 10_000_000)
  const resource = await get<Resource>(
    read,
    `/resource/all/${id}`,
    `No resource has the id ${id}, or you may not see it. Find ids with search_data_assets.`,
  )
  const [owners, tags, teams] = await Promise.all([
    namesOf(read, '/user', resource.owners),
    namesOf(read, '/tag', resource.tags),
    namesOf(read, '/auth/teams', resource.teams),
  ])
  const out = [
    `# ${titleText(resource.title)}`,
    '',
    `- Path: ${titleText(resource.title_full)}`,
    `- Kind: ${kindOf(resource)}`,
    `- Id: \`${resource.id}\``,
    `- Verified: ${resource.verified ? 'yes' : 'no'} · PII: ${resource.pii ? 'yes' : 'no'} · Published: ${resource.published ? 'yes' : 'no'}`,
  ]
  if (owners.length > 0) out.push(`- Owners: ${owners.join(', ')}`)
  if (tags.length > 0) out.push(`- Tags: ${tags.join(', ')}`)
  if (teams.length > 0) out.push(`- Teams: ${teams.join(', ')}`)
  if (resource.row_count !== null && resource.row_count !== undefined) out.push(`- Rows: ${count(resource.row_count)}`)
  if (resource.type) out.push(`- Data type: ${resource.type}`)
  if (resource.question_status) out.push(`- Question status: ${resource.question_status.toLowerCase()}`)
  out.push(`- Usage: ${count(resource.external_usage)} · Updated: ${resource.updated_at}`)
  out.push('', '## Description', '', resource.description.trim() || '_None yet._')
  if (resource.definition.trim() !== '') out.push('', '## Documentation', '', resource.definition.trim())
  const properties = Object.entries(resource.custom_properties ?? {})
  if (properties.length > 0) {
    out.push('', '## Custom properties', '')
    for (const [name, value] of properties) out.push(`- ${name}: ${showValue(value)}`)
  }
  if (resource.children_count > 0) out.push('', ...(await childrenOf(read, resource)))
  return truncated(out.join('\n'), limit)
}

/** A table's first columns, primary keys first, then by title: in process directly, else through its typed list. */
async function columnsOf(read: ApiReader, tableId: string): Promise<ColumnPage> {
  const direct = await read.columns?.(tableId, MAX_COLUMNS)
  if (direct !== undefined) return direct
  const page = await get<Page<Resource>>(
    read,
    `/table/columns?${query({ parent_id: tableId, page_size: MAX_COLUMNS })}`,
  )
  const columns = page.results
    .map((c) => ({
      title: c.title,
      data_type: c.type ?? null,
      native_type: c.native_type,
      is_pk: c.is_pk === true,
      description: c.description,
    }))
    .sort((a, b) => Number(b.is_pk) - Number(a.is_pk) || (a.title < b.title ? -1 : a.title > b.title ? 1 : 0))
  return { count: page.count, columns }
}

/** A table's columns with their types, or the first resources under anything else. */
async function childrenOf(read: ApiReader, resource: Resource): Promise<string[]> {
  if (resource.entity_type === 'table') {
    const { count: total, columns } = await columnsOf(read, resource.id)
    const out = [`## Columns (${count(total)})`, '', '| column | type | description |', '|---|---|---|']
    for (const column of columns) {
      const type = [column.data_type ?? column.native_type ?? '', column.is_pk ? 'primary key' : ''].filter(Boolean)
      out.push(`| ${cell(column.title)} | ${cell(type.join(', '))} | ${cell(column.description)} |`)
    }
    if (total > columns.length) out.push('', `…and ${count(total - columns.length)} more columns.`)
    return out
  }
  const filter = JSON.stringify({ operator: 'exact', field: 'parent_id', value: resource.id })
  const under = await get<Page<Resource>>(read, `/resource/catalog?${query({ filter, page_size: 50 })}`)
  const out = [`## Under it (${count(under.count)}${under.count === 10_000 ? '+' : ''})`, '']
  for (const child of under.results) out.push(`- **${titleText(child.title)}** (${kindOf(child)}) — id \`${child.id}\``)
  if (under.count > under.results.length) out.push(`- …and ${count(under.count - under.results.length)} more`)
  return out
}

interface Graph {
  nodes: Resource[]
  edges: { from: string; to: string; is_manual: boolean }[]
  truncated: boolean
}

/** Hops from `center` along the edges, one way. */
function hops(graph: Graph, center: string, way: 'up' | 'down'): Map<string, number> {
  const seen = new Map<string, number>([[center, 0]])
  let frontier = [center]
  for (let hop = 1; frontier.length > 0; hop++) {
    const next: string[] = []
    for (const edge of graph.edges) {
      const [near, far] = way === 'down' ? [edge.from, edge.to] : [edge.to, edge.from]
      if (frontier.includes(near) && !seen.has(far)) {
        seen.set(far, hop)
        next.push(far)
      }
    }
    frontier = next
  }
  seen.delete(center)
  return seen
}

async function lineage(read: ApiReader, args: Record<string, unknown>): Promise<string> {
  onlyKnown(args, ['entity_id', 'depth'])
  const id = entityId(args)
  const depth = whole(args, 'depth', 1, 5) ?? 3
  const graph = await get<Graph>(
    read,
    `/lineage/graph/${id}?${query({ direction: 'both', depth })}`,
    `No resource has the id ${id}, or you may not see it. Find ids with search_data_assets.`,
  )
  const byId = new Map(graph.nodes.map((node) => [node.id, node]))
  const center = byId.get(id)
  const out = [
    `# Lineage of ${center === undefined ? id : titleText(center.title_full)}`,
    '',
    `Up to ${depth} hops each way.`,
  ]
  for (const [way, title, none] of [
    ['up', 'Upstream: what it is made from', 'Nothing is known to feed it.'],
    ['down', 'Downstream: what reads from it', 'Nothing is known to read from it.'],
  ] as const) {
    out.push('', `## ${title}`, '')
    const found = [...hops(graph, id, way)].filter(([node]) => byId.has(node))
    if (found.length === 0) out.push(none)
    for (const [node, hop] of found) {
      const resource = byId.get(node) as Resource
      out.push(
        `- **${titleText(resource.title_full || resource.title)}** (${kindOf(resource)}) — ${hop === 1 ? '1 hop' : `${hop} hops`}, id \`${resource.id}\``,
      )
    }
  }
  if (graph.truncated) out.push('', 'Only the nearest 1,000 resources are shown.')
  return out.join('\n')
}

async function glossary(read: ApiReader, args: Record<string, unknown>): Promise<string> {
  onlyKnown(args, ['page'])
  const page = whole(args, 'page', 1, 10_000) ?? 1
  const terms = await pageOf(read, `/dictionary/terms?${query({ page_size: 50, page })}`, page)
  if (terms.count === 0) return 'The glossary is empty: no terms are defined yet.'
  const out = [`# Glossary: ${count(terms.count)} terms (page ${page} of ${terms.total_pages})`, '']
  for (const term of terms.results) {
    out.push(`- **${titleText(term.title)}** — ${line(term.description || term.definition || '(no description)', 500)}`)
  }
  if (page < terms.total_pages) out.push('', `More on page ${page + 1}.`)
  return out.join('\n')
}

async function listResources(read: ApiReader, args: Record<string, unknown>): Promise<string> {
  onlyKnown(args, ['filter', 'sort', 'page'])
  const page = whole(args, 'page', 1, 10_000) ?? 1
  const asJson = (name: string) => {
    const value = args[name]
    if (value === undefined || value === null) return undefined
    if (typeof value === 'string') return value
    if (typeof value === 'object' && !Array.isArray(value)) return JSON.stringify(value)
    throw new ToolError(`The argument \`${name}\` must be an object (or its JSON text), not ${typeName(value)}.`)
  }
  const path = `/resource/catalog?${query({ filter: asJson('filter'), sort: asJson('sort'), page_size: TOOL_PAGE_SIZE, page })}`
  const found = await pageOf(read, path, page)
  return resultList(found, 'Resources matching', page, 'No resource matches this filter (among those you may see).')
}

const ID_SCHEMA = { type: 'string', description: 'A resource id (UUID), as the search tools show it.' }
const PAGE_SCHEMA = {
  type: 'integer',
  minimum: 1,
  description: `Page of results, ${TOOL_PAGE_SIZE} a page (default 1).`,
}

const FILTER_DESCRIPTION = [
  'A List Resources filter (JSON object). Leaf: {"operator": "exact"|"contains"|"in"|"is_set", "field": F, "value": V};',
  'combined: {"operator": "and"|"or"|"not", "operands": [filters]} ("not" takes one). exact is equality (case-sensitive);',
  'contains a case-insensitive substring; in a list of values; is_set ignores value. Fields: id, entity_type (database,',
  'schema, table, column, dashboard, chart, document, glossary, question, collection), native_type, title, title_full',
  '(the dotted path), description, definition, integration_id, parent_id, databuilder_id, url, pii, verified, published,',
  'archived, stale, created_at, updated_at, external_updated_at, external_usage, internal_usage, row_count, byte_size;',
  'list fields owners, owners_groups, teams, tags, collections, subscribers (exact: holds this id; in: holds any);',
  'custom_properties.<name>. Example: tables whose name holds "order":',
  '{"operator":"and","operands":[{"operator":"exact","field":"entity_type","value":"table"},',
  '{"operator":"contains","field":"title","value":"order"}]}',
].join(' ')

/** A search tool: `search_term` within the kinds `filter` admits, a page of results. */
function searchTool(
  name: string,
  description: string,
  filter: unknown,
  words: { heading: string; none: string },
): ToolSpec {
  return {
    name,
    description,
    inputSchema: {
      type: 'object',
      properties: { query: { type: 'string', description: 'Words to look for.' }, page: PAGE_SCHEMA },
      required: ['query'],
    },
    run: async (read, args) => {
      const { term, page, found } = await search(read, args, filter)
      const quoted = `“${line(term, 80)}”`
      return resultList(found, `${words.heading} for ${quoted}`, page, `No ${words.none} matches ${quoted}.`)
    },
  }
}

export const TOOLS: ToolSpec[] = [
  searchTool(
    'search_data_assets',
    'Search the data catalog for databases, schemas, tables, columns, dashboards and charts by name, path or description (typos forgiven), best match first. Use it first to find where data lives, e.g. "which table has customer churn". Answers paths, kinds and ids.',
    { operator: 'not', operands: [{ operator: 'in', field: 'entity_type', value: NOT_DATA_TYPES }] },
    { heading: 'Data assets', none: 'data asset' },
  ),
  searchTool(
    'search_documentation',
    "Search the team's written knowledge: documents, glossary terms and questions with their answers. Use it for what something means or how it is used, rather than where data is.",
    { operator: 'in', field: 'entity_type', value: DOCUMENTATION_TYPES },
    { heading: 'Documentation', none: 'documentation' },
  ),
  {
    name: 'retrieve_entity',
    description:
      'Read one resource in full by its id: path, kind, description, documentation, owners, tags, custom properties and, for a table, its columns with their types and descriptions. Use it after a search, before writing a query.',
    inputSchema: {
      type: 'object',
      properties: {
        entity_id: ID_SCHEMA,
        truncate_length: {
          type: 'integer',
          minimum: 1,
          description: 'At most this many characters of text are answered (a wide table can be long).',
        },
      },
      required: ['entity_id'],
    },
    run: retrieve,
  },
  {
    name: 'entity_lineage',
    description:
      'What a resource is made from (upstream) and what reads from it (downstream), a few hops each way. Use it to trace where data comes from or what breaks if it changes.',
    inputSchema: {
      type: 'object',
      properties: {
        entity_id: ID_SCHEMA,
        depth: { type: 'integer', minimum: 1, maximum: 5, description: 'Hops each way (default 3).' },
      },
      required: ['entity_id'],
    },
    run: lineage,
  },
  {
    name: 'glossary',
    description: "The business glossary: each term with its definition. Use it to learn the team's vocabulary.",
    inputSchema: { type: 'object', properties: { page: { ...PAGE_SCHEMA, description: 'Page of terms, 50 a page.' } } },
    run: glossary,
  },
  {
    name: 'list_resources',
    description:
      'List catalog resources by exact conditions (a filter) rather than words: e.g. every verified table of one schema, or columns holding PII. Sorted by a field if given, else by usage.',
    inputSchema: {
      type: 'object',
      properties: {
        filter: { type: 'object', description: FILTER_DESCRIPTION },
        sort: {
          type: 'object',
          description:
            'Order: {"field": F, "order": "asc"|"desc"} over title, title_full, entity_type, native_type, created_at, updated_at, external_updated_at, external_usage, internal_usage, total_usage, row_count, byte_size. Default: external_usage desc.',
        },
        page: PAGE_SCHEMA,
      },
    },
    run: listResources,
  },
  {
    name: 'run_sql',
    description:
      'Not available: docent is a catalog and does not run queries. Use search_data_assets and retrieve_entity to find the tables and columns, then run the query with your database client.',
    inputSchema: { type: 'object', properties: { query: { type: 'string' } } },
    run: async () => {
      throw new ToolError(
        'docent does not run SQL: it is a catalog of what your databases hold, not a connection to them. Find the tables and columns with search_data_assets and retrieve_entity, then run the query with your own database client.',
      )
    },
  },
]

/**
 * Runs a tool by name: a Markdown answer, or `isError` with a sentence saying what went wrong. A failure of docent
 * itself is told to `onError` (the log) and answered without its details.
 */
export async function callTool(
  name: unknown,
  args: unknown,
  read: ApiReader,
  onError: (error: unknown) => void,
): Promise<ToolAnswer> {
  const answer = (isError: boolean, text: string): ToolAnswer => ({ isError, content: [{ type: 'text', text }] })
  const tool = TOOLS.find((t) => t.name === name)
  if (tool === undefined) {
    return answer(true, `Unknown tool ${show(name)}. The tools are: ${TOOLS.map((t) => t.name).join(', ')}.`)
  }
  if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
    return answer(true, `The arguments must be an object, not ${typeName(args)}.`)
  }
  try {
    return answer(false, await tool.run(read, (args ?? {}) as Record<string, unknown>))
  } catch (error) {
    if (error instanceof ToolError) return answer(true, error.message)
    onError(error)
    return answer(
      true,
      'The tool failed inside docent (the server logged why): try again, and tell its operator if it keeps failing.',
    )
  }
}
