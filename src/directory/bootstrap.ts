import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { hashApiKey } from '../access/keys.ts'
import type { DB, Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { generateApiKey } from './keys/repository.ts'
import { createWorkspace } from './workspaces/repository.ts'

export const ADMIN_EMAIL = 'admin@docent.local'
export const ADMIN_KEY_FILE = 'admin-api-key'

export type FirstStart =
  | { kind: 'created'; workspaceId: string; key: string; keyFile: string | undefined }
  | { kind: 'existing'; configuredKeyIgnored: boolean }

/**
 * On an empty store: a workspace, its default team, an admin and the admin's key. The key is the configured
 * one, or a new one written to `<dataDir>/admin-api-key` (mode 0600). A store that has been set up is never
 * set up again, even by several instances starting at once: the `initialized` row is the lock.
 */
export async function ensureFirstStart(
  store: Store,
  options: { adminApiKey: string | undefined; dataDir: string },
): Promise<FirstStart> {
  const db = store.db
  const initialized = async () =>
    (await db.selectFrom('docent_meta').select('key').where('key', '=', 'initialized').executeTakeFirst()) !== undefined
  const existing = async (): Promise<FirstStart> => ({
    kind: 'existing',
    configuredKeyIgnored: options.adminApiKey !== undefined && !(await isKnownKey(db, options.adminApiKey)),
  })
  if (await initialized()) {
    return existing()
  }
  const key = options.adminApiKey ?? generateApiKey()
  const keyFile = options.adminApiKey === undefined ? join(options.dataDir, ADMIN_KEY_FILE) : undefined
  try {
    const workspaceId = await store.write(async (trx) => {
      await trx.insertInto('docent_meta').values({ key: 'initialized', value: nowIso() }).execute()
      const created = await createWorkspace(trx, { name: 'Default', adminEmail: ADMIN_EMAIL, adminKey: key })
      // Written before the commit: if the file cannot be written, the store stays empty and the next start retries.
      if (keyFile !== undefined) {
        mkdirSync(options.dataDir, { recursive: true })
        writeFileSync(keyFile, `${key}\n`, { mode: 0o600 })
        chmodSync(keyFile, 0o600)
      }
      return created.workspaceId
    })
    return { kind: 'created', workspaceId, key, keyFile }
  } catch (error) {
    if (await initialized()) {
      return existing()
    }
    throw error
  }
}

async function isKnownKey(db: Kysely<DB>, key: string): Promise<boolean> {
  const row = await db.selectFrom('api_keys').select('id').where('key_hash', '=', hashApiKey(key)).executeTakeFirst()
  return row !== undefined
}
