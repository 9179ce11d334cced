import type { Kysely } from 'kysely'
import { checkReferences, type ReferenceField } from '../catalog/references.ts'
import { changingTransaction } from '../db/change-counter.ts'
import { isForeignKeyViolation, isUniqueViolation } from '../db/driver-errors.ts'
import type { DB, Store } from '../db/types.ts'
import { ApiError, notFound, validationFailed } from '../errors.ts'
import { isUuid } from '../http/uuid.ts'
import type { Principal } from './keys.ts'

/** Users, groups, teams and tags are managed by admins only (CONTRACT §7). */
export function requireAdmin(principal: Principal, what: string): void {
  if (principal.role !== 'admin') {
    throw new ApiError('PERMISSION_DENIED', `Only an admin may manage ${what}.`)
  }
}

/** A path id: a malformed one is simply not found. */
export function pathId(id: string): string {
  if (!isUuid(id)) {
    throw notFound()
  }
  return id.toLowerCase()
}

/** Ids as sent, lower-cased, first occurrence kept. */
export function distinctIds(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))]
}

/**
 * Refuses ids that are not in the caller's workspace, naming the body's own field (`users[2]`, `integration_id`)
 * even where the directory is known to `checkReferences` under another name.
 */
export async function requireReferences(
  db: Kysely<DB>,
  workspaceId: string,
  field: string,
  kind: ReferenceField,
  value: string | string[],
): Promise<void> {
  const errors = await checkReferences(db, workspaceId, { [kind]: value })
  if (errors.length > 0) {
    throw validationFailed(errors.map((e) => ({ ...e, field: field + e.field.slice(kind.length) })))
  }
}

/**
 * One transaction; a unique constraint broken by a concurrent request is a 409 that says what clashed. Each notes a
 * change for list caches: a membership decides what a user sees, and a deleted user, team, group or tag leaves the
 * lists of resources (the foreign keys cascade).
 */
export async function writeDirectory<T>(
  store: Store,
  uniqueClash: string,
  work: (trx: Kysely<DB>) => Promise<T>,
): Promise<T> {
  try {
    return await changingTransaction(store.db, work)
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ApiError('CONFLICT', uniqueClash)
    }
    if (isForeignKeyViolation(error)) {
      throw new ApiError('CONFLICT', 'Something this request refers to was deleted meanwhile; try again.')
    }
    throw error
  }
}
