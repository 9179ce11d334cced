import { CompiledQuery, type Kysely } from 'kysely'
import { engineOf } from './dialect.ts'
import { prepared } from './prepared.ts'
import type { DB } from './types.ts'

/**
 * Slots a write may add to. One counter row would make every write transaction wait for the previous one's
 * commit (the row stays locked until then); with a slot picked at random, two concurrent writes meet only when
 * they pick the same one.
 */
const SLOTS = 16

const ADD_TO_SLOT =
  'insert into change_counter (slot, changes) values (?, 1) on conflict (slot) do update set changes = change_counter.changes + 1'

/** The statement `noteChange` runs on PostgreSQL; `db/connect.ts` sends it with the transaction's commit. */
export const ADD_TO_SLOT_POSTGRES = ADD_TO_SLOT.replace('?', '$1')

/** Prepares, on a PostgreSQL connection, the statement addToSlotAndCommit runs. */
export const PREPARE_NOTE_CHANGE = `prepare docent_note_change(int) as ${ADD_TO_SLOT_POSTGRES}`

/**
 * On PostgreSQL, one text that adds one to `slot` and commits, so that noting a change costs no round trip of its
 * own. It runs a statement prepared on the connection (planning it each time costs about as much as the commit),
 * which `db/connect.ts` prepares on its own first, once per connection: PREPARE outlives a rollback, so sent in the
 * same text as a commit that then failed, it would be prepared without the connection knowing it.
 */
export function addToSlotAndCommit(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`not a counter slot: ${slot}`)
  return `execute docent_note_change(${slot}); commit`
}

/** The sum of the slots, and the count of changes to what API keys stand for (migration 0006, `key_changes`). */
const readCounters = prepared<Record<string, never>, { version: number | string | null; keys: number | string | null }>(
  (db) =>
    db
      .selectFrom('change_counter')
      .select((eb) => [
        eb.fn.sum<number | string | null>('changes').as('version'),
        eb.selectFrom('key_changes').select('key_changes.changes').where('key_changes.id', '=', 1).as('keys'),
      ]),
)

/**
 * Records, inside the caller's write transaction, that what a list shows may have changed. Call it last, after
 * the transaction's other writes: the slot's row lock is then the last lock the transaction takes, held only
 * until its commit, so it neither waits while holding it nor deadlocks with another write.
 */
export async function noteChange(trx: Kysely<DB>): Promise<void> {
  const text = engineOf(trx) === 'postgres' ? ADD_TO_SLOT_POSTGRES : ADD_TO_SLOT
  await trx.executeQuery(CompiledQuery.raw(text, [Math.floor(Math.random() * SLOTS)]))
}

/**
 * `read`, shared by callers that call while it runs, but only by those it started after: a caller that arrives
 * while a read is under way waits for the next, which starts when that one ends and serves every caller that came
 * meanwhile. Each caller gets an answer at least as fresh as a read of its own, and a crowd costs two reads.
 */
export function shareFreshReads<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined
  let queued: Promise<T> | undefined
  const start = () => {
    const current = read()
    running = current
    const ended = () => {
      if (running === current) running = undefined
    }
    current.then(ended, ended)
    return current
  }
  const settled = () => undefined
  return () => {
    if (running === undefined) return start()
    queued ??= running.then(settled, settled).then(() => {
      queued = undefined
      return start()
    })
    return queued
  }
}

/** What one read of the counters tells: the data version and the key version. */
export interface Versions {
  /** The number of changes committed so far that a list may show (`readChangeVersion`). */
  data: number
  /** The number of changes committed so far to what API keys stand for (src/access/keys.ts). */
  keys: number
}

const versionReaders = new WeakMap<Kysely<DB>, () => Promise<Versions>>()

/**
 * Both counters, as one committed snapshot sees them, read after the call: a read that started before the
 * caller's own write was answered may not have seen it, so concurrent callers share only fresh reads.
 */
export function readVersions(db: Kysely<DB>): Promise<Versions> {
  let reader = versionReaders.get(db)
  if (reader === undefined) {
    reader = shareFreshReads(async () => {
      const [row] = await readCounters(db, {})
      // A missing key_changes row reads as NaN, which matches no label (src/access/keys.ts): nothing is trusted.
      return { data: Number(row?.version ?? 0), keys: row?.keys == null ? Number.NaN : Number(row.keys) }
    })
    versionReaders.set(db, reader)
  }
  return reader()
}

/**
 * The store's data version: the number of changes committed so far, as one committed snapshot sees them. It only
 * grows; read it before the data it labels (see DEVELOPERS.md, "The List Resources cache").
 */
export async function readChangeVersion(db: Kysely<DB>): Promise<number> {
  return (await readVersions(db)).data
}
