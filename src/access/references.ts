import type { Kysely } from 'kysely'
import type { DB } from '../db/types.ts'
import type { FieldError } from '../errors.ts'
import { isAdmin, type Principal } from './principal.ts'
import { visibleResources } from './visibility.ts'

/** The references of a write that a caller's role limits; ids already lower-cased and known to the workspace. */
export interface AccessReferences {
  teams?: string[] | undefined
  integration?: string | null | undefined
  collections?: string[] | undefined
  sources?: string[] | undefined
}

/**
 * What a caller who is not an admin may refer to beyond the workspace (CONTRACT §7): its own teams (and
 * `keptTeams`, those the resource has already), integrations of its teams, and collections and sources it can see.
 */
export async function checkAccess(
  db: Kysely<DB>,
  principal: Principal,
  references: AccessReferences,
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
  for (const [field, noun] of [
    ['collections', 'a collection'],
    ['sources', 'a resource'],
  ] as const) {
    const ids = references[field]
    if (!Array.isArray(ids) || ids.length === 0) continue
    const visible = visibleResources(principal, 'row')
    let query = db
      .selectFrom('resources')
      .select('id')
      .where('workspace_id', '=', principal.workspaceId)
      .where('id', 'in', ids)
    if (visible !== undefined) query = query.where(visible('resources'))
    const seen = new Set((await query.execute()).map((r) => r.id))
    ids.forEach((id, index) => {
      if (!seen.has(id)) {
        // The words of a missing resource: one the caller may not see must not be told apart (CONTRACT §7).
        errors.push({ field: `${field}[${index}]`, message: `refers to ${id}, which is not ${noun} of this workspace` })
      }
    })
  }
  return errors
}
