import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { insertDefinition, listDefinitions } from '../src/catalog/repository/custom-values.ts'
import { RELATION_TABLES, type RelationRow } from '../src/catalog/repository/relations.ts'
import { insertResourceRows, newResourceValues, type ResourceValues } from '../src/catalog/repository/writes.ts'
import { placeUnder } from '../src/catalog/titles.ts'
import { newResourceId } from '../src/db/ids.ts'
import type { Store } from '../src/db/types.ts'
import { ensureFirstStart } from '../src/directory/bootstrap.ts'
import { insertIntegration } from '../src/directory/integrations/repository.ts'
import { insertTag } from '../src/directory/tags/repository.ts'
import { findDefaultTeamId, insertTeam } from '../src/directory/teams/repository.ts'
import { insertUser } from '../src/directory/users/repository.ts'
import { refreshAllNoted } from '../src/search/index-sqlite.ts'

/** What a benchmark needs to know about a catalog it built (kept in docent_meta, so a rerun can reuse it). */
export interface CatalogInfo {
  resources: number
  workspaceId: string
  adminKey: string
  integrations: string[]
  schemas: { id: string; integration: string }[]
  tables: string[]
  /** Custom properties of tables (CONTRACT §10): the names, and the ids of the select property's options. */
  custom: { steward: string; quality: string; tier: string; reviewed: string; tierOptions: string[] }
  buildSeconds: number
}

const META_KEY = 'bench_catalog'
/** Rows per INSERT statement, and rows per transaction. */
const STATEMENT_ROWS = 500
const TRANSACTION_ROWS = 10_000

/** Sizes in the proportions of the default catalog: 20 integrations, 100 databases, 1,000 schemas, 50,000 tables. */
export function catalogShape(resources: number) {
  const tables = Math.max(1, Math.round(resources / 20))
  const schemas = Math.max(1, Math.round(tables / 50))
  const databases = Math.max(1, Math.round(schemas / 10))
  const integrations = Math.min(20, databases)
  const columns = Math.max(0, resources - databases - schemas - tables)
  return { integrations, databases, schemas, tables, columns }
}

/** The title of a table a benchmark's POST scenario creates: `bench_` and letters and digits, no other underscore. */
export function postedTableTitle(): string {
  return `bench_${Math.random().toString(36).slice(2)}`
}

/**
 * Deletes the tables the benchmarks' POST scenarios created (their titles, `postedTableTitle`; no table of the built
 * catalog is named so), a few thousand a transaction, through the store's writer (so cached lists see it). Without
 * it each run left some 17,000 more tables, and every list over tables slowed from run to run. Returns how many.
 */
export async function removePostedTables(store: Store): Promise<number> {
  let removed = 0
  for (;;) {
    const batch = await store.db
      .selectFrom('resources')
      .select('id')
      .where('entity_type', '=', 'table')
      .where(sql<boolean>`substr(title, 1, 6) = 'bench_' and replace(substr(title, 7), '_', '') = substr(title, 7)`)
      .limit(2000)
      .execute()
    if (batch.length === 0) {
      // SQLite: the search index's tables drop them now, not in the server's next rounds, so that a search measured
      // next does not read thousands of noted keys beside them.
      await refreshAllNoted(store)
      return removed
    }
    const ids = batch.map((row) => row.id)
    await store.write((trx) => trx.deleteFrom('resources').where('id', 'in', ids).execute())
    removed += ids.length
  }
}

export async function findCatalog(store: Store, resources: number): Promise<CatalogInfo | undefined> {
  const row = await store.db.selectFrom('docent_meta').select('value').where('key', '=', META_KEY).executeTakeFirst()
  const info = row === undefined ? undefined : (JSON.parse(row.value) as CatalogInfo)
  return info?.resources === resources && info.custom !== undefined ? info : undefined
}

/**
 * A bulk load runs faster when the secondary indexes are built once, at the end, by sorting: this drops the
 * indexes of the tables the load fills and returns what creates them again (the very statements that made them).
 * SQLite also gets a page cache big enough to hold a transaction's pages.
 */
async function dropSecondaryIndexes(store: Store): Promise<() => Promise<void>> {
  const tables = ['resources', ...Object.values(RELATION_TABLES), 'custom_property_values']
  const { rows } =
    store.engine === 'sqlite'
      ? await sql<{ name: string; sql: string }>`
          select name, sql from sqlite_master
          where type = 'index' and sql is not null and tbl_name in (${sql.join(tables)})
        `.execute(store.db)
      : await sql<{ name: string; sql: string }>`
          select indexname as name, indexdef as sql from pg_indexes
          where schemaname = current_schema() and tablename in (${sql.join(tables)})
            and indexname not in (select conname from pg_constraint)
        `.execute(store.db)
  if (store.engine === 'sqlite') await sql`pragma cache_size = -262144`.execute(store.db)
  for (const row of rows) await sql`drop index ${sql.id(row.name)}`.execute(store.db)
  return async () => {
    for (const row of rows) await sql.raw(row.sql).execute(store.db)
    if (store.engine === 'sqlite') await sql`pragma cache_size = -2000`.execute(store.db)
  }
}

// A small deterministic generator, so two builds of one size are the same catalog.
function generator(seed: number) {
  let state = seed >>> 0
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
}

const TABLE_WORDS = ['customers', 'customers', 'customers', 'orders', 'payments', 'events']
const NATIVE_TYPES = ['table', 'table', 'table', 'table', 'table', 'table', 'table', 'view', 'view', 'BASE TABLE']
const DATA_TYPES = ['integer', 'bigint', 'text', 'varchar', 'timestamp', 'boolean', 'numeric']

/**
 * Builds a catalog of `resources` resources through the repository layer in batches, on an empty store:
 * databases › schemas › tables › columns, with teams on every resource and owners and tags on a share.
 */
export async function buildCatalog(
  store: Store,
  resources: number,
  progress: (done: number) => void = () => {},
): Promise<CatalogInfo> {
  const started = performance.now()
  const adminKey = `bench-admin-key-${randomUUID()}`
  const first = await ensureFirstStart(store, { adminApiKey: adminKey, dataDir: '/nonexistent' })
  if (first.kind !== 'created') {
    throw new Error('the benchmark catalog must be built on an empty store')
  }
  const db = store.db
  const workspaceId = first.workspaceId
  const shape = catalogShape(resources)
  const random = generator(resources)
  const defaultTeam = await findDefaultTeamId(db, workspaceId)
  const teams = [defaultTeam]
  for (let i = 0; i < 9; i++) teams.push(await insertTeam(db, { workspaceId, name: `Team ${i}` }))
  const users: string[] = []
  for (let i = 0; i < 50; i++) {
    users.push(await insertUser(db, { workspaceId, email: `user${i}@bench.example`, role: 'editor' }))
  }
  const tags: string[] = []
  for (let i = 0; i < 30; i++) tags.push(await insertTag(db, { workspaceId, name: `tag ${i}` }))
  const now = new Date().toISOString()
  const integrations: string[] = []
  for (let i = 0; i < shape.integrations; i++) {
    integrations.push(
      await insertIntegration(
        db,
        workspaceId,
        { name: `warehouse ${i}`, type: 'postgres', credentials: {} },
        [defaultTeam],
        now,
      ),
    )
  }

  // Custom properties of tables: every table has a tier and a quality, a quarter a steward, a tenth a review date.
  const custom = {
    steward: 'Steward',
    quality: 'Quality',
    tier: 'Tier',
    reviewed: 'Reviewed',
    tierOptions: [] as string[],
  }
  const property = (name: string, type: 'string' | 'number' | 'select' | 'date', options: string[] = []) =>
    insertDefinition(
      db,
      workspaceId,
      { name, value_type: type, entity_types: ['table'], integration_id: null },
      options,
      now,
    )
  const propertyIds = {
    steward: await property(custom.steward, 'string'),
    quality: await property(custom.quality, 'number'),
    tier: await property(custom.tier, 'select', ['Gold', 'Silver', 'Bronze']),
    reviewed: await property(custom.reviewed, 'date'),
  }
  custom.tierOptions =
    (await listDefinitions(db, workspaceId)).find((d) => d.name === custom.tier)?.options.map((o) => o.id) ?? []
  type ValueRow = {
    resource_id: string
    property_id: string
    position: number
    text_value: string | null
    number_value: number | null
    option_id: string | null
  }

  const restoreIndexes = await dropSecondaryIndexes(store)
  let done = 0
  let rows: (ResourceValues & { id: string })[] = []
  let relations: RelationRow[] = []
  let values: ValueRow[] = []
  const flush = async () => {
    if (rows.length === 0) return
    const batch = rows
    const batchRelations = relations
    const batchValues = values
    rows = []
    relations = []
    values = []
    await db.transaction().execute(async (trx) => {
      for (let start = 0; start < batch.length; start += STATEMENT_ROWS) {
        const slice = batch.slice(start, start + STATEMENT_ROWS)
        const ids = new Set(slice.map((row) => row.id))
        await insertResourceRows(
          trx,
          slice,
          batchRelations.filter((relation) => ids.has(relation.resource_id)),
        )
      }
      for (let start = 0; start < batchValues.length; start += STATEMENT_ROWS) {
        await trx
          .insertInto('custom_property_values')
          .values(batchValues.slice(start, start + STATEMENT_ROWS))
          .execute()
      }
    })
    done += batch.length
    progress(done)
  }
  type Parent = {
    id: string
    entity_type: string
    title: string
    title_full: string
    search_database: string | null
    search_schema: string | null
    integration_id: string | null
  }
  const add = async (
    entityType: string,
    title: string,
    parent: Parent | undefined,
    integration: string,
    nativeType: string | null,
  ): Promise<Parent> => {
    const id = newResourceId()
    const place = placeUnder(parent, entityType, title)
    const usage = random(1000)
    rows.push({
      ...newResourceValues({ workspaceId, entityType, title, parent, integrationId: integration, now }),
      id,
      native_type: nativeType,
      description: random(4) === 0 ? `About ${title}` : '',
      published: random(10) !== 0,
      pii: random(20) === 0,
      verified: random(5) === 0,
      internal_usage: random(100),
      external_usage: usage,
      row_count: entityType === 'table' ? random(1_000_000) : null,
      byte_size: entityType === 'table' ? random(1_000_000_000) : null,
    })
    relations.push({ field: 'teams', resource_id: id, target_id: teams[random(teams.length)] as string, position: 0 })
    if (random(5) === 0) {
      relations.push({
        field: 'owners',
        resource_id: id,
        target_id: users[random(users.length)] as string,
        position: 0,
      })
    }
    if (random(10) === 0) {
      relations.push({ field: 'tags', resource_id: id, target_id: tags[random(tags.length)] as string, position: 0 })
    }
    if (entityType === 'table') {
      const value = (property: string, column: 'text_value' | 'number_value' | 'option_id', stored: string | number) =>
        values.push({
          resource_id: id,
          property_id: property,
          position: 0,
          text_value: null,
          number_value: null,
          option_id: null,
          [column]: stored,
        })
      value(propertyIds.tier, 'option_id', custom.tierOptions[random(custom.tierOptions.length)] as string)
      value(propertyIds.quality, 'number_value', random(1000) / 10)
      if (random(4) === 0) value(propertyIds.steward, 'text_value', `team ${random(50)}`)
      if (random(10) === 0)
        value(propertyIds.reviewed, 'text_value', `2026-${String(1 + random(12)).padStart(2, '0')}-15`)
    }
    if (rows.length >= TRANSACTION_ROWS) await flush()
    return { id, entity_type: entityType, title, ...place, integration_id: integration }
  }

  const schemas: { id: string; integration: string }[] = []
  const tables: string[] = []
  let columnsLeft = shape.columns
  let tablesLeft = shape.tables
  for (let d = 0; d < shape.databases; d++) {
    const integration = integrations[d % integrations.length] as string
    const database = await add('database', `warehouse_${d}`, undefined, integration, 'database')
    const schemasHere =
      Math.round((shape.schemas * (d + 1)) / shape.databases) - Math.round((shape.schemas * d) / shape.databases)
    for (let s = 0; s < schemasHere; s++) {
      const schema = await add('schema', `schema_${s}`, database, integration, 'schema')
      schemas.push({ id: schema.id, integration })
      const remainingSchemas = shape.schemas - schemas.length + 1
      const tablesHere = Math.round(tablesLeft / remainingSchemas)
      tablesLeft -= tablesHere
      for (let t = 0; t < tablesHere; t++) {
        const word = TABLE_WORDS[random(TABLE_WORDS.length)]
        const table = await add(
          'table',
          `${word}_${t}`,
          schema,
          integration,
          NATIVE_TYPES[random(NATIVE_TYPES.length)] as string,
        )
        tables.push(table.id)
        const remainingTables = shape.tables - tables.length + 1
        const columnsHere = Math.round(columnsLeft / remainingTables)
        columnsLeft -= columnsHere
        for (let c = 0; c < columnsHere; c++) {
          await add('column', `column_${c}`, table, integration, DATA_TYPES[random(DATA_TYPES.length)] as string)
        }
      }
    }
  }
  await flush()
  await restoreIndexes()
  // SQLite: the search index's trigram tables take the million noted resources, as docent would in its first
  // seconds (src/search/index-sqlite.ts); part of the build time.
  await refreshAllNoted(store)
  // Statistics for the planner. On PostgreSQL also a vacuum: after a bulk load autovacuum would soon set the
  // visibility map and hint bits, and doing it here measures that steady state rather than whenever autovacuum
  // happens to run during a scenario. Part of the build time.
  await (store.engine === 'postgres' ? sql`vacuum analyze` : sql`analyze`).execute(db)
  const info: CatalogInfo = {
    resources: done,
    workspaceId,
    adminKey,
    integrations,
    schemas,
    tables,
    custom,
    buildSeconds: (performance.now() - started) / 1000,
  }
  // The reuse record is written last: a build that stopped half-way is never mistaken for a whole one.
  await db
    .insertInto('docent_meta')
    .values({ key: META_KEY, value: JSON.stringify({ ...info, resources }) })
    .execute()
  return info
}

/**
 * What a person looking for a table types: the title of a table the catalog holds (`customers_12`; each schema
 * numbers its tables from 0), with `pick(n)` choosing among n.
 */
export function tableTitle(pick: (n: number) => number): string {
  const word = TABLE_WORDS[pick(TABLE_WORDS.length)] as string
  return `${word}_${pick(TABLES_PER_SCHEMA)}`
}

/** The title with one letter of its word left out: `custmers_12`. */
export function misspelt(title: string, pick: (n: number) => number): string {
  const cut = 1 + pick(title.indexOf('_') - 2)
  return title.slice(0, cut) + title.slice(cut + 1)
}

const TABLES_PER_SCHEMA = 50

/** The reference docs' example filter, over half the integrations and their schemas: enough for page 200. */
export function exampleFilter(info: CatalogInfo, word = 'customers'): string {
  const integrations = info.integrations.slice(0, Math.max(1, Math.ceil(info.integrations.length * 0.5)))
  const schemas = info.schemas
    .filter((s) => integrations.includes(s.integration))
    .map((s) => s.id)
    .slice(0, 1000)
  return encodeURIComponent(
    JSON.stringify({
      operator: 'and',
      operands: [
        { operator: 'contains', field: 'title', value: word },
        { operator: 'in', field: 'native_type', value: ['table', 'view'] },
        { operator: 'in', field: 'integration_id', value: integrations },
        { operator: 'in', field: 'parent_id', value: schemas },
      ],
    }),
  )
}

/** `word` in a random mix of cases: the same matches, but a text the result cache has not seen. */
function randomCase(word: string): string {
  return [...word].map((c) => (Math.random() < 0.5 ? c.toUpperCase() : c)).join('')
}

/**
 * The lists no cache has seen (bench/run.ts, bench/one-at-a-time.ts): the example filter, and search (CONTRACT
 * §12) for what a person types — a table's name, a table's and a column's, a misspelt name — each text in a random
 * mix of cases.
 */
export function neverCachedLists(info: CatalogInfo): { name: string; path: () => string }[] {
  const random = (n: number) => Math.floor(Math.random() * n)
  const search = (term: string) => `/api/v1/resource/catalog?search_term=${encodeURIComponent(randomCase(term))}`
  return [
    {
      name: 'filtered list, page 1, never cached',
      path: () => `/api/v1/resource/catalog?filter=${exampleFilter(info, randomCase('customers'))}`,
    },
    { name: 'search, one word (never cached)', path: () => search(tableTitle(random)) },
    { name: 'search, two words (never cached)', path: () => search(`${tableTitle(random)} column_${random(19)}`) },
    { name: 'search, one typo (never cached)', path: () => search(misspelt(tableTitle(random), random)) },
    {
      // CONTRACT §10: tables of one tier whose steward's name holds a word, best quality first.
      name: 'custom property filter and sort (never cached)',
      path: () => {
        const { tier, steward, quality, tierOptions } = info.custom
        const filter = {
          operator: 'and',
          operands: [
            { operator: 'exact', field: `custom_properties.${tier}`, value: tierOptions[random(tierOptions.length)] },
            { operator: 'contains', field: `custom_properties.${steward}`, value: randomCase(`team ${random(50)}`) },
          ],
        }
        const sort = { field: `custom_properties.${quality}`, order: 'desc' }
        return `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify(filter))}&sort=${encodeURIComponent(JSON.stringify(sort))}`
      },
    },
  ]
}
