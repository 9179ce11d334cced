import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Role } from '../access/principal.ts'
import { engineOf } from '../db/dialect.ts'
import type { DB } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { insertApiKey } from './keys.ts'

export const DEFAULT_TEAM_NAME = 'General'

export interface NewTeam {
  workspaceId: string
  name: string
  type?: 'OPEN' | 'CLOSED'
  description?: string
  icon?: string | null
  isDefault?: boolean
}

export async function insertTeam(db: Kysely<DB>, input: NewTeam): Promise<string> {
  const id = randomUUID()
  const now = nowIso()
  await db
    .insertInto('teams')
    .values({
      id,
      workspace_id: input.workspaceId,
      name: input.name,
      icon: input.icon ?? null,
      description: input.description ?? '',
      type: input.type ?? 'OPEN',
      is_default: input.isDefault ?? false,
      created_at: now,
      updated_at: now,
    })
    .execute()
  return id
}

export interface NewUser {
  workspaceId: string
  email: string
  role: Role
  firstName?: string
  lastName?: string
  /** Teams besides the default team, which every non-guest user belongs to. */
  teamIds?: string[]
}

export async function insertUser(db: Kysely<DB>, input: NewUser): Promise<string> {
  const id = randomUUID()
  const now = nowIso()
  await db
    .insertInto('users')
    .values({
      id,
      workspace_id: input.workspaceId,
      email: input.email.toLowerCase(),
      first_name: input.firstName ?? '',
      last_name: input.lastName ?? '',
      role: input.role,
      created_at: now,
      updated_at: now,
    })
    .execute()
  const teamIds = new Set(input.teamIds ?? [])
  if (input.role !== 'guest') {
    teamIds.add(await findDefaultTeamId(db, input.workspaceId))
  }
  if (teamIds.size > 0) {
    await db
      .insertInto('team_members')
      .values([...teamIds].map((teamId) => ({ team_id: teamId, user_id: id })))
      .execute()
  }
  return id
}

export interface NewGroup {
  workspaceId: string
  name: string
  userIds?: string[]
}

export async function insertGroup(db: Kysely<DB>, input: NewGroup): Promise<string> {
  const id = randomUUID()
  const now = nowIso()
  await db
    .insertInto('groups')
    .values({
      id,
      workspace_id: input.workspaceId,
      name: input.name,
      icon: null,
      description: '',
      created_at: now,
      updated_at: now,
    })
    .execute()
  if (input.userIds !== undefined && input.userIds.length > 0) {
    await db
      .insertInto('group_members')
      .values(input.userIds.map((userId) => ({ group_id: id, user_id: userId })))
      .execute()
  }
  return id
}

export interface NewTag {
  workspaceId: string
  name: string
  color?: string | null
  integrationId?: string | null
}

export async function insertTag(db: Kysely<DB>, input: NewTag): Promise<string> {
  const id = randomUUID()
  const now = nowIso()
  await db
    .insertInto('tags')
    .values({
      id,
      workspace_id: input.workspaceId,
      name: input.name,
      description: '',
      color: input.color ?? null,
      integration_id: input.integrationId ?? null,
      created_at: now,
      updated_at: now,
    })
    .execute()
  return id
}

export async function findDefaultTeamId(db: Kysely<DB>, workspaceId: string): Promise<string> {
  const row = await db
    .selectFrom('teams')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('is_default', '=', true)
    .executeTakeFirstOrThrow()
  return row.id
}

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
