import { randomUUID } from 'node:crypto'
import { type Kysely, type Selectable, sql } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { Principal } from '../../access/principal.ts'
import { teamVisibleTo } from '../../access/teams.ts'
import { byCodePoint } from '../../db/dialect.ts'
import { listPage } from '../../db/pages.ts'
import type { DB, TeamTable } from '../../db/types.ts'
import { nowIso, toIso } from '../../db/values.ts'
import type { Team } from './schema.ts'

export type TeamType = 'OPEN' | 'CLOSED'

const COLUMNS = [
  'teams.id',
  'teams.name',
  'teams.icon',
  'teams.description',
  'teams.type',
  'teams.is_default',
  'teams.workspace_id',
  'teams.created_at',
  'teams.updated_at',
] as const

function toTeam(row: Selectable<TeamTable>): Team {
  return {
    id: row.id,
    name: row.name,
    icon: row.icon,
    description: row.description,
    type: row.type as TeamType,
    is_default: Boolean(row.is_default),
    workspace_id: row.workspace_id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

export async function findTeam(
  db: Kysely<DB>,
  workspaceId: string,
  viewer: Principal,
  id: string,
): Promise<Team | undefined> {
  const row = await db
    .selectFrom('teams')
    .select(COLUMNS)
    .where('teams.workspace_id', '=', workspaceId)
    .where('teams.id', '=', id)
    .where(teamVisibleTo(viewer))
    .executeTakeFirst()
  return row === undefined ? undefined : toTeam(row)
}

export async function listTeams(
  db: Kysely<DB>,
  workspaceId: string,
  viewer: Principal,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Team[] }> {
  const { count, rows } = await listPage(
    db.selectFrom('teams').where('teams.workspace_id', '=', workspaceId).where(teamVisibleTo(viewer)),
    (query) => query.select(COLUMNS).orderBy(byCodePoint(db, 'teams.name')).orderBy('teams.id'),
    page,
  )
  return { count, results: rows.map(toTeam) }
}

/** Another team of the workspace with this name (names are unique per workspace, case-sensitively). */
export async function findTeamIdByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
  exceptId?: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('teams')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .$if(exceptId !== undefined, (qb) => qb.where('id', '<>', exceptId as string))
    .executeTakeFirst()
  return row?.id
}

/** What an update may set: the writable fields of the team as the API shows them. */
export type TeamValues = Pick<Team, 'name' | 'icon' | 'description' | 'type'>

export async function updateTeamRow(
  db: Kysely<DB>,
  id: string,
  values: Partial<TeamValues>,
  now: string,
): Promise<void> {
  const { name, icon, description, type } = values
  await db
    .updateTable('teams')
    .set({
      ...(name === undefined ? {} : { name }),
      ...(icon === undefined ? {} : { icon }),
      ...(description === undefined ? {} : { description }),
      ...(type === undefined ? {} : { type }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute()
}

/** Guests whose only team this is: deleting it would leave them in none. */
export async function findGuestsOnlyIn(db: Kysely<DB>, teamId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select('users.email')
    .where('team_members.team_id', '=', teamId)
    .where('users.role', '=', 'guest')
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('team_members as other')
            .select('other.team_id')
            .whereRef('other.user_id', '=', 'team_members.user_id')
            .where('other.team_id', '<>', teamId),
        ),
      ),
    )
    .orderBy(byCodePoint(db, 'users.email'))
    .execute()
  return rows.map((r) => r.email)
}

/**
 * Gives `toTeamId` to every resource and integration whose only team is `fromTeamId`, so that deleting that
 * team (whose rows then cascade away) leaves nothing without a team.
 */
export async function adoptOnlyTeamMembers(db: Kysely<DB>, fromTeamId: string, toTeamId: string): Promise<void> {
  await db
    .insertInto('resource_teams')
    .columns(['resource_id', 'target_id', 'position'])
    .expression((eb) =>
      eb
        .selectFrom('resource_teams as rt')
        .select(['rt.resource_id', sql<string>`${toTeamId}`.as('target_id'), sql<number>`0`.as('position')])
        .where('rt.target_id', '=', fromTeamId)
        .where((w) =>
          w.not(
            w.exists(
              w
                .selectFrom('resource_teams as other')
                .select('other.target_id')
                .whereRef('other.resource_id', '=', 'rt.resource_id')
                .where('other.target_id', '<>', fromTeamId),
            ),
          ),
        ),
    )
    .execute()
  await db
    .insertInto('integration_teams')
    .columns(['integration_id', 'team_id', 'position'])
    .expression((eb) =>
      eb
        .selectFrom('integration_teams as it')
        .select(['it.integration_id', sql<string>`${toTeamId}`.as('team_id'), sql<number>`0`.as('position')])
        .where('it.team_id', '=', fromTeamId)
        .where((w) =>
          w.not(
            w.exists(
              w
                .selectFrom('integration_teams as other')
                .select('other.team_id')
                .whereRef('other.integration_id', '=', 'it.integration_id')
                .where('other.team_id', '<>', fromTeamId),
            ),
          ),
        ),
    )
    .execute()
}

/** Memberships, resource and integration links go with the row (foreign keys cascade). */
export async function deleteTeamRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('teams')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

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

/**
 * Each workspace's default team, once read: it is made with the workspace, never changes and cannot be deleted
 * (routes.ts `refuseDelete`), so every process may keep it; a resource created without teams no longer reads it.
 */
const defaultTeams = new LRUCache<string, string>({ max: 10_000 })

export async function findDefaultTeamId(db: Kysely<DB>, workspaceId: string): Promise<string> {
  const kept = defaultTeams.get(workspaceId)
  if (kept !== undefined) return kept
  const row = await db
    .selectFrom('teams')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('is_default', '=', true)
    .executeTakeFirstOrThrow()
  defaultTeams.set(workspaceId, row.id)
  return row.id
}
