import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { Principal, Role } from '../../access/principal.ts'
import { teamVisibleTo } from '../../access/teams.ts'
import { byCodePoint, engineOf, foldCase } from '../../db/dialect.ts'
import { listPage } from '../../db/pages.ts'
import type { DB, UserTable } from '../../db/types.ts'
import { nowIso, toCount, toIso } from '../../db/values.ts'
import { findDefaultTeamId } from '../teams/repository.ts'
import type { User } from './schema.ts'

const COLUMNS = ['id', 'first_name', 'last_name', 'email', 'role', 'workspace_id', 'created_at', 'updated_at'] as const
type UserRow = Selectable<UserTable>

/** A page of users with their teams (those the viewer may see) and groups: one query per relation kind. */
async function withMemberships(db: Kysely<DB>, viewer: Principal, rows: UserRow[]): Promise<User[]> {
  if (rows.length === 0) {
    return []
  }
  const ids = rows.map((r) => r.id)
  const teams = await db
    .selectFrom('team_members')
    .innerJoin('teams', 'teams.id', 'team_members.team_id')
    .select(['team_members.user_id as owner', 'teams.id as id'])
    .where('team_members.user_id', 'in', ids)
    .where(teamVisibleTo(viewer))
    .orderBy(byCodePoint(db, 'teams.name'))
    .orderBy('teams.id')
    .execute()
  const groups = await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.user_id as owner', 'groups.id as id'])
    .where('group_members.user_id', 'in', ids)
    .orderBy(byCodePoint(db, 'groups.name'))
    .orderBy('groups.id')
    .execute()
  return rows.map((row) => ({
    id: row.id,
    first_name: row.first_name,
    last_name: row.last_name,
    email: row.email,
    role: row.role as Role,
    teams: teams.filter((t) => t.owner === row.id).map((t) => t.id),
    user_groups: groups.filter((g) => g.owner === row.id).map((g) => g.id),
    workspace_id: row.workspace_id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }))
}

export async function findUser(
  db: Kysely<DB>,
  workspaceId: string,
  viewer: Principal,
  id: string,
): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .select(COLUMNS)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row === undefined ? undefined : (await withMemberships(db, viewer, [row]))[0]
}

export async function listUsers(
  db: Kysely<DB>,
  workspaceId: string,
  viewer: Principal,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: User[] }> {
  const { count, rows } = await listPage(
    db.selectFrom('users').where('workspace_id', '=', workspaceId),
    (query) => query.select(COLUMNS).orderBy(byCodePoint(db, 'email')).orderBy('id'),
    page,
  )
  return { count, results: await withMemberships(db, viewer, rows) }
}

/** Another user of the workspace with this email, compared without case (rows written elsewhere may keep it). */
export async function findUserIdByEmail(
  db: Kysely<DB>,
  workspaceId: string,
  email: string,
  exceptId?: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where((eb) => eb(foldCase(engineOf(db), eb.ref('email')), '=', email.toLowerCase()))
    .$if(exceptId !== undefined, (qb) => qb.where('id', '<>', exceptId as string))
    .executeTakeFirst()
  return row?.id
}

export async function findUserState(db: Kysely<DB>, id: string): Promise<{ role: Role; teams: string[] } | undefined> {
  const row = await db.selectFrom('users').select('role').where('id', '=', id).executeTakeFirst()
  if (row === undefined) {
    return undefined
  }
  const teams = await db.selectFrom('team_members').select('team_id').where('user_id', '=', id).execute()
  return { role: row.role as Role, teams: teams.map((t) => t.team_id) }
}

export async function countAdmins(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('role', '=', 'admin')
    .executeTakeFirst()
  return toCount(row?.n as number | string | undefined)
}

/** What an update may set: the writable fields of the user as the API shows them. */
export type UserValues = Pick<User, 'first_name' | 'last_name' | 'email' | 'role'>

export async function updateUserRow(
  db: Kysely<DB>,
  id: string,
  values: Partial<UserValues>,
  now: string,
): Promise<void> {
  const { first_name, last_name, email, role } = values
  await db
    .updateTable('users')
    .set({
      ...(first_name === undefined ? {} : { first_name }),
      ...(last_name === undefined ? {} : { last_name }),
      ...(email === undefined ? {} : { email }),
      ...(role === undefined ? {} : { role }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute()
}

export async function replaceUserTeams(db: Kysely<DB>, userId: string, teamIds: string[]): Promise<void> {
  await db.deleteFrom('team_members').where('user_id', '=', userId).execute()
  if (teamIds.length > 0) {
    await db
      .insertInto('team_members')
      .values(teamIds.map((teamId) => ({ team_id: teamId, user_id: userId })))
      .execute()
  }
}

/** The user's keys, memberships and places in resource lists go with the row (foreign keys cascade). */
export async function deleteUserRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('users')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Adds each user to each group (the users are new: no membership exists yet). */
export async function addGroupMembers(db: Kysely<DB>, groupIds: string[], userIds: string[]): Promise<void> {
  const rows = groupIds.flatMap((groupId) => userIds.map((userId) => ({ group_id: groupId, user_id: userId })))
  // Batches keep each statement well under either engine's limit on bound values.
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('group_members')
      .values(rows.slice(i, i + 500))
      .execute()
  }
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
