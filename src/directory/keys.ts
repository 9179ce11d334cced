import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB } from '../db/types.ts'
import { nowIso } from '../db/values.ts'

const KEY_PREFIX = 'docent_'

/** A new key: 32 random bytes, so a fast hash is enough to store it safely. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url')
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export interface NewApiKey {
  workspaceId: string
  userId: string
  key: string
  description?: string
}

export async function insertApiKey(db: Kysely<DB>, input: NewApiKey): Promise<string> {
  const id = randomUUID()
  await db
    .insertInto('api_keys')
    .values({
      id,
      workspace_id: input.workspaceId,
      user_id: input.userId,
      key_hash: hashApiKey(input.key),
      description: input.description ?? '',
      created_at: nowIso(),
      last_used_at: null,
      revoked_at: null,
    })
    .execute()
  return id
}

export interface Principal {
  keyId: string
  userId: string
  workspaceId: string
  role: string
}

/** The user a key acts as, or undefined for an unknown or revoked key. */
export async function findPrincipalByKey(db: Kysely<DB>, key: string): Promise<Principal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select(['api_keys.id as keyId', 'users.id as userId', 'users.workspace_id as workspaceId', 'users.role as role'])
    .where('api_keys.key_hash', '=', hashApiKey(key))
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst()
  return row
}
