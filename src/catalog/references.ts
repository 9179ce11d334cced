import type { Kysely } from 'kysely'
import { isAdmin, visibleResources } from '../access/visibility.ts'
import type { DB } from '../db/types.ts'
import type { Principal } from '../directory/keys.ts'
import type { FieldError } from '../errors.ts'

type Directory = 'users' | 'groups' | 'teams' | 'tags' | 'integrations' | 'collections'

/** The directory each referencing body field points into. */
export const REFERENCE_TARGETS = {
  integration: 'integrations',
  teams: 'teams',
  owners: 'users',
  owners_groups: 'groups',
  collections: 'collections',
  tags: 'tags',
  subscribers: 'users',
  internal_users: 'users',
} as const satisfies Record<string, Directory>

export type ReferenceField = keyof typeof REFERENCE_TARGETS

const NOUN: Record<Directory, string> = {
  users: 'a user',
  groups: 'a group',
  teams: 'a team',
  tags: 'a tag',
  integrations: 'an integration',
  collections: 'a collection',
}

async function findExisting(db: Kysely<DB>, directory: Directory, workspaceId: string, ids: string[]) {
  // Every directory table has (id, workspace_id); collections are resources of that entity type.
  const rows =
    directory === 'collections'
      ? await db
          .selectFrom('resources')
          .select('id')
          .where('entity_type', '=', 'collection')
          .where('workspace_id', '=', workspaceId)
          .where('id', 'in', ids)
          .execute()
      : await db
          .selectFrom(directory as 'users')
          .select('id')
          .where('workspace_id', '=', workspaceId)
          .where('id', 'in', ids)
          .execute()
  return new Set(rows.map((r) => r.id))
}

/** Every referenced id that is not in the workspace, as field errors (`owners[1]`, `integration`). */
export async function checkReferences(
  db: Kysely<DB>,
  workspaceId: string,
  references: Partial<Record<ReferenceField, string | string[] | null>>,
): Promise<FieldError[]> {
  const errors: FieldError[] = []
  for (const [field, directory] of Object.entries(REFERENCE_TARGETS) as [ReferenceField, Directory][]) {
    const value = references[field]
    if (value === undefined || value === null) {
      continue
    }
    const ids = Array.isArray(value) ? value : [value]
    if (ids.length === 0) {
      continue
    }
    const existing = await findExisting(db, directory, workspaceId, [...new Set(ids)])
    ids.forEach((id, index) => {
      if (!existing.has(id)) {
        errors.push({
          field: Array.isArray(value) ? `${field}[${index}]` : field,
          message: `refers to ${id}, which is not ${NOUN[directory]} of this workspace`,
        })
      }
    })
  }
  return errors
}

/**
 * What a caller who is not an admin may refer to beyond the workspace (CONTRACT §7): its own teams (and
 * `keptTeams`, those the resource has already), integrations of its teams, and collections it can see.
 */
export async function checkAccess(
  db: Kysely<DB>,
  principal: Principal,
  references: Partial<Record<ReferenceField, string | string[] | null>>,
  keptTeams: string[],
): Promise<FieldError[]> {
  if (isAdmin(principal)) {
    return []
  }
  const errors: FieldError[] = []
  const teams = references.teams
  if (Array.isArray(teams) && teams.length > 0) {
    const rows = await db.selectFrom('team_members').select('team_id').where('user_id', '=', principal.userId).execute()
    const member = new Set(rows.map((r) => r.team_id))
    const allowed = new Set([...member, ...keptTeams])
    teams.forEach((id, index) => {
      if (!allowed.has(id)) {
        errors.push({ field: `teams[${index}]`, message: `refers to ${id}, a team you are not a member of` })
      }
    })
    // Otherwise the write would succeed and the caller could no longer see what it wrote.
    if (errors.length === 0 && !teams.some((id) => member.has(id))) {
      errors.push({
        field: 'teams',
        message: 'must include one of your own teams, or you would lose sight of the resource',
      })
    }
  }
  const integration = references.integration
  if (typeof integration === 'string') {
    const shared = await db
      .selectFrom('integration_teams')
      .innerJoin('team_members', 'team_members.team_id', 'integration_teams.team_id')
      .select('integration_teams.integration_id')
      .where('integration_teams.integration_id', '=', integration)
      .where('team_members.user_id', '=', principal.userId)
      .executeTakeFirst()
    if (shared === undefined) {
      errors.push({ field: 'integration', message: `refers to ${integration}, an integration of none of your teams` })
    }
  }
  const collections = references.collections
  if (Array.isArray(collections) && collections.length > 0) {
    const visible = visibleResources(principal, 'row')
    let query = db
      .selectFrom('resources')
      .select('id')
      .where('workspace_id', '=', principal.workspaceId)
      .where('id', 'in', collections)
    if (visible !== undefined) query = query.where(visible('resources'))
    const seen = new Set((await query.execute()).map((r) => r.id))
    collections.forEach((id, index) => {
      if (!seen.has(id)) {
        // The words of a missing collection: one the caller may not see must not be told apart (CONTRACT §7).
        errors.push({
          field: `collections[${index}]`,
          message: `refers to ${id}, which is not ${NOUN.collections} of this workspace`,
        })
      }
    })
  }
  return errors
}
