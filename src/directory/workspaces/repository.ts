import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { engineOf } from '../../db/dialect.ts'
import type { DB } from '../../db/types.ts'
import { nowIso } from '../../db/values.ts'
import { insertApiKey } from '../keys/repository.ts'
import { DEFAULT_TEAM_NAME, insertTeam } from '../teams/repository.ts'
import { insertUser } from '../users/repository.ts'

export interface CreatedWorkspace {
  workspaceId: string
  defaultTeamId: string
  adminUserId: string
}

/** A workspace with its default team, an admin user and that admin's API key; run it inside one `store.write`. */
export async function createWorkspace(
  db: Kysely<DB>,
  input: { name: string; adminEmail: string; adminKey: string },
): Promise<CreatedWorkspace> {
  const workspaceId = randomUUID()
  await db.insertInto('workspaces').values({ id: workspaceId, name: input.name, created_at: nowIso() }).execute()
  const defaultTeamId = await insertTeam(db, { workspaceId, name: DEFAULT_TEAM_NAME, isDefault: true })
  const adminUserId = await insertUser(db, {
    workspaceId,
    email: input.adminEmail,
    role: 'admin',
    firstName: 'Admin',
  })
  await insertApiKey(db, {
    workspaceId,
    userId: adminUserId,
    key: input.adminKey,
    description: 'admin key made with the workspace',
  })
  return { workspaceId, defaultTeamId, adminUserId }
}

/**
 * Serializes the directory writes of one workspace on PostgreSQL, so that rules over several rows (the last
 * admin, a guest's last team) hold under concurrent requests. SQLite runs one write transaction at a time anyway.
 */
export async function lockWorkspace(db: Kysely<DB>, workspaceId: string): Promise<void> {
  if (engineOf(db) === 'postgres') {
    await db.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().execute()
  }
}
