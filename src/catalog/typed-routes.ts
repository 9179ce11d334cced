import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { NotModified, PreconditionFailed, preconditionOf } from '../http/etag.ts'
import { catalogWriters } from '../http/guards.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import { CommonErrors, IdParamsSchema, ListSchema, PageQuerySchema } from '../http/schemas.ts'
import { isUuid, pathId } from '../http/uuid.ts'
import { QUESTION_STATUSES } from './fields.ts'
import { getResourceWithKey } from './read-by-key.ts'
import { ResourceCreateSchema, ResourceSchema, ResourceUpdateSchema, SearchTermQuery } from './resource-schema.ts'
import { createResource, deleteResource, listResources, updateResource } from './service.ts'

const SUCCESSOR = '</api/v1/resource/catalog>; rel="successor-version"'

function uuidFilter(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && !isUuid(value)) {
    throw fieldError(name, 'must be a UUID such as 3b2c7185-fb5d-4d94-89d4-3dae08e093a9')
  }
  return value?.toLowerCase()
}

export interface TypedRoutesOptions {
  /** e.g. `/database/databases` */
  path: string
  /** More paths for the same routes, e.g. `/table/column`. */
  aliases?: string[]
  entityType: string
  /** For the OpenAPI document: "a database", "databases". */
  noun: string
  nouns: string
  /** Lists also filter on `parent_id`. */
  parentFilter: boolean
  /** Lists also filter on `question` (the parent question's id): replies (CONTRACT §9). */
  questionFilter?: true
  /** Lists also filter on `question_status` and `question_assigned_to`: questions (CONTRACT §9). */
  questionFields?: true
  /** The reference marks list and get as deprecated in favour of List Resources. */
  deprecated: boolean
}

/** The five routes of one entity type, shaped like the Databases routes of CONTRACT §4. */
export function typedRoutes(store: Store, options: TypedRoutesOptions): FastifyPluginAsyncTypebox {
  const { entityType, noun, nouns, deprecated } = options
  const tags = [nouns]
  const ListQuerySchema = Type.Object({
    ...PageQuerySchema,
    integration_id: Type.Optional(Type.String({ description: `only ${nouns} of this integration` })),
    ...(options.parentFilter
      ? { parent_id: Type.Optional(Type.String({ description: `only ${nouns} directly under this parent` })) }
      : {}),
    title: Type.Optional(Type.String({ description: `only ${nouns} with exactly this title` })),
    ...(options.questionFilter
      ? { question: Type.Optional(Type.String({ description: 'only the replies to this question (its id)' })) }
      : {}),
    ...(options.questionFields
      ? {
          question_status: Type.Optional(
            Type.Union(
              QUESTION_STATUSES.map((status) => Type.Literal(status)),
              {
                description: 'only questions with this status',
              },
            ),
          ),
          question_assigned_to: Type.Optional(
            Type.String({ description: 'only questions assigned to this user (their id)' }),
          ),
        }
      : {}),
    ...SearchTermQuery,
  })
  const deprecation = (reply: FastifyReply) => {
    if (deprecated) {
      reply.header('Deprecation', 'true').header('Link', SUCCESSOR)
    }
  }
  return async (app) => {
    for (const base of [options.path, ...(options.aliases ?? [])]) {
      const hide = base !== options.path
      app.get(
        base,
        {
          schema: {
            hide,
            tags,
            summary: `List ${nouns}`,
            ...(deprecated ? { description: `Deprecated: use List Resources, filtered on type ${entityType}.` } : {}),
            deprecated,
            querystring: ListQuerySchema,
            response: { 200: ListSchema(ResourceSchema), ...CommonErrors },
          },
        },
        async (request, reply) => {
          const pageRequest = parsePageRequest(request.query)
          const query = request.query as {
            integration_id?: string
            parent_id?: string
            question?: string
            title?: string
            question_status?: string
            question_assigned_to?: string
            search_term?: string
          }
          const parentId = uuidFilter('parent_id', query.parent_id)
          const questionId = uuidFilter('question', query.question)
          if (parentId !== undefined && questionId !== undefined && parentId !== questionId) {
            throw fieldError('question', 'names another question than parent_id: give one of them')
          }
          const filter = {
            entityType,
            integrationId: uuidFilter('integration_id', query.integration_id),
            parentId: parentId ?? questionId,
            title: query.title,
            questionStatus: query.question_status,
            questionAssignedTo: uuidFilter('question_assigned_to', query.question_assigned_to),
            searchTerm: query.search_term,
          }
          const { count, results } = await listResources(store, request.principal, filter, pageRequest)
          deprecation(reply)
          return envelope(request, pageRequest, count, results)
        },
      )

      app.post(
        base,
        {
          config: { allow: catalogWriters },
          schema: {
            hide,
            tags,
            summary: `Create ${noun}`,
            body: ResourceCreateSchema,
            response: { 201: ResourceSchema, ...CommonErrors },
          },
        },
        async (request, reply) => {
          const created = await createResource(store, request.principal, entityType, request.body)
          return reply.code(201).send(created)
        },
      )

      app.get(
        `${base}/:id`,
        {
          config: { keyCheckedByHandler: true, resourceEtag: true },
          schema: {
            hide,
            tags,
            summary: `Get ${noun}`,
            ...(deprecated ? { description: 'Deprecated: use List Resources, filtered on id.' } : {}),
            deprecated,
            params: IdParamsSchema,
            response: { 200: ResourceSchema, ...NotModified, ...CommonErrors },
          },
        },
        async (request, reply) => {
          const found = await getResourceWithKey(store, request, request.params.id, entityType)
          deprecation(reply)
          return found
        },
      )

      app.patch(
        `${base}/:id`,
        {
          config: { resourceEtag: true },
          schema: {
            hide,
            tags,
            summary: `Update ${noun}`,
            params: IdParamsSchema,
            body: ResourceUpdateSchema,
            response: { 200: ResourceSchema, ...CommonErrors, ...PreconditionFailed },
          },
        },
        async (request, reply) =>
          updateResource(
            store,
            request.principal,
            entityType,
            pathId(request.params.id),
            request.body,
            preconditionOf(request, reply, ResourceSchema),
          ),
      )

      app.delete(
        `${base}/:id`,
        {
          schema: {
            hide,
            tags,
            summary: `Delete ${noun} and everything under it`,
            params: IdParamsSchema,
            response: { 204: Type.Null(), ...CommonErrors, ...PreconditionFailed },
          },
        },
        async (request, reply) => {
          await deleteResource(
            store,
            request.principal,
            entityType,
            pathId(request.params.id),
            preconditionOf(request, reply, ResourceSchema),
          )
          return reply.code(204).send(null)
        },
      )
    }
  }
}

/** The typed routes of CONTRACT §4 and §6. */
export function catalogTypedRoutes(store: Store): FastifyPluginAsyncTypebox {
  const all: TypedRoutesOptions[] = [
    {
      path: '/database/databases',
      entityType: 'database',
      noun: 'a database',
      nouns: 'databases',
      parentFilter: false,
      deprecated: true,
    },
    {
      path: '/database/schemas',
      entityType: 'schema',
      noun: 'a schema',
      nouns: 'schemas',
      parentFilter: true,
      deprecated: true,
    },
    {
      path: '/table/tables',
      entityType: 'table',
      noun: 'a table',
      nouns: 'tables',
      parentFilter: true,
      deprecated: true,
    },
    {
      path: '/table/columns',
      aliases: ['/table/column'],
      entityType: 'column',
      noun: 'a column',
      nouns: 'columns',
      parentFilter: true,
      deprecated: true,
    },
    {
      path: '/collection/collections',
      entityType: 'collection',
      noun: 'a collection',
      nouns: 'collections',
      parentFilter: true,
      deprecated: true,
    },
    // CONTRACT §9: the knowledge resources.
    {
      path: '/dictionary/terms',
      entityType: 'glossary',
      noun: 'a glossary term',
      nouns: 'glossary terms',
      parentFilter: true,
      deprecated: false,
    },
    {
      path: '/document/documents',
      aliases: ['/document'],
      entityType: 'document',
      noun: 'a document',
      nouns: 'documents',
      parentFilter: true,
      deprecated: false,
    },
    {
      path: '/question/questions',
      entityType: 'question',
      noun: 'a question',
      nouns: 'questions',
      parentFilter: false,
      questionFields: true,
      deprecated: false,
    },
    {
      path: '/question/replies',
      entityType: 'question_reply',
      noun: 'a reply to a question',
      nouns: 'replies',
      parentFilter: true,
      questionFilter: true,
      deprecated: false,
    },
    {
      path: '/dashboard/dashboards',
      entityType: 'dashboard',
      noun: 'a dashboard',
      nouns: 'dashboards',
      parentFilter: true,
      deprecated: false,
    },
    {
      path: '/dashboard/charts',
      entityType: 'chart',
      noun: 'a chart',
      nouns: 'charts',
      parentFilter: true,
      deprecated: false,
    },
  ]
  return async (app) => {
    for (const options of all) {
      await app.register(typedRoutes(store, options))
    }
  }
}
