import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import { byCodePoint } from '../../db/dialect.ts'
import { listPage } from '../../db/pages.ts'
import type { DB, GroupTable } from '../../db/types.ts'
import { nowIso, toIso } from '../../db/values.ts'
import type { Group } from './schema.ts'

const COLUMNS = ['id', 'name', 'icon', 'description', 'workspace_id', 'created_at', 'updated_at'] as const
type GroupRow = Selectable<GroupTable>

/** A page of groups with their members, ordered by email then id, in one query. */
async function withUsers(db: Kysely<DB>, rows: GroupRow[]): Promise<Group[]> {
  if (rows.length === 0) {
    return []
  }
  const members = await db
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['group_members.group_id as group_id', 'users.id as id'])
    .where(
      'group_members.group_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy(byCodePoint(db, 'users.email'))
    .orderBy('users.id')
    .execute()
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    icon: row.icon,
    description: row.description,
    users: members.filter((m) => m.group_id === row.id).map((m) => m.id),
    workspace_id: row.workspace_id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }))
}

export async function findGroup(db: Kysely<DB>, workspaceId: string, id: string): Promise<Group | undefined> {
  const row = await db
    .selectFrom('groups')
    .select(COLUMNS)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row === undefined ? undefined : (await withUsers(db, [row]))[0]
}

export async function listGroups(
  db: Kysely<DB>,
  workspaceId: string,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Group[] }> {
  const { count, rows } = await listPage(
    db.selectFrom('groups').where('workspace_id', '=', workspaceId),
    (query) => query.select(COLUMNS).orderBy(byCodePoint(db, 'name')).orderBy('id'),
    page,
  )
  return { count, results: await withUsers(db, rows) }
}

/** What an update may set: the writable fields of the group as the API shows them. */
export type GroupValues = Pick<Group, 'name' | 'icon' | 'description'>

export async function updateGroupRow(
  db: Kysely<DB>,
  id: string,
  values: Partial<GroupValues>,
  now: string,
): Promise<void> {
  const { name, icon, description } = values
  await db
    .updateTable('groups')
    .set({
      ...(name === undefined ? {} : { name }),
      ...(icon === undefined ? {} : { icon }),
      ...(description === undefined ? {} : { description }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute()
}

export async function replaceGroupUsers(db: Kysely<DB>, groupId: string, userIds: string[]): Promise<void> {
  await db.deleteFrom('group_members').where('group_id', '=', groupId).execute()
  if (userIds.length > 0) {
    await db
      .insertInto('group_members')
      .values(userIds.map((userId) => ({ group_id: groupId, user_id: userId })))
      .execute()
  }
}

/** Memberships and places in resources' `owners_groups` go with the row (foreign keys cascade). */
export async function deleteGroupRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('groups')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

export interface NewGroup {
  workspaceId: string
  name: string
  icon?: string | null
  description?: string
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
      icon: input.icon ?? null,
      description: input.description ?? '',
      created_at: now,
      updated_at: now,
    })
    .execute()
  await replaceGroupUsers(db, id, input.userIds ?? [])
  return id
}
