import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import {
  CommonErrors,
  ErrorSchema,
  IdParamsSchema,
  ListSchema,
  Nullable,
  PageQuerySchema,
  UuidSchema,
} from '../http/schemas.ts'
import type { Principal } from './keys.ts'
import { pathId, requireAdmin, requireReferences, writeDirectory } from './route-guards.ts'
import { deleteTagRow, findTag, insertTagRow, listTags, type Tag, updateTagRow } from './tags.ts'

const tags = ['tags']

const TagSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  color: Nullable(Type.String()),
  integration_id: Nullable(Type.String()),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Writable = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  description: Type.String({ maxLength: 10_000 }),
  color: Nullable(Type.String({ maxLength: 32, description: 'free text, e.g. #4f46e5' })),
  integration_id: Nullable(UuidSchema),
}

const TagCreateSchema = Type.Object({
  name: Writable.name,
  description: Type.Optional(Writable.description),
  color: Type.Optional(Writable.color),
  integration_id: Type.Optional(Writable.integration_id),
})

const TagUpdateSchema = Type.Object({
  name: Type.Optional(Writable.name),
  description: Type.Optional(Writable.description),
  color: Type.Optional(Writable.color),
  integration_id: Type.Optional(Writable.integration_id),
})

const WHAT = 'tags'
const CLASH = 'A concurrent change clashed with this one; try again.'

async function getTag(store: Store, principal: Principal, id: string): Promise<Tag> {
  const found = await findTag(store.db, principal.workspaceId, id)
  if (found === undefined) {
    throw notFound()
  }
  return found
}

export function tagRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/tag',
      {
        schema: {
          tags,
          summary: 'List the tags of the workspace',
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(TagSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listTags(store.db, request.principal.workspaceId, pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/tag',
      {
        schema: {
          tags,
          summary: 'Create a tag',
          body: TagCreateSchema,
          response: { 201: TagSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { principal, body } = request
        requireAdmin(principal, WHAT)
        const id = await writeDirectory(store, CLASH, async (trx) => {
          const integration = body.integration_id?.toLowerCase() ?? null
          if (integration !== null) {
            await requireReferences(trx, principal.workspaceId, 'integration_id', 'integration', integration)
          }
          const values = {
            name: body.name,
            description: body.description ?? '',
            color: body.color ?? null,
            integration_id: integration,
          }
          return insertTagRow(trx, principal.workspaceId, values, nowIso())
        })
        return reply.code(201).send(await getTag(store, principal, id))
      },
    )

    app.get(
      '/tag/:id',
      {
        schema: {
          tags,
          summary: 'Get a tag',
          params: IdParamsSchema,
          response: { 200: TagSchema, ...CommonErrors },
        },
      },
      async (request) => getTag(store, request.principal, pathId(request.params.id)),
    )

    app.patch(
      '/tag/:id',
      {
        schema: {
          tags,
          summary: 'Update a tag',
          params: IdParamsSchema,
          body: TagUpdateSchema,
          response: { 200: TagSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request) => {
        const { principal, body } = request
        const id = pathId(request.params.id)
        await getTag(store, principal, id)
        requireAdmin(principal, WHAT)
        await writeDirectory(store, CLASH, async (trx) => {
          const integration =
            body.integration_id === undefined ? undefined : (body.integration_id?.toLowerCase() ?? null)
          if (integration !== undefined && integration !== null) {
            await requireReferences(trx, principal.workspaceId, 'integration_id', 'integration', integration)
          }
          const { name, description, color } = body
          await updateTagRow(trx, id, { name, description, color, integration_id: integration }, nowIso())
        })
        return getTag(store, principal, id)
      },
    )

    app.delete(
      '/tag/:id',
      {
        schema: {
          tags,
          summary: 'Delete a tag; it leaves every resource that had it',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal } = request
        const id = pathId(request.params.id)
        await getTag(store, principal, id)
        requireAdmin(principal, WHAT)
        await writeDirectory(store, CLASH, async (trx) => {
          if (!(await deleteTagRow(trx, principal.workspaceId, id))) {
            throw notFound()
          }
        })
        return reply.code(204).send(null)
      },
    )
  }
}
