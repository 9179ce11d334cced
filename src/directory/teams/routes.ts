import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { lockVisibility, refreshAfterTeamDeleted } from '../../access/effective.ts'
import type { Store } from '../../db/types.ts'
import { nowIso } from '../../db/values.ts'
import { ApiError } from '../../errors.ts'
import { collectionRoutes } from '../../http/collection.ts'
import { lockWorkspace } from '../workspaces/repository.ts'
import {
  adoptOnlyTeamMembers,
  deleteTeamRow,
  findDefaultTeamId,
  findGuestsOnlyIn,
  findTeam,
  findTeamIdByName,
  insertTeam,
  listTeams,
  updateTeamRow,
} from './repository.ts'
import { TeamCreateSchema, TeamSchema, TeamUpdateSchema } from './schema.ts'

function nameTaken(name: string): ApiError {
  return new ApiError('CONFLICT', `Another team of this workspace is already called "${name}".`)
}

export function teamRoutes(store: Store): FastifyPluginAsyncTypebox {
  return collectionRoutes(store, {
    path: '/auth/teams',
    plural: 'teams',
    clash: 'Another team of this workspace already has this name.',
    schemas: { item: TeamSchema, create: TeamCreateSchema, update: TeamUpdateSchema },
    summaries: {
      list: 'List the teams the caller may see',
      create: 'Create a team',
      get: 'Get a team',
      update: 'Update a team',
      delete: "Delete a team; what belonged only to it moves to the workspace's default team",
    },
    find: (db, principal, id) => findTeam(db, principal.workspaceId, principal, id),
    list: (db, principal, page) => listTeams(db, principal.workspaceId, principal, page),
    create: async (trx, principal, body) => {
      if ((await findTeamIdByName(trx, principal.workspaceId, body.name)) !== undefined) {
        throw nameTaken(body.name)
      }
      return insertTeam(trx, {
        workspaceId: principal.workspaceId,
        name: body.name,
        icon: body.icon ?? null,
        description: body.description ?? '',
        type: body.type ?? 'OPEN',
      })
    },
    update: async (trx, principal, id, body) => {
      const { name, icon, description, type } = body
      if (name !== undefined && (await findTeamIdByName(trx, principal.workspaceId, name, id)) !== undefined) {
        throw nameTaken(name)
      }
      await updateTeamRow(trx, id, { name, icon, description, type }, nowIso())
    },
    refuseDelete: (team) => {
      if (team.is_default) {
        throw new ApiError(
          'CONFLICT',
          "The workspace's default team cannot be deleted: every user and every resource without another team belongs to it.",
        )
      }
    },
    remove: async (trx, principal, id) => {
      await lockWorkspace(trx, principal.workspaceId)
      await lockVisibility(trx, principal.workspaceId)
      const guests = await findGuestsOnlyIn(trx, id)
      if (guests.length > 0) {
        throw new ApiError(
          'CONFLICT',
          `This team is the only team of ${guests.length} guest(s) (${guests.slice(0, 5).join(', ')}${guests.length > 5 ? ', ...' : ''}); give them another team first: a guest must belong to at least one team.`,
        )
      }
      await adoptOnlyTeamMembers(trx, id, await findDefaultTeamId(trx, principal.workspaceId))
      const deleted = await deleteTeamRow(trx, principal.workspaceId, id)
      await refreshAfterTeamDeleted(trx, id)
      return deleted
    },
  })
}
