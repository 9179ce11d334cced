import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { RELATION_TABLES } from '../../src/catalog/repository/relations.ts'
import {
  ENGINES,
  type Harness,
  makeGroup,
  makeIntegration,
  makeTag,
  makeTeam,
  makeUser,
  seededRandom,
  startHarness,
} from '../helpers.ts'

type Model = Record<string, unknown> & { id: string }

const WORDS = [
  'customers',
  'Customers',
  'orders',
  'ÉCOLE',
  'école',
  'straße',
  'sales_2024',
  'a%b',
  'a_b',
  'ab',
  'raw',
  'x',
]
const NATIVE = ['table', 'view', 'BASE TABLE', 'VIEW', 'Dataset', '', null]
const TYPES = ['database', 'schema', 'table', 'column', 'collection', 'dashboard']
const TIMES = [
  '2025-01-01T00:00:00.000Z',
  '2025-06-15T12:30:00.000Z',
  '2026-02-28T23:59:59.999Z',
  '2024-12-31T08:00:00.000Z',
]

const TEXT = [
  'id',
  'type',
  'entity_type',
  'native_type',
  'title',
  'title_full',
  'description',
  'definition',
  'integration_id',
  'integration',
  'parent_id',
  'parent',
  'databuilder_id',
  'url',
]
const BOOL = ['pii', 'verified', 'published', 'archived', 'stale']
const NUMBER = ['external_usage', 'internal_usage', 'row_count', 'byte_size']
const TIME = ['created_at', 'updated_at', 'external_updated_at']
const LISTS = ['owners', 'owners_groups', 'teams', 'tags', 'collections', 'subscribers'] as const
const COLUMN: Record<string, string> = { type: 'entity_type', integration: 'integration_id', parent: 'parent_id' }
const SORTS = [
  'title',
  'title_full',
  'entity_type',
  'native_type',
  'created_at',
  'updated_at',
  'external_updated_at',
  'externally_updated_at',
  'external_usage',
  'internal_usage',
  'total_usage',
  'row_count',
  'byte_size',
]

type Filter = { operator: string; field?: string; value?: unknown; operands?: Filter[] }

function evaluate(filter: Filter, r: Model): boolean {
  const field = filter.field === undefined ? '' : (COLUMN[filter.field] ?? filter.field)
  const v = r[field]
  switch (filter.operator) {
    case 'and':
      return (filter.operands ?? []).every((f) => evaluate(f, r))
    case 'or':
      return (filter.operands ?? []).some((f) => evaluate(f, r))
    case 'not':
      return !evaluate((filter.operands ?? [])[0] as Filter, r)
    case 'is_set':
      return Array.isArray(v) ? v.length > 0 : v !== null && v !== ''
    case 'contains':
      return typeof v === 'string' && v.toLowerCase().includes(String(filter.value).toLowerCase())
    case 'exact':
      return Array.isArray(v) ? v.includes(filter.value) : v === filter.value
    case 'in': {
      const values = filter.value as unknown[]
      return Array.isArray(v) ? v.some((x) => values.includes(x)) : v !== null && values.includes(v)
    }
    default:
      throw new Error(`unknown operator ${filter.operator}`)
  }
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  return (a as number | string) < (b as number | string) ? -1 : 1
}

type Sort = { field: string; order: 'asc' | 'desc'; tie_breaker: Sort | null }

function sortKey(r: Model, field: string): unknown {
  if (field === 'total_usage') return (r.internal_usage as number) + (r.external_usage as number)
  if (field === 'externally_updated_at') return r.external_updated_at
  return r[field]
}

function compareBy(sort: Sort | null, a: Model, b: Model): number {
  for (let s = sort; s !== null; s = s.tie_breaker) {
    const x = sortKey(a, s.field)
    const y = sortKey(b, s.field)
    // Nulls last in both directions.
    if (x === null || y === null) {
      const c = compareValues(x, y)
      if (c !== 0) return c
      continue
    }
    const c = compareValues(x, y) * (s.order === 'desc' ? -1 : 1)
    if (c !== 0) return c
  }
  return a.id < b.id ? -1 : 1
}

for (const { engine, skip } of ENGINES) {
  describe(`List Resources filter and sort on ${engine}`, { skip }, () => {
    let h: Harness
    const model: Model[] = []
    const pools: Record<string, string[]> = {}
    const seed = Number(process.env.DOCENT_TEST_SEED ?? 20261126)
    const r = seededRandom(seed)

    before(async () => {
      h = await startHarness(engine)
      const integrations = [await makeIntegration(h), await makeIntegration(h), await makeIntegration(h)]
      pools.owners = [h.adminUserId, await makeUser(h), await makeUser(h), await makeUser(h)]
      pools.subscribers = pools.owners
      pools.owners_groups = [await makeGroup(h), await makeGroup(h)]
      pools.teams = [h.defaultTeamId, await makeTeam(h), await makeTeam(h)]
      pools.tags = [await makeTag(h), await makeTag(h), await makeTag(h), await makeTag(h)]
      pools.collections = []
      await h.store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 300; i++) {
          const type = i < 4 ? 'collection' : r.pick(TYPES)
          const parent = model.length > 0 && r.chance(0.5) ? r.pick(model) : undefined
          const title = `${r.pick(WORDS)}${r.chance(0.5) ? ` ${r.pick(WORDS)}` : ''}`
          const row: Model = {
            id: randomUUID(),
            entity_type: type,
            native_type: r.pick(NATIVE),
            title,
            title_full: parent === undefined ? title : `${parent.title_full}.${title}`,
            description: r.chance(0.3) ? '' : `${r.pick(WORDS)} and ${r.pick(WORDS)}`,
            definition: r.chance(0.5) ? '' : `# ${r.pick(WORDS)}`,
            integration_id: r.chance(0.15) ? null : r.pick(integrations),
            parent_id: parent?.id ?? null,
            databuilder_id: r.chance(0.6) ? null : `db.${i}`,
            url: r.chance(0.5) ? null : r.pick(['https://x.example/a%b', 'https://x.example/Customers', '']),
            pii: r.chance(0.3),
            verified: r.chance(0.5),
            published: r.chance(0.8),
            archived: r.chance(0.1),
            stale: r.chance(0.1),
            created_at: r.pick(TIMES),
            updated_at: r.pick(TIMES),
            external_updated_at: r.chance(0.4) ? null : r.pick(TIMES),
            external_usage: r.int(5),
            internal_usage: r.int(5),
            row_count: r.chance(0.3) ? null : r.int(1000),
            byte_size: r.chance(0.3) ? null : r.int(3),
          }
          for (const list of LISTS) {
            row[list] = r.subset(pools[list] as string[], list === 'collections' ? 2 : 3)
          }
          await trx
            .insertInto('resources')
            .values({
              ...(row as never as Record<string, never>),
              workspace_id: h.workspaceId,
              definition_version: 1,
              search_database: null,
              search_schema: null,
              forced_unstale_by_user: false,
              display_metadata: '{}',
              owners: undefined,
              owners_groups: undefined,
              teams: undefined,
              tags: undefined,
              collections: undefined,
              subscribers: undefined,
            } as never)
            .execute()
          for (const list of LISTS) {
            const ids = row[list] as string[]
            if (ids.length > 0) {
              await trx
                .insertInto(RELATION_TABLES[list])
                .values(ids.map((target_id, position) => ({ resource_id: row.id, target_id, position })))
                .execute()
            }
          }
          if (type === 'collection') pools.collections?.push(row.id)
          model.push(row)
        }
      })
    })
    after(() => h?.close())

    function valueFor(field: string): unknown {
      const column = COLUMN[field] ?? field
      if ((LISTS as readonly string[]).includes(field))
        return r.chance(0.9) ? r.pick(pools[field] as string[]) : randomUUID()
      const existing = model.map((m) => m[column]).filter((v) => v !== null)
      if (BOOL.includes(field)) return r.chance(0.5)
      if (existing.length > 0 && r.chance(0.85)) return r.pick(existing)
      if (NUMBER.includes(field)) return r.int(10)
      if (TIME.includes(field)) return r.pick(TIMES)
      return r.pick(WORDS)
    }

    function randomLeaf(): Filter {
      const field = r.pick([...TEXT, ...BOOL, ...NUMBER, ...TIME, ...LISTS])
      const operators = ['exact', 'in', 'is_set', ...(TEXT.includes(field) ? ['contains'] : [])]
      const operator = r.pick(operators)
      if (operator === 'is_set') return { operator, field }
      if (operator === 'in')
        return { operator, field, value: Array.from({ length: 1 + r.int(3) }, () => valueFor(field)) }
      if (operator === 'contains') {
        const base = String(valueFor(field) ?? 'a')
        const start = r.int(Math.max(1, base.length))
        const piece = base.slice(start, start + 1 + r.int(7))
        return { operator, field, value: r.chance(0.5) ? piece.toUpperCase() : piece || '%' }
      }
      return { operator, field, value: valueFor(field) }
    }

    function randomFilter(depth: number): Filter {
      if (depth >= 3 || r.chance(0.35)) return randomLeaf()
      const operator = r.pick(['and', 'or', 'not'])
      const count = operator === 'not' ? 1 : 1 + r.int(3)
      return { operator, operands: Array.from({ length: count }, () => randomFilter(depth + 1)) }
    }

    function randomSort(depth = 0): Sort | null {
      if (depth > 0 && r.chance(0.6)) return null
      return {
        field: r.pick(SORTS),
        order: r.pick(['asc', 'desc'] as const),
        tie_breaker: depth < 2 ? randomSort(depth + 1) : null,
      }
    }

    async function fetchAll(query: string): Promise<string[]> {
      const ids: string[] = []
      for (let page = 1; ; page++) {
        const response = await h.request({
          method: 'GET',
          url: `/api/v1/resource/catalog?${query}&page_size=100&page=${page}`,
        })
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        ids.push(...body.results.map((x: { id: string }) => x.id))
        if (body.links.next === null) {
          assert.equal(ids.length, body.count)
          return ids
        }
      }
    }

    test(`returns exactly what an in-memory evaluation selects, in order, for 150 random filters (seed ${seed})`, async () => {
      for (let i = 0; i < 150; i++) {
        const filter = randomFilter(0)
        const sort = r.chance(0.8) ? randomSort() : null
        const expected = model
          .filter((m) => evaluate(filter, m))
          .sort((a, b) => compareBy(sort ?? { field: 'external_usage', order: 'desc', tie_breaker: null }, a, b))
          .map((m) => m.id)
        const encode = (value: unknown) => {
          const text = encodeURIComponent(JSON.stringify(value))
          return r.chance(0.5) ? text.replace(/%20/g, '+') : text
        }
        const query = `filter=${encode(filter)}${sort === null ? '' : `&sort=${encode(sort)}`}`
        const actual = await fetchAll(query)
        assert.deepEqual(actual, expected, `filter ${JSON.stringify(filter)} sort ${JSON.stringify(sort)}`)
      }
    })
  })
}
