import { createHash } from 'node:crypto'
import type { Expression, ExpressionBuilder, Kysely, SelectQueryBuilder, SqlBool } from 'kysely'
import type { Principal } from '../access/principal.ts'
import { scopeOf, visibilityScope } from '../access/visibility.ts'
import { readChangeVersion } from '../db/change-counter.ts'
import type { DB, Store } from '../db/types.ts'
import { customPropertiesNamed } from './custom-properties.ts'
import { compileFilter, FILTER_FIELDS, type FieldSpec, type Filter, narrows, parseFilter } from './filter.ts'
import { CATALOG_CAP, findCatalogIds, findRowsInOrder } from './repository/reads.ts'
import type { Resource } from './resource-schema.ts'
import type { CatalogResultCache } from './result-cache.ts'
import { parseSearchTerm, planSearch, searchCondition, searchStages } from './search.ts'
import { hydrate } from './service.ts'
import { applySort, DEFAULT_SORT, parseSort } from './sort.ts'

export interface CatalogParams {
  filter?: string | undefined
  sort?: string | undefined
  teamId?: string | undefined
  /** `entity_type=<type>` (CONTRACT §8): the same as an `exact` filter on it, joined to `filter` by `and`. */
  entityType?: string | undefined
  /** `search_term` (CONTRACT §12): found resources only, by relevance unless `sort` is given. */
  searchTerm?: string | undefined
}

type Builder = ExpressionBuilder<DB, 'resources'>

function withEntityType(filter: Filter | undefined, entityType: string | undefined): Filter | undefined {
  if (entityType === undefined) return filter
  const leaf: Filter = {
    operator: 'exact',
    field: 'entity_type',
    spec: FILTER_FIELDS.entity_type as FieldSpec,
    value: entityType,
  }
  return filter === undefined ? leaf : { operator: 'and', operands: [leaf, filter] }
}

/**
 * List Resources (CONTRACT §5): filter, sort and team, capped at 10,000 matches. Answers the bytes of the whole
 * answer: `envelope` around the page's results as `serialize` writes them.
 */
export async function listCatalog(
  store: Store,
  cache: CatalogResultCache,
  principal: Principal,
  params: CatalogParams,
  page: { offset: number; limit: number },
  answer: {
    /** What, beyond the caller's visibility, decides the answer's bytes: the URL as sent, with host and protocol. */
    request: string
    serialize: (resources: Resource[]) => string
    /** The whole answer's text around the page's results (links and counts follow the request). */
    envelope: (count: number, results: string) => string
    /** A data version read after the request arrived (the key check's), if one was. */
    dataVersion?: number | undefined
  },
): Promise<Buffer> {
  // Read before the data: what is then read is at least as new as the version it is kept under.
  const version = answer.dataVersion ?? (await readChangeVersion(store.db))
  // The same URL from a caller who sees the same is the same answer: a digest keys it, so a filter of tens of
  // kilobytes is neither copied into nor compared by the cache.
  const answerKey = createHash('sha256')
    .update(`${principal.workspaceId}\u0000${visibilityScope(principal)}\u0000${answer.request}`)
    .digest('base64')
  return cache.answer(answerKey, version, async () => {
    const { count, json } = await listPage(store, cache, principal, params, page, version, answer.serialize)
    return Buffer.from(answer.envelope(count, json))
  })
}

/** The page of a list, cut from the list's ids; both kept in the cache under a key made of the list's parameters. */
async function listPage(
  store: Store,
  cache: CatalogResultCache,
  principal: Principal,
  params: CatalogParams,
  page: { offset: number; limit: number },
  version: number,
  serialize: (resources: Resource[]) => string,
): Promise<{ count: number; json: string }> {
  const filterText = params.filter?.trim() || undefined
  const sortText = params.sort?.trim() || undefined
  const searchText = params.searchTerm?.trim() || undefined
  // Keyed by the texts as sent: only a text that parsed and ran once can be found here, so a hit skips both. The
  // parts are joined with NUL, which no part can hold (query strings holding one are refused), so no part needs
  // escaping: a filter can be tens of kilobytes.
  const given = (text: string | undefined) => (text === undefined ? '-' : `=${text}`)
  const key = [
    principal.workspaceId,
    visibilityScope(principal),
    given(params.teamId),
    given(filterText),
    given(sortText),
    given(params.entityType),
    given(searchText),
  ].join('\u0000')
  const list = await cache.ids(key, version, async () => {
    const properties = await customPropertiesNamed(store.db, principal.workspaceId, filterText, sortText)
    const filter = withEntityType(
      filterText === undefined ? undefined : parseFilter(filterText, properties),
      params.entityType,
    )
    const sort = sortText === undefined ? undefined : parseSort(sortText, properties)
    const words = searchText === undefined ? [] : parseSearchTerm(searchText)
    const search = words.length === 0 ? undefined : await planSearch(store.db, principal.workspaceId, words)
    const engine = store.engine
    const query = {
      ...scopeOf(principal),
      teamId: params.teamId,
      where:
        filter === undefined
          ? undefined
          : (eb: Builder) => compileFilter(eb, filter, engine, false, scopeOf(principal).visible),
      order: <O>(q: SelectQueryBuilder<DB, 'resources', O>) => applySort(q, sort ?? DEFAULT_SORT),
    }
    if (search === undefined) return findCatalogIds(store.db, query)
    const narrowed = narrows(filter)
    // The filter's condition, if any, and `condition`.
    const andFilter = (condition: (eb: Builder) => Expression<SqlBool>) => (eb: Builder) =>
      eb.and([...(query.where === undefined ? [] : [query.where(eb)]), condition(eb)])
    if (sort !== undefined) {
      return findCatalogIds(store.db, {
        ...query,
        where: andFilter((eb) => searchCondition(eb, engine, search, narrowed)),
      })
    }
    // By relevance: stage after stage, until the cap, in one read transaction, so that a write committed between
    // two stages can neither hide a resource from both nor show it in both.
    const stages = searchStages(engine, search, narrowed)
    const read = async (db: Kysely<DB>) => {
      const ids: string[] = []
      for (const stage of stages) {
        if (ids.length >= CATALOG_CAP) break
        const page = await findCatalogIds(db, {
          ...query,
          where: andFilter(stage.where),
          order: stage.order,
          limit: CATALOG_CAP - ids.length,
        })
        ids.push(...page)
      }
      return ids
    }
    const transaction = store.db.transaction()
    return (engine === 'postgres' ? transaction.setIsolationLevel('repeatable read') : transaction).execute(read)
  })

  // The key holds the caller's visibility scope, which also decides current_user_permissions.
  const pageKey = `${key}\u0000${page.offset}\u0000${page.limit}`
  const json = await cache.page(pageKey, list.version, async () => {
    const rows = await findRowsInOrder(
      store.db,
      list.ids.slice(page.offset, page.offset + page.limit),
      scopeOf(principal).visible,
    )
    return serialize(await hydrate(store.db, principal, rows))
  })
  return { count: list.ids.length, json }
}
