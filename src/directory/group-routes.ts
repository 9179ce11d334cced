import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import {
  CommonErrors,
  ErrorSchema,
  IdListSchema,
  IdParamsSchema,
  ListSchema,
  Nullable,
  PageQuerySchema,
} from '../http/schemas.ts'
import {
  deleteGroupRow,
  findGroup,
  type Group,
  insertGroupRow,
  listGroups,
  replaceGroupUsers,
  updateGroupRow,
} from './groups.ts'
import type { Principal } from './keys.ts'
import { distinctIds, pathId, requireAdmin, requireReferences, writeDirectory } from './route-guards.ts'

const tags = ['groups']

const GroupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  icon: Nullable(Type.String()),
  description: Type.String(),
  users: Type.Array(Type.String()),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Writable = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  icon: Nullable(Type.String({ maxLength: 2048 })),
  description: Type.String({ maxLength: 10_000 }),
  users: IdListSchema,
}

const GroupCreateSchema = Type.Object({
  name: Writable.name,
  icon: Type.Optional(Writable.icon),
  description: Type.Optional(Writable.description),
  users: Type.Optional(Writable.users),
})

const GroupUpdateSchema = Type.Object({
  name: Type.Optional(Writable.name),
  icon: Type.Optional(Writable.icon),
  description: Type.Optional(Writable.description),
  users: Type.Optional(Writable.users),
})

const WHAT = 'groups'
const CLASH = 'A concurrent change clashed with this one; try again.'

async function getGroup(store: Store, principal: Principal, id: string): Promise<Group> {
  const found = await findGroup(store.db, principal.workspaceId, id)
  if (found === undefined) {
    throw notFound()
  }
  return found
}

export function groupRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/group',
      {
        schema: {
          tags,
          summary: 'List the groups of the workspace',
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(GroupSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listGroups(store.db, request.principal.workspaceId, pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/auth/group',
      {
        schema: {
          tags,
          summary: 'Create a group',
          body: GroupCreateSchema,
          response: { 201: GroupSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { principal, body } = request
        requireAdmin(principal, WHAT)
        const id = await writeDirectory(store, CLASH, async (trx) => {
          const users = distinctIds(body.users ?? [])
          await requireReferences(trx, principal.workspaceId, 'users', 'owners', users)
          const values = { name: body.name, icon: body.icon ?? null, description: body.description ?? '' }
          const id = await insertGroupRow(trx, principal.workspaceId, values, nowIso())
          await replaceGroupUsers(trx, id, users)
          return id
        })
        return reply.code(201).send(await getGroup(store, principal, id))
      },
    )

    app.get(
      '/auth/group/:id',
      {
        schema: {
          tags,
          summary: 'Get a group',
          params: IdParamsSchema,
          response: { 200: GroupSchema, ...CommonErrors },
        },
      },
      async (request) => getGroup(store, request.principal, pathId(request.params.id)),
    )

    app.patch(
      '/auth/group/:id',
      {
        schema: {
          tags,
          summary: 'Update a group; users replaces its members',
          params: IdParamsSchema,
          body: GroupUpdateSchema,
          response: { 200: GroupSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request) => {
        const { principal, body } = request
        const id = pathId(request.params.id)
        await getGroup(store, principal, id)
        requireAdmin(principal, WHAT)
        await writeDirectory(store, CLASH, async (trx) => {
          if (body.users !== undefined) {
            const users = distinctIds(body.users)
            await requireReferences(trx, principal.workspaceId, 'users', 'owners', users)
            await replaceGroupUsers(trx, id, users)
          }
          const { name, icon, description } = body
          await updateGroupRow(trx, id, { name, icon, description }, nowIso())
        })
        return getGroup(store, principal, id)
      },
    )

    app.delete(
      '/auth/group/:id',
      {
        schema: {
          tags,
          summary: 'Delete a group; it leaves every resource that named it',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal } = request
        const id = pathId(request.params.id)
        await getGroup(store, principal, id)
        requireAdmin(principal, WHAT)
        await writeDirectory(store, CLASH, async (trx) => {
          if (!(await deleteGroupRow(trx, principal.workspaceId, id))) {
            throw notFound()
          }
        })
        return reply.code(204).send(null)
      },
    )
  }
}
