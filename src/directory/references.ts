import type { Kysely } from 'kysely'
import { checkReferences, type ReferenceField } from '../catalog/references.ts'
import type { DB } from '../db/types.ts'
import { validationFailed } from '../errors.ts'

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
