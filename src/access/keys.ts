import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import { readVersions, type Versions } from '../db/change-counter.ts'
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

/** A key's owner as last read, labelled with the key version read before that read. */
export interface KeptOwner {
  owner: KeyOwner
  keys: number
}

/** How many keys' owners each store keeps: the keys in use at once, with room to spare. */
const KEPT_KEYS = 10_000

const keptOwners = new WeakMap<Kysely<DB>, LRUCache<string, KeptOwner>>()

function keptOwnersOf(db: Kysely<DB>): LRUCache<string, KeptOwner> {
  let kept = keptOwners.get(db)
  if (kept === undefined) {
    kept = new LRUCache({ max: KEPT_KEYS })
    keptOwners.set(db, kept)
  }
  return kept
}

/**
 * The kept owner of the key whose hash is `hash`, if any: usable only while the key version, read after the request
 * arrived, is still its label (`keys`). A read by id checks that in the statement that reads the resource.
 */
export function keptOwner(db: Kysely<DB>, hash: string): KeptOwner | undefined {
  return keptOwnersOf(db).get(hash)
}

/** Keeps the owner of a key as read after the key version `keys` was (forgets the key when it has no owner). */
export function keepOwner(db: Kysely<DB>, hash: string, owner: KeyOwner | undefined, keys: number): void {
  const kept = keptOwnersOf(db)
  if (owner === undefined) kept.delete(hash)
  else if (Number.isFinite(keys)) kept.set(hash, { owner, keys })
}

/**
 * The user a key acts as, or undefined for an unknown or revoked key; notes the use at most once a minute.
 *
 * The owners of recently used keys are kept, labelled with the store's key version (migration 0006 counts every
 * revocation, deletion and change of role, by triggers); a kept owner is used while the key version, read after
 * the request arrived, is still its label. So a key revoked before a request arrives is refused, on every instance,
 * and a crowd of requests costs one shared read of the counters (`readVersions`), not a lookup each.
 */
export async function findPrincipalByKey(db: Kysely<DB>, key: string): Promise<Principal | undefined> {
  return (await checkKey(db, key)).principal
}

/**
 * `findPrincipalByKey`, with the versions it read (`readVersions`) after it was called: the data version is one a
 * request may label what it reads next with, with no read of its own.
 */
export async function checkKey(
  db: Kysely<DB>,
  key: string,
): Promise<{ principal: Principal | undefined; versions: Versions }> {
  const hash = hashApiKey(key)
  const versions = await readVersions(db)
  const kept = keptOwnersOf(db)
  const known = kept.get(hash)
  // Only a label equal to the version read: a counter that went back (a store restored under running servers) or
  // that cannot be read (NaN) trusts nothing kept; a newer label costs one lookup more.
  if (known !== undefined && known.keys === versions.keys) {
    return { principal: await noteKeyUse(db, known.owner), versions }
  }
  const [owner] = await findKeyOwner(db, { hash })
  // Labelled with the version read before the lookup: what the lookup read is at least that new.
  keepOwner(db, hash, owner, versions.keys)
  if (owner === undefined) return { principal: undefined, versions }
  return { principal: await noteKeyUse(db, owner), versions }
}

/** The principal of a key's owner, once `last_used_at` is no more than a minute old. */
export async function noteKeyUse(db: Kysely<DB>, owner: KeyOwner): Promise<Principal> {
  const { lastUsedAt, keyId, userId, workspaceId, role } = owner
  const now = Date.now()
  if (lastUsedAt === null || now - new Date(lastUsedAt).getTime() >= LAST_USED_RESOLUTION_MS) {
    // Noted on the owner first, so that the requests of the same minute (which may share a kept owner) write once;
    // put back if the write fails, so that the next request tries again.
    const previous = owner.lastUsedAt
    owner.lastUsedAt = new Date(now).toISOString()
    try {
      await db.updateTable('api_keys').set({ last_used_at: owner.lastUsedAt }).where('id', '=', keyId).execute()
    } catch (error) {
      owner.lastUsedAt = previous
      throw error
    }
  }
  return { keyId, userId, workspaceId, role }
}
