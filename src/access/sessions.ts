import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { noteKeyUse } from './keys.ts'
import type { KeyOwner, Principal } from './principal.ts'

/**
 * Sessions of the web catalog (issue 16). A person signs in with an API key; the answer sets an HttpOnly,
 * SameSite=Strict cookie holding a random token, and the store keeps the token's SHA-256 only. The session acts as
 * the key: it is looked up on every request (one indexed statement), so revoking or deleting the key, deleting
 * the user, signing out or the expiry ends it at once, on every instance.
 *
 * Writes signed in by the cookie must also send `X-CSRF-Token`: an HMAC of the cookie's token, which a page of
 * another site can neither read nor compute (the cookie is HttpOnly and the answers carry no CORS headers).
 */

export const SESSION_COOKIE = 'docent_session'
/** How long a session lasts from sign-in; signing in again opens a new one. */
export const SESSION_HOURS = 12

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')

/** The CSRF token of a session: derived from its cookie's token, so nothing more is stored. */
export function csrfTokenOf(token: string): string {
  return createHmac('sha256', token).update('docent csrf token').digest('base64url')
}

/** Whether `sent` is the CSRF token of the session whose cookie token is `token` (compared in constant time). */
export function isCsrfTokenOf(token: string, sent: string | undefined): boolean {
  if (sent === undefined) return false
  const expected = Buffer.from(csrfTokenOf(token))
  const given = Buffer.from(sent)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** A new session for the key's owner; the cookie's token is returned once and never stored. */
export async function openSession(db: Kysely<DB>, principal: Principal): Promise<{ token: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url')
  const now = Date.now()
  // Housekeeping: sessions that ended (expired, or signed out over a day ago) are of no use to anyone.
  await db
    .deleteFrom('sessions')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<', new Date(now).toISOString()),
        eb('revoked_at', '<', new Date(now - 86_400_000).toISOString()),
      ]),
    )
    .execute()
  const expiresAt = new Date(now + SESSION_HOURS * 3600_000).toISOString()
  await db
    .insertInto('sessions')
    .values({
      id: randomUUID(),
      workspace_id: principal.workspaceId,
      user_id: principal.userId,
      api_key_id: principal.keyId,
      token_hash: hashOf(token),
      created_at: new Date(now).toISOString(),
      expires_at: expiresAt,
      revoked_at: null,
    })
    .execute()
  return { token, expiresAt }
}

/**
 * The principal of a live session: not signed out, not expired, its key not revoked; undefined otherwise. A use of
 * the session is a use of its key (`last_used_at`, noted at most once a minute as for the key itself).
 */
export async function findSession(
  db: Kysely<DB>,
  token: string,
): Promise<{ principal: Principal; expiresAt: string } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('api_keys', 'api_keys.id', 'sessions.api_key_id')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.api_key_id as keyId',
      'users.id as userId',
      'users.workspace_id as workspaceId',
      'users.role as role',
      'sessions.expires_at as expiresAt',
      'api_keys.last_used_at as lastUsedAt',
    ])
    .where('sessions.token_hash', '=', hashOf(token))
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', nowIso())
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst()
  if (row === undefined) return undefined
  const { expiresAt, ...owner } = row
  return {
    principal: await noteKeyUse(db, owner as KeyOwner),
    expiresAt: expiresAt instanceof Date ? expiresAt.toISOString() : String(expiresAt),
  }
}

/** Signs a session out; true when it was live. */
export async function closeSession(db: Kysely<DB>, token: string): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked_at: nowIso() })
    .where('token_hash', '=', hashOf(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** What the web catalog shows of the signed-in person. */
export function findSessionUser(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'first_name', 'last_name', 'role'])
    .where('id', '=', userId)
    .executeTakeFirst()
}
