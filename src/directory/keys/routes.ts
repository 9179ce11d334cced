import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyScope, requireKeyCreation } from '../../access/rules.ts'
import type { Store } from '../../db/types.ts'
import { fieldError, notFound } from '../../errors.ts'
import { envelope, parsePageRequest } from '../../http/pagination.ts'
import { CommonErrors, IdParamsSchema, ListSchema, PageQuerySchema } from '../../http/schemas.ts'
import { isUuid } from '../../http/uuid.ts'
import { createApiKey, listApiKeys, revokeApiKey } from './repository.ts'
import { KeyCreateSchema, KeySchema, NewKeySchema } from './schema.ts'

const tags = ['api keys']

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
        requireKeyCreation(principal, userId)
        const description = body.description ?? ''
        const made = await store.write(
          (trx) => createApiKey(trx, { workspaceId: principal.workspaceId, userId, description }),
          { noteChange: false },
        )
        if (made === undefined) {
          throw fieldError('user', `refers to ${userId}, which is not a user of this workspace`)
        }
        const { id, key, createdAt } = made
        return reply.code(201).send({ id, key, user: userId, description, created_at: createdAt, last_used_at: null })
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
        const scope = keyScope(request.principal)
        const revoked =
          isUuid(id) && (await store.write((trx) => revokeApiKey(trx, scope, id.toLowerCase()), { noteChange: false }))
        if (!revoked) {
          throw notFound()
        }
        return reply.code(204).send(null)
      },
    )
  }
}
