import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { isAdmin } from '../access/visibility.ts'
import type { Store } from '../db/types.ts'
import { toIso } from '../db/values.ts'
import { ApiError, fieldError, notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import { CommonErrors, IdParamsSchema, ListSchema, Nullable, PageQuerySchema, UuidSchema } from '../http/schemas.ts'
import { isUuid } from '../http/uuid.ts'
import { generateApiKey, insertApiKey, listApiKeys, type Principal, revokeApiKey } from './keys.ts'

const tags = ['api keys']

const KeySchema = Type.Object({
  id: Type.String(),
  user: Type.String(),
  description: Type.String(),
  created_at: Type.String(),
  last_used_at: Nullable(Type.String()),
})

const NewKeySchema = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'the key itself: shown here once and never again' }),
  user: Type.String(),
  description: Type.String(),
  created_at: Type.String(),
  last_used_at: Nullable(Type.String()),
})

const KeyCreateSchema = Type.Object({
  user: Type.Optional(UuidSchema),
  description: Type.Optional(Type.String({ maxLength: 255 })),
})

/** Admins see and revoke every key of the workspace; everyone else only their own. */
function keyScope(principal: Principal) {
  return { workspaceId: principal.workspaceId, userId: isAdmin(principal) ? undefined : principal.userId }
}

export function keyRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/api_keys',
      {
        schema: {
          tags,
          summary: 'List API keys (without their values)',
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(KeySchema), ...CommonErrors },
        },
      },
      async (request) => {
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listApiKeys(store.db, keyScope(request.principal), pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/auth/api_keys',
      {
        schema: {
          tags,
          summary: 'Create an API key; the answer is the only time the key is shown',
          body: KeyCreateSchema,
          response: { 201: NewKeySchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal, body } = request
        const userId = body.user?.toLowerCase() ?? principal.userId
        if (principal.role === 'viewer' || principal.role === 'guest') {
          throw new ApiError('PERMISSION_DENIED', 'Viewers and guests cannot create API keys.')
        }
        if (!isAdmin(principal) && userId !== principal.userId) {
          throw new ApiError('PERMISSION_DENIED', 'Only an admin may create API keys for other users.')
        }
        const user = await store.db
          .selectFrom('users')
          .select('id')
          .where('id', '=', userId)
          .where('workspace_id', '=', principal.workspaceId)
          .executeTakeFirst()
        if (user === undefined) {
          throw fieldError('user', `refers to ${userId}, which is not a user of this workspace`)
        }
        const key = generateApiKey()
        const description = body.description ?? ''
        const id = await insertApiKey(store.db, { workspaceId: principal.workspaceId, userId, key, description })
        const created = await store.db
          .selectFrom('api_keys')
          .select(['created_at'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
        return reply
          .code(201)
          .send({ id, key, user: userId, description, created_at: toIso(created.created_at), last_used_at: null })
      },
    )

    app.delete(
      '/auth/api_keys/:id',
      {
        schema: {
          tags,
          summary: 'Revoke an API key at once',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        const id = request.params.id
        if (!isUuid(id) || !(await revokeApiKey(store.db, keyScope(request.principal), id.toLowerCase()))) {
          throw notFound()
        }
        return reply.code(204).send(null)
      },
    )
  }
}
