import type { SelectQueryBuilder } from 'kysely'
import type { DB } from './types.ts'
import { toCount } from './values.ts'

/** Which part of a list a request asks for (http/pagination.ts makes it from `page` and `page_size`). */
export interface PageWindow {
  offset: number
  limit: number
}

/**
 * One page of a directory list and the total it is a page of: `narrowed` is the query with its conditions only
 * (it is counted as it is), and `rows` adds the columns and the order, which must end on a unique column so that
 * pages neither repeat nor skip a row.
 */
export async function listPage<TB extends keyof DB, R>(
  narrowed: SelectQueryBuilder<DB, TB, object>,
  rows: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, R>,
  page: PageWindow,
): Promise<{ count: number; rows: R[] }> {
  const counted = await narrowed.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()
  const found = await rows(narrowed).limit(page.limit).offset(page.offset).execute()
  return { count: toCount(counted?.n as number | string | undefined), rows: found as R[] }
}
