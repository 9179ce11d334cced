import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { fieldError, notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import { CommonErrors, IdParamsSchema, ListSchema, PageQuerySchema } from '../http/schemas.ts'
import { isUuid } from '../http/uuid.ts'
import { ResourceCreateSchema, ResourceSchema, ResourceUpdateSchema } from './resource-schema.ts'
import { createResource, deleteResource, getResource, listResources, updateResource } from './service.ts'

const DATABASE = 'database'
const tags = ['databases']
const SUCCESSOR = '</api/v1/resource/catalog>; rel="successor-version"'

const ListQuerySchema = Type.Object({
  ...PageQuerySchema,
  integration_id: Type.Optional(Type.String({ description: 'only databases of this integration' })),
  title: Type.Optional(Type.String({ description: 'only databases with exactly this title' })),
})

function resourceId(id: string): string {
  if (!isUuid(id)) {
    throw notFound()
  }
  return id.toLowerCase()
}

export function databaseRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/database/databases',
      {
        schema: {
          tags,
          summary: 'List databases',
          description: 'Deprecated: use List Resources with a filter on type database.',
          deprecated: true,
          querystring: ListQuerySchema,
          response: { 200: ListSchema(ResourceSchema), ...CommonErrors },
        },
      },
      async (request, reply) => {
        const pageRequest = parsePageRequest(request.query)
        const { integration_id: integrationId, title } = request.query
        if (integrationId !== undefined && !isUuid(integrationId)) {
          throw fieldError('integration_id', 'must be a UUID such as 3b2c7185-fb5d-4d94-89d4-3dae08e093a9')
        }
        const { count, results } = await listResources(
          store,
          request.principal,
          { entityType: DATABASE, integrationId: integrationId?.toLowerCase(), title },
          pageRequest,
        )
        reply.header('Deprecation', 'true').header('Link', SUCCESSOR)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/database/databases',
      {
        schema: {
          tags,
          summary: 'Create a database',
          body: ResourceCreateSchema,
          response: { 201: ResourceSchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const database = await createResource(store, request.principal, DATABASE, request.body)
        return reply.code(201).send(database)
      },
    )

    app.get(
      '/database/databases/:id',
      {
        schema: {
          tags,
          summary: 'Get a database',
          description: 'Deprecated: use List Resources with a filter on id.',
          deprecated: true,
          params: IdParamsSchema,
          response: { 200: ResourceSchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const database = await getResource(store, request.principal, resourceId(request.params.id), DATABASE)
        reply.header('Deprecation', 'true').header('Link', SUCCESSOR)
        return database
      },
    )

    app.patch(
      '/database/databases/:id',
      {
        schema: {
          tags,
          summary: 'Update a database',
          params: IdParamsSchema,
          body: ResourceUpdateSchema,
          response: { 200: ResourceSchema, ...CommonErrors },
        },
      },
      async (request) =>
        updateResource(store, request.principal, DATABASE, resourceId(request.params.id), request.body),
    )

    app.delete(
      '/database/databases/:id',
      {
        schema: {
          tags,
          summary: 'Delete a database and everything under it',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        await deleteResource(store, request.principal, DATABASE, resourceId(request.params.id))
        return reply.code(204).send(null)
      },
    )
  }
}
