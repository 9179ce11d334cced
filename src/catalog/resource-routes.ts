import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type Static, Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { NotModified, PreconditionFailed, preconditionOf } from '../http/etag.ts'
import { catalogWriters } from '../http/guards.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import { CommonErrors, IdParamsSchema, ListSchema, PageQuerySchema, UuidSchema } from '../http/schemas.ts'
import { isUuid, pathId } from '../http/uuid.ts'
import { bulkUpdateByFilter } from './bulk.ts'
import { ENTITY_TYPES } from './hierarchy.ts'
import { listCatalog } from './list-resources.ts'
import { getResourceWithKey } from './read-by-key.ts'
import { ResourceCreateSchema, ResourceSchema, ResourceUpdateSchema, SearchTermQuery } from './resource-schema.ts'
import { CatalogResultCache } from './result-cache.ts'
import { BULK_ITEMS, bulkUpdate, createResource, deleteResource, updateResource } from './service.ts'

const tags = ['resources']

const CatalogQuerySchema = Type.Object({
  ...PageQuerySchema,
  filter: Type.Optional(
    Type.String({
      description:
        'URL-encoded JSON: {"operator": "exact"|"contains"|"in"|"is_set", "field": ..., "value": ...} or {"operator": "and"|"or"|"not", "operands": [...]}',
    }),
  ),
  sort: Type.Optional(
    Type.String({ description: 'URL-encoded JSON: {"field": ..., "order": "asc"|"desc", "tie_breaker": <sort>|null}' }),
  ),
  teams: Type.Optional(Type.String({ description: 'a team id: only resources of that team' })),
  entity_type: Type.Optional(
    Type.String({ maxLength: 64, description: 'only resources of this type; joined to `filter` by `and`' }),
  ),
  ...SearchTermQuery,
})

const ResultsSchema = Type.Array(ResourceSchema)
const ListOfResources = ListSchema(ResourceSchema)

const CatalogCreateSchema = Type.Object({
  ...ResourceCreateSchema.properties,
  entity_type: Type.String({ enum: ENTITY_TYPES, description: 'the kind of resource to create' }),
})

/** List Resources and the routes that work on one resource of any type (CONTRACT §5). */
export function resourceRoutes(store: Store): FastifyPluginAsyncTypebox {
  const cache = new CatalogResultCache()
  return async (app) => {
    for (const path of ['/resource/catalog', '/resource/all']) {
      app.get(
        path,
        {
          schema: {
            tags,
            summary: 'List Resources',
            hide: path !== '/resource/catalog',
            querystring: CatalogQuerySchema,
            response: { 200: ListSchema(ResourceSchema), ...CommonErrors },
          },
        },
        async (request, reply) => {
          // A client that has gone (a search box typed on, so its search was dropped) is owed nothing: its list
          // is not computed while other requests wait.
          if (request.raw.socket?.destroyed === true) return reply.hijack()
          const pageRequest = parsePageRequest(request.query)
          const { filter, sort, teams, entity_type: entityType, search_term: searchTerm } = request.query
          if (teams !== undefined && !isUuid(teams)) {
            throw fieldError('teams', 'must be a team id (a UUID)')
          }
          const params = {
            filter,
            sort,
            teamId: teams?.toLowerCase(),
            entityType: entityType || undefined,
            searchTerm,
          }
          // A page read again is not serialized again: its results' JSON is kept with it, and the whole answer
          // (whose links follow the request) with the URL that asked for it, in the order of ListSchema.
          const serialize = reply.compileSerializationSchema(ResultsSchema as unknown as Record<string, unknown>)
          const body = await listCatalog(store, cache, request.principal, params, pageRequest, {
            request: `${request.protocol}://${request.host}${request.originalUrl}`,
            dataVersion: request.dataVersion,
            serialize: (resources) => serialize(resources as unknown as Record<string, unknown>),
            envelope: (count, results) => {
              const { links, meta, total_pages } = envelope(request, pageRequest, count, [])
              const head = JSON.stringify({ links, meta, count, total_pages })
              return `${head.slice(0, -1)},"results":${results}}`
            },
          })
          // Bytes with a JSON content type are sent as they are (the typed reply only knows the object form).
          return reply.type('application/json; charset=utf-8').send(body as unknown as Static<typeof ListOfResources>)
        },
      )
    }

    app.post(
      '/resource/catalog',
      {
        config: { allow: catalogWriters },
        schema: {
          tags,
          summary: 'Create a resource of any type',
          body: CatalogCreateSchema,
          response: { 201: ResourceSchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const created = await createResource(store, request.principal, request.body.entity_type, request.body)
        return reply.code(201).send(created)
      },
    )

    app.get(
      '/resource/all/:id',
      {
        config: { keyCheckedByHandler: true, resourceEtag: true },
        schema: {
          tags,
          summary: 'Get a resource of any type',
          params: IdParamsSchema,
          response: { 200: ResourceSchema, ...NotModified, ...CommonErrors },
        },
      },
      async (request) => getResourceWithKey(store, request, request.params.id),
    )

    const BulkItems = Type.Array(Type.Object({ id: UuidSchema, data: ResourceUpdateSchema }), {
      minItems: 1,
      maxItems: BULK_ITEMS,
      description: 'each item is a PATCH of one resource; all are made in one transaction, or none',
    })
    const BulkByFilter = Type.Object({
      filter: Type.Unknown({ description: 'a List Resources filter (CONTRACT §5), as an object or as JSON text' }),
      data: ResourceUpdateSchema,
      dry_run: Type.Optional(Type.Boolean({ description: 'only count and name what the filter picks' })),
    })
    app.post(
      '/resource/all/bulk_update',
      {
        config: { allow: catalogWriters },
        schema: {
          tags,
          summary: 'Update many resources in one transaction: by id, or every resource a filter picks',
          body: Type.Union([BulkItems, BulkByFilter]),
          response: {
            200: Type.Union([
              Type.Array(ResourceSchema),
              Type.Object({ count: Type.Integer(), ids: Type.Array(Type.String()), dry_run: Type.Boolean() }),
            ]),
            ...CommonErrors,
          },
        },
      },
      async (request) => {
        const body = request.body
        if (Array.isArray(body)) return bulkUpdate(store, request.principal, body)
        return bulkUpdateByFilter(store, request.principal, body.filter, body.data, body.dry_run ?? false)
      },
    )

    app.patch(
      '/resource/all/:id',
      {
        config: { resourceEtag: true },
        schema: {
          tags,
          summary: 'Update a resource of any type',
          params: IdParamsSchema,
          body: ResourceUpdateSchema,
          response: { 200: ResourceSchema, ...CommonErrors, ...PreconditionFailed },
        },
      },
      async (request, reply) =>
        updateResource(
          store,
          request.principal,
          undefined,
          pathId(request.params.id),
          request.body,
          preconditionOf(request, reply, ResourceSchema),
        ),
    )

    app.delete(
      '/resource/all/:id',
      {
        schema: {
          tags,
          summary: 'Delete a resource of any type and everything under it',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors, ...PreconditionFailed },
        },
      },
      async (request, reply) => {
        await deleteResource(
          store,
          request.principal,
          undefined,
          pathId(request.params.id),
          preconditionOf(request, reply, ResourceSchema),
        )
        return reply.code(204).send(null)
      },
    )
  }
}
