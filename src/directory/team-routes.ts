import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { ApiError, notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import { CommonErrors, ErrorSchema, IdParamsSchema, ListSchema, Nullable, PageQuerySchema } from '../http/schemas.ts'
import type { Principal } from './keys.ts'
import { findDefaultTeamId, insertTeam, lockWorkspace } from './repository.ts'
import { pathId, requireAdmin, writeDirectory } from './route-guards.ts'
import {
  adoptOnlyTeamMembers,
  deleteTeamRow,
  findGuestsOnlyIn,
  findTeam,
  findTeamIdByName,
  listTeams,
  type Team,
  updateTeamRow,
} from './teams.ts'

const tags = ['teams']

const TeamTypeSchema = Type.Unsafe<'OPEN' | 'CLOSED'>({
  type: 'string',
  enum: ['OPEN', 'CLOSED'],
  description: 'CLOSED teams are seen only by their members and admins',
})

const TeamSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  icon: Nullable(Type.String()),
  description: Type.String(),
  type: TeamTypeSchema,
  is_default: Type.Boolean(),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Writable = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  icon: Nullable(Type.String({ maxLength: 2048 })),
  description: Type.String({ maxLength: 10_000 }),
  type: TeamTypeSchema,
}

const TeamCreateSchema = Type.Object({
  name: Writable.name,
  icon: Type.Optional(Writable.icon),
  description: Type.Optional(Writable.description),
  type: Type.Optional(Writable.type),
})

const TeamUpdateSchema = Type.Object({
  name: Type.Optional(Writable.name),
  icon: Type.Optional(Writable.icon),
  description: Type.Optional(Writable.description),
  type: Type.Optional(Writable.type),
})

const WHAT = 'teams'
const TAKEN = 'Another team of this workspace already has this name.'

function nameTaken(name: string): ApiError {
  return new ApiError('CONFLICT', `Another team of this workspace is already called "${name}".`)
}

async function getTeam(store: Store, principal: Principal, id: string): Promise<Team> {
  const found = await findTeam(store.db, principal.workspaceId, principal, id)
  if (found === undefined) {
    throw notFound()
  }
  return found
}

export function teamRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/teams',
      {
        schema: {
          tags,
          summary: 'List the teams the caller may see',
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(TeamSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const { principal } = request
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listTeams(store.db, principal.workspaceId, principal, pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/auth/teams',
      {
        schema: {
          tags,
          summary: 'Create a team',
          body: TeamCreateSchema,
          response: { 201: TeamSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { principal, body } = request
        requireAdmin(principal, WHAT)
        const id = await writeDirectory(store, TAKEN, async (trx) => {
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
        })
        return reply.code(201).send(await getTeam(store, principal, id))
      },
    )

    app.get(
      '/auth/teams/:id',
      {
        schema: {
          tags,
          summary: 'Get a team',
          params: IdParamsSchema,
          response: { 200: TeamSchema, ...CommonErrors },
        },
      },
      async (request) => getTeam(store, request.principal, pathId(request.params.id)),
    )

    app.patch(
      '/auth/teams/:id',
      {
        schema: {
          tags,
          summary: 'Update a team',
          params: IdParamsSchema,
          body: TeamUpdateSchema,
          response: { 200: TeamSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request) => {
        const { principal, body } = request
        const id = pathId(request.params.id)
        await getTeam(store, principal, id)
        requireAdmin(principal, WHAT)
        await writeDirectory(store, TAKEN, async (trx) => {
          const { name, icon, description, type } = body
          if (name !== undefined && (await findTeamIdByName(trx, principal.workspaceId, name, id)) !== undefined) {
            throw nameTaken(name)
          }
          await updateTeamRow(trx, id, { name, icon, description, type }, nowIso())
        })
        return getTeam(store, principal, id)
      },
    )

    app.delete(
      '/auth/teams/:id',
      {
        schema: {
          tags,
          summary: "Delete a team; what belonged only to it moves to the workspace's default team",
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { principal } = request
        const id = pathId(request.params.id)
        const team = await getTeam(store, principal, id)
        requireAdmin(principal, WHAT)
        if (team.is_default) {
          throw new ApiError(
            'CONFLICT',
            "The workspace's default team cannot be deleted: every user and every resource without another team belongs to it.",
          )
        }
        await writeDirectory(store, TAKEN, async (trx) => {
          await lockWorkspace(trx, principal.workspaceId)
          const guests = await findGuestsOnlyIn(trx, id)
          if (guests.length > 0) {
            throw new ApiError(
              'CONFLICT',
              `This team is the only team of ${guests.length} guest(s) (${guests.slice(0, 5).join(', ')}${guests.length > 5 ? ', ...' : ''}); give them another team first: a guest must belong to at least one team.`,
            )
          }
          await adoptOnlyTeamMembers(trx, id, await findDefaultTeamId(trx, principal.workspaceId))
          if (!(await deleteTeamRow(trx, principal.workspaceId, id))) {
            throw notFound()
          }
        })
        return reply.code(204).send(null)
      },
    )
  }
}
