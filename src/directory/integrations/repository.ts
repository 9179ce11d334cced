import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely'
import type { Principal } from '../../access/principal.ts'
import { integrationScope } from '../../access/rules.ts'
import { byCodePoint } from '../../db/dialect.ts'
import { listPage } from '../../db/pages.ts'
import type { DB, IntegrationTable } from '../../db/types.ts'
import { toIso } from '../../db/values.ts'
import { notFound } from '../../errors.ts'
import type { Integration } from './schema.ts'

// Credentials are written, never read back here: nothing that serves an answer selects them.
const COLUMNS = ['id', 'name', 'type', 'workspace_id', 'created_at', 'updated_at'] as const
type IntegrationRow = Omit<Selectable<IntegrationTable>, 'credentials'>

function toIntegration(row: IntegrationRow, teams: string[]): Integration {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    teams,
    workspace_id: row.workspace_id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

async function withTeams(db: Kysely<DB>, rows: IntegrationRow[]): Promise<Integration[]> {
  if (rows.length === 0) {
    return []
  }
  const links = await db
    .selectFrom('integration_teams')
    .select(['integration_id', 'team_id'])
    .where(
      'integration_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('position')
    .execute()
  return rows.map((row) =>
    toIntegration(
      row,
      links.filter((l) => l.integration_id === row.id).map((l) => l.team_id),
    ),
  )
}

/** Integrations of a workspace; with `memberId`, only those of a team that user belongs to. */
export interface IntegrationScope {
  workspaceId: string
  memberId?: string | undefined
}

function inScope<O>(query: SelectQueryBuilder<DB, 'integrations', O>, scope: IntegrationScope) {
  const narrowed = query.where('integrations.workspace_id', '=', scope.workspaceId)
  const memberId = scope.memberId
  return memberId === undefined
    ? narrowed
    : narrowed.where((eb) =>
        eb.exists(
          eb
            .selectFrom('integration_teams')
            .innerJoin('team_members', 'team_members.team_id', 'integration_teams.team_id')
            .select('integration_teams.team_id')
            .whereRef('integration_teams.integration_id', '=', 'integrations.id')
            .where('team_members.user_id', '=', memberId),
        ),
      )
}

export async function findIntegration(
  db: Kysely<DB>,
  scope: IntegrationScope,
  id: string,
): Promise<Integration | undefined> {
  const row = await inScope(
    db.selectFrom('integrations').select(COLUMNS).where('id', '=', id),
    scope,
  ).executeTakeFirst()
  return row === undefined ? undefined : (await withTeams(db, [row]))[0]
}

export async function listIntegrations(
  db: Kysely<DB>,
  scope: IntegrationScope,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Integration[] }> {
  const { count, rows } = await listPage(
    inScope(db.selectFrom('integrations'), scope),
    (query) => query.select(COLUMNS).orderBy(byCodePoint(db, 'name')).orderBy('id'),
    page,
  )
  return { count, results: await withTeams(db, rows) }
}

export interface IntegrationValues {
  name: string
  type: string
  credentials: object
}

export async function insertIntegration(
  db: Kysely<DB>,
  workspaceId: string,
  values: IntegrationValues,
  teamIds: string[],
  now: string,
): Promise<string> {
  const id = randomUUID()
  await db
    .insertInto('integrations')
    .values({
      id,
      workspace_id: workspaceId,
      name: values.name,
      type: values.type,
      credentials: JSON.stringify(values.credentials),
      created_at: now,
      updated_at: now,
    })
    .execute()
  await replaceIntegrationTeams(db, id, teamIds)
  return id
}

export async function updateIntegrationRow(
  db: Kysely<DB>,
  id: string,
  values: Partial<IntegrationValues>,
  now: string,
): Promise<void> {
  // Each column named: a body with extra keys must never reach the SET list.
  const { name, type, credentials } = values
  await db
    .updateTable('integrations')
    .set({
      ...(name === undefined ? {} : { name }),
      ...(type === undefined ? {} : { type }),
      ...(credentials === undefined ? {} : { credentials: JSON.stringify(credentials) }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute()
}

export async function replaceIntegrationTeams(db: Kysely<DB>, id: string, teamIds: string[]): Promise<void> {
  await db.deleteFrom('integration_teams').where('integration_id', '=', id).execute()
  if (teamIds.length > 0) {
    await db
      .insertInto('integration_teams')
      .values(teamIds.map((teamId, position) => ({ integration_id: id, team_id: teamId, position })))
      .execute()
  }
}

/** Deletes an integration; its resources (and their subtrees) go with it through the foreign keys. */
export async function deleteIntegrationRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('integrations')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** What a sync needs of an integration: its kind, its credentials (never returned by any route) and teams. */
export async function findIntegrationForSync(
  db: Kysely<DB>,
  id: string,
): Promise<{ id: string; workspaceId: string; type: string; credentials: unknown; teamIds: string[] } | undefined> {
  const row = await db
    .selectFrom('integrations')
    .select(['id', 'workspace_id', 'type', 'credentials'])
    .where('id', '=', id)
    .executeTakeFirst()
  if (row === undefined) {
    return undefined
  }
  const teams = await db
    .selectFrom('integration_teams')
    .select('team_id')
    .where('integration_id', '=', id)
    .orderBy('position')
    .execute()
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    type: row.type,
    credentials: JSON.parse(row.credentials) as unknown,
    teamIds: teams.map((t) => t.team_id),
  }
}

/** An integration the caller may see (admins: any of the workspace; others: their teams'), else 404. */
export async function getIntegration(db: Kysely<DB>, principal: Principal, id: string): Promise<Integration> {
  const found = await findIntegration(db, integrationScope(principal), id)
  if (found === undefined) {
    throw notFound()
  }
  return found
}
