import { type Kysely, sql } from 'kysely'
import { prepared, slot } from './prepared.ts'
import type { DB } from './types.ts'

/**
 * Slots a write may add to. One counter row would make every write transaction wait for the previous one's
 * commit (the row stays locked until then); with a slot picked at random, two concurrent writes meet only when
 * they pick the same one.
 */
const SLOTS = 16

const addToSlot = prepared<{ slot: number }, never>((db) =>
  db
    .insertInto('change_counter')
    .values({ slot: slot('slot') as unknown as number, changes: 1 })
    .onConflict((oc) => oc.column('slot').doUpdateSet({ changes: sql`change_counter.changes + 1` })),
)

const sumOfSlots = prepared<Record<string, never>, { version: number | string | null }>((db) =>
  db.selectFrom('change_counter').select((eb) => eb.fn.sum<number | string | null>('changes').as('version')),
)

/**
 * Records, inside the caller's write transaction, that what a list shows may have changed. Call it last, after
 * the transaction's other writes: the slot's row lock is then the last lock the transaction takes, held only
 * until its commit, so it neither waits while holding it nor deadlocks with another write.
 */
export async function noteChange(trx: Kysely<DB>): Promise<void> {
  await addToSlot(trx, { slot: Math.floor(Math.random() * SLOTS) })
}

/**
 * The store's data version: the number of changes committed so far, as one committed snapshot sees them. It only
 * grows; read it before the data it labels (see DEVELOPERS.md, "The List Resources cache").
 */
export async function readChangeVersion(db: Kysely<DB>): Promise<number> {
  const [row] = await sumOfSlots(db, {})
  return Number(row?.version ?? 0)
}

/** A transaction that ends with `noteChange`, for writes that may change what a list shows. */
export function changingTransaction<T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const result = await work(trx)
    await noteChange(trx)
    return result
  })
}
