import { visibilityScope } from '../access/visibility.ts'
import { dataVersion } from '../db/dialect.ts'
import type { Store } from '../db/types.ts'
import type { Principal } from '../directory/keys.ts'
import { compileFilter, parseFilter } from './filter.ts'
import { findCatalogIds, findRowsInOrder } from './repository.ts'
import type { CachedPage, CatalogResultCache } from './result-cache.ts'
import { hydrate, scopeOf } from './service.ts'
import { applySort, DEFAULT_SORT, parseSort } from './sort.ts'

export interface CatalogParams {
  filter?: string | undefined
  sort?: string | undefined
  teamId?: string | undefined
}

/** List Resources (CONTRACT §5): filter, sort and team, capped at 10,000 matches. */
export async function listCatalog(
  store: Store,
  cache: CatalogResultCache,
  principal: Principal,
  params: CatalogParams,
  page: { offset: number; limit: number },
): Promise<{ count: number; page: CachedPage }> {
  const filterText = params.filter?.trim() || undefined
  const sortText = params.sort?.trim() || undefined
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
  ].join('\u0000')
  const version = await dataVersion(store.engine, store.db)
  let ids = cache.getIds(key, version)
  let idsVersion = version
  if (ids === undefined) {
    const filter = filterText === undefined ? undefined : parseFilter(filterText)
    const sort = sortText === undefined ? DEFAULT_SORT : parseSort(sortText)
    const found = await findCatalogIds(
      store,
      {
        ...scopeOf(principal),
        where: filter === undefined ? undefined : (eb) => compileFilter(eb, filter, store.engine),
        teamId: params.teamId,
        order: (query) => applySort(query, sort),
      },
      version,
    )
    cache.setIds(key, found.version, found.ids)
    ids = found.ids
    idsVersion = found.version
  }
  // The key holds the caller's visibility scope, which also decides current_user_permissions.
  const pageKey = `${key}\u0000${page.offset}\u0000${page.limit}`
  let cached = cache.getPage(pageKey, idsVersion)
  if (cached === undefined) {
    const rows = await findRowsInOrder(
      store.db,
      ids.slice(page.offset, page.offset + page.limit),
      scopeOf(principal).visible,
    )
    cached = { resources: await hydrate(store.db, principal, rows), json: undefined }
    cache.setPage(pageKey, idsVersion, cached)
  }
  return { count: ids.length, page: cached }
}
