import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import type { DB, Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { ApiError, fieldError, notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import {
  CommonErrors,
  ErrorSchema,
  IdListSchema,
  IdParamsSchema,
  ListSchema,
  PageQuerySchema,
} from '../http/schemas.ts'
import type { Principal } from './keys.ts'
import { findDefaultTeamId, insertUser, lockWorkspace, ROLES, type Role } from './repository.ts'
import { distinctIds, pathId, requireAdmin, requireReferences, writeDirectory } from './route-guards.ts'
import {
  countAdmins,
  deleteUserRow,
  findUser,
  findUserIdByEmail,
  findUserState,
  listUsers,
  replaceUserTeams,
  type User,
  updateUserRow,
} from './users.ts'

const tags = ['users']

const RoleSchema = Type.Unsafe<Role>({ type: 'string', enum: [...ROLES] })

const UserSchema = Type.Object({
  id: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  teams: Type.Array(Type.String()),
  user_groups: Type.Array(Type.String(), { description: 'read-only: set through a group’s users' }),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Writable = {
  first_name: Type.String({ maxLength: 150 }),
  last_name: Type.String({ maxLength: 150 }),
  email: Type.String({ maxLength: 254, description: 'an email address; stored in lower case' }),
  role: RoleSchema,
  teams: IdListSchema,
}

const UserCreateSchema = Type.Object({
  email: Writable.email,
  first_name: Type.Optional(Writable.first_name),
  last_name: Type.Optional(Writable.last_name),
  role: Type.Optional(Writable.role),
  teams: Type.Optional(Writable.teams),
})

const UserUpdateSchema = Type.Object({
  email: Type.Optional(Writable.email),
  first_name: Type.Optional(Writable.first_name),
  last_name: Type.Optional(Writable.last_name),
  role: Type.Optional(Writable.role),
  teams: Type.Optional(Writable.teams),
})

const WHAT = 'users'
const DEFAULT_ROLE: Role = 'viewer'
const TAKEN = 'Another user of this workspace already has this email.'
// The shape ajv-formats accepts as `email`, with a message of docent's own.
const EMAIL =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i

function normalEmail(email: string): string {
  if (!EMAIL.test(email)) {
    throw fieldError('email', 'must be an email address such as ada@example.com')
  }
  return email.toLowerCase()
}

async function requireFreeEmail(db: Kysely<DB>, workspaceId: string, email: string, exceptId?: string) {
  if ((await findUserIdByEmail(db, workspaceId, email, exceptId)) !== undefined) {
    throw new ApiError('CONFLICT', `Another user of this workspace already has the email ${email}.`)
  }
}

/** The teams a user ends with: every non-guest is in the default team; a guest needs at least one team. */
async function membershipFor(db: Kysely<DB>, workspaceId: string, role: Role, teams: string[]): Promise<string[]> {
  if (role !== 'guest') {
    const defaultTeamId = await findDefaultTeamId(db, workspaceId)
    return teams.includes(defaultTeamId) ? teams : [...teams, defaultTeamId]
  }
  if (teams.length === 0) {
    throw fieldError('teams', 'must name at least one team: a guest sees only what their teams hold')
  }
  return teams
}

function lastAdmin(action: string): ApiError {
  return new ApiError(
    'CONFLICT',
    `This is the last admin of the workspace and cannot be ${action}; make another user an admin first.`,
  )
}

async function getUser(store: Store, principal: Principal, id: string): Promise<User> {
  const found = await findUser(store.db, principal.workspaceId, principal, id)
  if (found === undefined) {
    throw notFound()
  }
  return found
}

export function userRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/user',
      {
        schema: {
          tags,
          summary: 'List the users of the workspace',
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(UserSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const { principal } = request
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listUsers(store.db, principal.workspaceId, principal, pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/user',
      {
        schema: {
          tags,
          summary: 'Create a user',
          body: UserCreateSchema,
          response: { 201: UserSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { principal, body } = request
        requireAdmin(principal, WHAT)
        const email = normalEmail(body.email)
        const role = body.role ?? DEFAULT_ROLE
        const id = await writeDirectory(store, TAKEN, async (trx) => {
          const { workspaceId } = principal
          const teams = distinctIds(body.teams ?? [])
          await requireReferences(trx, workspaceId, 'teams', 'teams', teams)
          await requireFreeEmail(trx, workspaceId, email)
          return insertUser(trx, {
            workspaceId,
            email,
            role,
            firstName: body.first_name ?? '',
            lastName: body.last_name ?? '',
            teamIds: await membershipFor(trx, workspaceId, role, teams),
          })
        })
        return reply.code(201).send(await getUser(store, principal, id))
      },
    )

    app.get(
      '/user/:id',
      {
        schema: {
          tags,
          summary: 'Get a user',
          params: IdParamsSchema,
          response: { 200: UserSchema, ...CommonErrors },
        },
      },
      async (request) => getUser(store, request.principal, pathId(request.params.id)),
    )

    app.patch(
      '/user/:id',
      {
        schema: {
          tags,
          summary: 'Update a user; teams replaces their team membership',
          params: IdParamsSchema,
          body: UserUpdateSchema,
          response: { 200: UserSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request) => {
        const { principal, body } = request
        const id = pathId(request.params.id)
        await getUser(store, principal, id)
        requireAdmin(principal, WHAT)
        const email = body.email === undefined ? undefined : normalEmail(body.email)
        await writeDirectory(store, TAKEN, async (trx) => {
          const { workspaceId } = principal
          await lockWorkspace(trx, workspaceId)
          const current = await findUserState(trx, id)
          if (current === undefined) {
            throw notFound()
          }
          const role = body.role ?? current.role
          if (current.role === 'admin' && role !== 'admin' && (await countAdmins(trx, workspaceId)) <= 1) {
            throw lastAdmin('demoted')
          }
          if (email !== undefined) {
            await requireFreeEmail(trx, workspaceId, email, id)
          }
          // The team rules apply when the role or the teams change, so a rename never trips over older rows.
          if (body.teams !== undefined || body.role !== undefined) {
            const teams = body.teams === undefined ? current.teams : distinctIds(body.teams)
            await requireReferences(trx, workspaceId, 'teams', 'teams', teams)
            await replaceUserTeams(trx, id, await membershipFor(trx, workspaceId, role, teams))
          }
          const { first_name, last_name } = body
          await updateUserRow(trx, id, { first_name, last_name, email, role }, nowIso())
        })
        return getUser(store, principal, id)
      },
    )

    app.delete(
      '/user/:id',
      {
        schema: {
          tags,
          summary: 'Delete a user, their API keys and their places in every resource list',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { principal } = request
        const id = pathId(request.params.id)
        await getUser(store, principal, id)
        requireAdmin(principal, WHAT)
        if (id === principal.userId) {
          throw new ApiError('CONFLICT', 'An admin cannot delete themself; another admin can.')
        }
        await writeDirectory(store, TAKEN, async (trx) => {
          await lockWorkspace(trx, principal.workspaceId)
          const current = await findUserState(trx, id)
          if (current === undefined) {
            throw notFound()
          }
          if (current.role === 'admin' && (await countAdmins(trx, principal.workspaceId)) <= 1) {
            throw lastAdmin('deleted')
          }
          if (!(await deleteUserRow(trx, principal.workspaceId, id))) {
            throw notFound()
          }
        })
        return reply.code(204).send(null)
      },
    )
  }
}
