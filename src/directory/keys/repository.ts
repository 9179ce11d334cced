import { randomBytes, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { hashApiKey } from '../../access/keys.ts'
import { listPage } from '../../db/pages.ts'
import type { DB } from '../../db/types.ts'
import { nowIso, toIso } from '../../db/values.ts'
import type { ApiKeyInfo } from './schema.ts'

const KEY_PREFIX = 'docent_'

/** A new key: 32 random bytes, so a fast hash is enough to store it safely. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url')
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

/**
 * A new key for a user of the workspace, or undefined when `userId` is not one; the key's value is returned here
 * and never stored.
 */
export async function createApiKey(
  db: Kysely<DB>,
  input: { workspaceId: string; userId: string; description: string },
): Promise<{ id: string; key: string; createdAt: string } | undefined> {
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', input.userId)
    .where('workspace_id', '=', input.workspaceId)
    .executeTakeFirst()
  if (user === undefined) {
    return undefined
  }
  const key = generateApiKey()
  const id = await insertApiKey(db, { ...input, key })
  const created = await db.selectFrom('api_keys').select('created_at').where('id', '=', id).executeTakeFirstOrThrow()
  return { id, key, createdAt: toIso(created.created_at) as string }
}

/** Keys that work, without their values: a workspace's, or (with `userId`) one user's. */
export async function listApiKeys(
  db: Kysely<DB>,
  scope: { workspaceId: string; userId?: string | undefined },
  page: { offset: number; limit: number },
): Promise<{ count: number; results: ApiKeyInfo[] }> {
  let narrowed = db.selectFrom('api_keys').where('workspace_id', '=', scope.workspaceId).where('revoked_at', 'is', null)
  if (scope.userId !== undefined) narrowed = narrowed.where('user_id', '=', scope.userId)
  const { count, rows } = await listPage(
    narrowed,
    (query) =>
      query.select(['id', 'user_id', 'description', 'created_at', 'last_used_at']).orderBy('created_at').orderBy('id'),
    page,
  )
  return {
    count,
    results: rows.map((row) => ({
      id: row.id,
      user: row.user_id,
      description: row.description,
      created_at: toIso(row.created_at),
      last_used_at: toIso(row.last_used_at),
    })),
  }
}

/** Revokes a key of the workspace (or of one user); false when there is no such working key. */
export async function revokeApiKey(
  db: Kysely<DB>,
  scope: { workspaceId: string; userId?: string | undefined },
  id: string,
): Promise<boolean> {
  let query = db
    .updateTable('api_keys')
    .set({ revoked_at: nowIso() })
    .where('id', '=', id)
    .where('workspace_id', '=', scope.workspaceId)
    .where('revoked_at', 'is', null)
  if (scope.userId !== undefined) query = query.where('user_id', '=', scope.userId)
  const result = await query.executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}
