import type { Principal } from '../access/principal.ts'
import { requireWrite } from '../access/rules.ts'
import { scopeOf } from '../access/visibility.ts'
import type { Store } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { customPropertiesNamed } from './custom-properties.ts'
import { compileFilter, parseFilter } from './filter.ts'
import { CATALOG_CAP, findCatalogIds } from './repository/reads.ts'
import type { ResourceUpdate } from './resource-schema.ts'
import { bulkUpdate } from './service.ts'
import { applySort, DEFAULT_SORT } from './sort.ts'

/** How many ids of what a filter picks the answer names. */
const NAMED = 50

export interface BulkByFilterAnswer {
  /** How many resources the filter picks (and, unless a dry run, were updated). */
  count: number
  /** The first 50 of them, in List Resources' default order. */
  ids: string[]
  dry_run: boolean
}

/**
 * CONTRACT §12's extension: `data` applied as a PATCH to every resource the caller may see that `filter` picks
 * (at most 10,000), in one transaction; with `dry_run`, only what it would pick.
 */
export async function bulkUpdateByFilter(
  store: Store,
  principal: Principal,
  filter: unknown,
  data: ResourceUpdate,
  dryRun: boolean,
): Promise<BulkByFilterAnswer> {
  requireWrite(principal)
  // The filter of List Resources, as JSON text or as the object itself; its errors are List Resources' own.
  const text = typeof filter === 'string' ? filter : JSON.stringify(filter)
  const parsed = parseFilter(text, await customPropertiesNamed(store.db, principal.workspaceId, text))
  const ids = await findCatalogIds(store.db, {
    ...scopeOf(principal),
    teamId: undefined,
    where: (eb) => compileFilter(eb, parsed, store.engine, false, scopeOf(principal).visible),
    order: (query) => applySort(query, DEFAULT_SORT),
    limit: CATALOG_CAP,
  })
  if (ids.length >= CATALOG_CAP) {
    throw fieldError(
      'filter',
      `picks ${CATALOG_CAP.toLocaleString('en')} resources or more; one bulk update takes fewer`,
    )
  }
  if (!dryRun && ids.length > 0) {
    await bulkUpdate(
      store,
      principal,
      ids.map((id) => ({ id, data })),
    )
  }
  return { count: ids.length, ids: ids.slice(0, NAMED), dry_run: dryRun }
}
