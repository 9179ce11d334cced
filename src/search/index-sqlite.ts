import { type Kysely, sql } from 'kysely'
import type { DB, Store } from '../db/types.ts'

/**
 * SQLite: bringing the search index's FTS5 tables up to date (migration 0005, DEVELOPERS.md "Search").
 *
 * Writes only note, in their own transaction, the keys of resources whose text changed (`search_pending`); a
 * search reads the noted keys' current text beside the tables, so it is exact to the last write whatever the
 * tables hold. Here the noted keys' text is rewritten in the tables in batches, each batch one transaction
 * through the store's writer: FTS5 writes a segment at every commit and merges them, which in the write's own
 * small transactions cost 40% of PATCH throughput. A batch is all or nothing, so a crash leaves the keys noted.
 */

/** The fields with a trigram table. */
export const FTS_FIELDS = ['title', 'description', 'definition'] as const

/** Keys rewritten by one transaction. */
const BATCH = 2000

/** Rewrites the text of up to `limit` noted fields of keys in the tables, in `trx`; returns how many it took. */
export async function refreshNoted(trx: Kysely<DB>, limit = BATCH): Promise<number> {
  const rows = await trx.selectFrom('search_pending').select(['key', 'field']).orderBy('key').limit(limit).execute()
  for (const field of FTS_FIELDS) {
    const keys = rows.filter((row) => row.field === field).map((row) => row.key)
    if (keys.length === 0) continue
    const list = JSON.stringify(keys)
    const table = sql.table(`resource_fts_${field}`)
    const column = sql.ref(`r.${field}`)
    await sql`delete from ${table} where rowid in (select value from json_each(${list}))`.execute(trx)
    // A deleted resource's key is gone from resource_search_keys: its text goes and nothing comes back.
    await sql`insert into ${table} (rowid, text)
        select k.key, lower(${column}) from json_each(${list}) as j
        join resource_search_keys k on k.key = j.value
        join resources r on r.id = k.resource_id
        where ${column} <> ''`.execute(trx)
    await sql`delete from search_pending where field = ${field} and key in (select value from json_each(${list}))`.execute(
      trx,
    )
  }
  return rows.length
}

/** Rewrites every noted key, a batch a transaction; returns how many. */
export async function refreshAllNoted(store: Store): Promise<number> {
  if (store.engine !== 'sqlite') return 0
  let total = 0
  for (;;) {
    const done = await store.write((trx) => refreshNoted(trx), { noteChange: false })
    total += done
    if (done < BATCH) return total
  }
}

/**
 * Keeps the tables up to date while docent serves: every `everyMs`, the noted keys are rewritten. Returns what
 * stops it (and waits for a batch under way).
 */
export function keepSearchIndex(store: Store, onError: (error: unknown) => void, everyMs = 1000): () => Promise<void> {
  if (store.engine !== 'sqlite') return async () => {}
  let running: Promise<unknown> = Promise.resolve()
  let stopped = false
  const timer = setInterval(() => {
    running = running.then(async () => {
      if (stopped) return
      try {
        await refreshAllNoted(store)
      } catch (error) {
        // The keys stay noted and searches stay exact; the next round tries again.
        onError(error)
      }
    })
  }, everyMs)
  timer.unref()
  return async () => {
    stopped = true
    clearInterval(timer)
    await running
  }
}
