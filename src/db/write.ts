import type { Kysely } from 'kysely'
import { ApiError } from '../errors.ts'
import { noteChange } from './change-counter.ts'
import { isForeignKeyViolation, isRetryableConflict, isUniqueViolation } from './driver-errors.ts'
import { GroupCommit } from './group-commit.ts'
import type { DirectReader } from './prepared.ts'
import type { DB, Engine, Write, WriteOptions, WriteWork } from './types.ts'

/** How many times a PostgreSQL transaction broken off by a deadlock is run before the request answers 409. */
const RETRIES = 4

const DEFAULT_CLASH = 'Something this request creates already exists; it was made meanwhile by another request.'

/**
 * How the store writes: every change to the store goes through the function this returns. On SQLite, writes that
 * arrive together share one transaction and one commit (GroupCommit), each in its own savepoint; on PostgreSQL
 * each is a transaction of its own. Either way the write notes a change for list caches before it commits, and a
 * constraint that a concurrent request broke (a duplicate, a row deleted meanwhile) becomes a 409, not a 500.
 * No write's promise settles before its commit.
 */
export function storeWriter(db: Kysely<DB>, engine: Engine, readInTransaction?: DirectReader): Write {
  const group = engine === 'sqlite' ? new GroupCommit(db, readInTransaction) : undefined
  return async <T>(work: WriteWork<T>, options: WriteOptions = {}): Promise<T> => {
    const noted: WriteWork<T> =
      options.noteChange === false
        ? work
        : async (trx) => {
            const result = await work(trx)
            await noteChange(trx)
            return result
          }
    try {
      if (group !== undefined) return await group.run(noted)
      // A transaction PostgreSQL broke off to end a deadlock (or a serialization failure) left nothing behind: it
      // runs again, a few times, before the caller hears of it as a conflict.
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute(noted)
        } catch (error) {
          if (!isRetryableConflict(error)) throw error
          if (attempt >= RETRIES) {
            throw new ApiError(
              'CONFLICT',
              'Concurrent writes to the same resources collided; try again.',
              undefined,
              error,
            )
          }
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
        }
      }
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ApiError('CONFLICT', options.clash ?? DEFAULT_CLASH, undefined, error)
      }
      if (isForeignKeyViolation(error)) {
        throw new ApiError(
          'CONFLICT',
          'Something this request refers to was deleted meanwhile; try again.',
          undefined,
          error,
        )
      }
      throw error
    }
  }
}
