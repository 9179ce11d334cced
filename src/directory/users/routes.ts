import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import type { Role } from '../../access/principal.ts'
import type { DB, Store } from '../../db/types.ts'
import { nowIso } from '../../db/values.ts'
import { ApiError, fieldError, notFound } from '../../errors.ts'
import { collectionRoutes } from '../../http/collection.ts'
import { distinctIds, requireReferences } from '../references.ts'
import { findDefaultTeamId } from '../teams/repository.ts'
import { lockWorkspace } from '../workspaces/repository.ts'
import {
  addGroupMembers,
  countAdmins,
  deleteUserRow,
  findUser,
  findUserIdByEmail,
  findUserState,
  insertUser,
  listUsers,
  replaceUserTeams,
  updateUserRow,
} from './repository.ts'
import { UserCreateSchema, UserSchema, UserUpdateSchema } from './schema.ts'

const DEFAULT_ROLE: Role = 'viewer'
// The shape ajv-formats accepts as `email`, with a message of docent's own.
const EMAIL =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i

function normalEmail(email: string, field = 'email'): string {
  if (!EMAIL.test(email)) {
    throw fieldError(field, 'must be an email address such as ada@example.com')
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

function requireEmail(email: string | undefined): string {
  if (email === undefined) throw fieldError('email', 'is required (or emails, a list, to make several users)')
  return email
}

function lastAdmin(action: string): ApiError {
  return new ApiError(
    'CONFLICT',
    `This is the last admin of the workspace and cannot be ${action}; make another user an admin first.`,
  )
}

export function userRoutes(store: Store): FastifyPluginAsyncTypebox {
  return collectionRoutes(store, {
    path: '/user',
    plural: 'users',
    clash: 'Another user of this workspace already has this email.',
    schemas: {
      item: UserSchema,
      create: UserCreateSchema,
      update: UserUpdateSchema,
      created: Type.Union([UserSchema, Type.Array(UserSchema)]),
    },
    summaries: {
      list: 'List the users of the workspace',
      create: 'Create a user, or several with `emails`',
      get: 'Get a user',
      update: 'Update a user; teams replaces their team membership',
      delete: 'Delete a user, their API keys and their places in every resource list',
    },
    find: (db, principal, id) => findUser(db, principal.workspaceId, principal, id),
    list: (db, principal, page) => listUsers(db, principal.workspaceId, principal, page),
    create: async (trx, principal, body) => {
      const { workspaceId } = principal
      const bulk = body.emails !== undefined
      if (bulk && body.email !== undefined) {
        throw fieldError('emails', 'send either email (one user) or emails (several), not both')
      }
      const emails = bulk
        ? (body.emails as string[]).map((email, i) => normalEmail(email, `emails[${i}]`))
        : [normalEmail(requireEmail(body.email))]
      emails.forEach((email, i) => {
        if (emails.indexOf(email) !== i) throw fieldError(`emails[${i}]`, `repeats ${email}`)
      })
      const role = body.role ?? DEFAULT_ROLE
      const teams = distinctIds(body.teams ?? [])
      const groups = distinctIds(body.groups ?? [])
      await requireReferences(trx, workspaceId, 'teams', 'teams', teams)
      await requireReferences(trx, workspaceId, 'groups', 'owners_groups', groups)
      const teamIds = await membershipFor(trx, workspaceId, role, teams)
      const ids: string[] = []
      for (const email of emails) {
        await requireFreeEmail(trx, workspaceId, email)
        const firstName = bulk ? '' : (body.first_name ?? '')
        const lastName = bulk ? '' : (body.last_name ?? '')
        ids.push(await insertUser(trx, { workspaceId, email, role, firstName, lastName, teamIds }))
      }
      await addGroupMembers(trx, groups, ids)
      return bulk ? ids : (ids[0] as string)
    },
    update: async (trx, principal, id, body) => {
      const email = body.email === undefined ? undefined : normalEmail(body.email)
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
    },
    refuseDelete: (user, principal) => {
      if (user.id === principal.userId) {
        throw new ApiError('CONFLICT', 'An admin cannot delete themself; another admin can.')
      }
    },
    remove: async (trx, principal, id) => {
      await lockWorkspace(trx, principal.workspaceId)
      const current = await findUserState(trx, id)
      if (current === undefined) {
        return false
      }
      if (current.role === 'admin' && (await countAdmins(trx, principal.workspaceId)) <= 1) {
        throw lastAdmin('deleted')
      }
      return deleteUserRow(trx, principal.workspaceId, id)
    },
  })
}
