import { type Kysely, sql } from 'kysely'
import { type DirectReader, registerDirectReader } from './prepared.ts'
import type { DB } from './types.ts'

interface Job {
  work: (trx: Kysely<DB>) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** Writes one transaction holds at most; the rest wait for the next. */
const MAX_BATCH = 256

/**
 * Group commit for SQLite. A commit with `synchronous = FULL` waits for the disk, and SQLite has one writer, so
 * writes that arrive together are run one after another in a single transaction, each inside its own savepoint,
 * and committed once. A write that fails rolls back to its savepoint and fails alone; the others commit. No
 * write's promise settles before the commit that holds it has returned, so nothing is acknowledged before it is
 * durable; if the commit fails, every write of the batch fails with it.
 *
 * A write starts on the next turn of the event loop (`setImmediate`), after Node has read every request that
 * was waiting: those that reach their write in the meantime join the same transaction. Work functions must use
 * the transaction they are given, never the store's own connection, which the batch holds until it commits.
 */
export class GroupCommit {
  readonly #db: Kysely<DB>
  readonly #read: DirectReader | undefined
  #queue: Job[] = []
  #scheduled = false

  /**
   * `read` runs a prepared read straight on the connection (db/prepared.ts): the batch's work functions get it for
   * their reads, which then see the batch's own writes and skip Kysely's queue, as reads outside a transaction do.
   */
  constructor(db: Kysely<DB>, read?: DirectReader) {
    this.#db = db
    this.#read = read
  }

  run<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await this.#commit(this.#queue.splice(0, MAX_BATCH))
      }
    } finally {
      this.#scheduled = false
    }
  }

  async #commit(batch: Job[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = []
    try {
      await this.#db.connection().execute(async (conn) => {
        if (this.#read !== undefined) registerDirectReader(conn, this.#read)
        await sql`begin immediate`.execute(conn)
        try {
          for (const job of batch) {
            await sql`savepoint docent_write`.execute(conn)
            try {
              const value = await job.work(conn)
              await sql`release docent_write`.execute(conn)
              outcomes.push({ ok: true, value })
            } catch (error) {
              await sql`rollback to docent_write`.execute(conn)
              await sql`release docent_write`.execute(conn)
              outcomes.push({ ok: false, error })
            }
          }
          await sql`commit`.execute(conn)
        } catch (error) {
          await sql`rollback`.execute(conn).catch(() => {})
          throw error
        }
      })
    } catch (error) {
      for (const job of batch) job.reject(error)
      return
    }
    batch.forEach((job, i) => {
      const outcome = outcomes[i]
      if (outcome?.ok) job.resolve(outcome.value)
      else job.reject(outcome?.error)
    })
  }
}
