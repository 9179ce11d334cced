import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { prepared, slot } from '../db/prepared.ts'
import type { DB } from '../db/types.ts'
import type { KeyOwner, Principal } from './principal.ts'

/** Who is asking, from the API key a request sends: the lookup the auth hook and the reads by id use. */

/** Keys are stored as their SHA-256: 32 random bytes need no slow hash. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** How stale `last_used_at` may get: a key in steady use costs one write a minute, not one a request. */
export const LAST_USED_RESOLUTION_MS = 60_000

/** The owner of the key whose hash is the prepared query's slot `hash`, if the key works. */
export function selectKeyOwner(db: Kysely<DB>) {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([
      'api_keys.id as keyId',
      'api_keys.last_used_at as lastUsedAt',
      'users.id as userId',
      'users.workspace_id as workspaceId',
      'users.role as role',
    ])
    .where('api_keys.key_hash', '=', slot('hash'))
    .where('api_keys.revoked_at', 'is', null)
}

export const findKeyOwner = prepared<{ hash: string }, KeyOwner>(selectKeyOwner)

/** The user a key acts as, or undefined for an unknown or revoked key; notes the use at most once a minute. */
export async function findPrincipalByKey(db: Kysely<DB>, key: string): Promise<Principal | undefined> {
  const [owner] = await findKeyOwner(db, { hash: hashApiKey(key) })
  return owner === undefined ? undefined : noteKeyUse(db, owner)
}

/** The principal of a key's owner, once `last_used_at` is no more than a minute old. */
export async function noteKeyUse(db: Kysely<DB>, owner: KeyOwner): Promise<Principal> {
  const { lastUsedAt, keyId, userId, workspaceId, role } = owner
  const now = Date.now()
  if (lastUsedAt === null || now - new Date(lastUsedAt).getTime() >= LAST_USED_RESOLUTION_MS) {
    await db
      .updateTable('api_keys')
      .set({ last_used_at: new Date(now).toISOString() })
      .where('id', '=', keyId)
      .execute()
  }
  return { keyId, userId, workspaceId, role }
}
