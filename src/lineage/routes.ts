import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ResourceSchema } from '../catalog/resource-schema.ts'
import type { Store } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { catalogWriters } from '../http/guards.ts'
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
import { isUuid, pathId } from '../http/uuid.ts'
import { lineageFromQuery } from './from-query.ts'
import { createEdge, getEdge, lineageGraph, listEdgesFor, MAX_DEPTH, removeEdge } from './service.ts'
import { DIALECTS, MAX_SQL_LENGTH } from './sql-reads.ts'

const tags = ['lineage']
const Directions = Type.Union([Type.Literal('UPSTREAM'), Type.Literal('DOWNSTREAM')])

const EdgeSchema = Type.Object(
  {
    id: Type.String(),
    created_at: Type.String(),
    updated_at: Type.String(),
    from_entity: Type.String(),
    to_entity: Type.String(),
    direction: Directions,
    workspace_id: Type.String(),
    is_manual: Type.Boolean(),
  },
  { description: 'A lineage edge (CONTRACT §11): DOWNSTREAM means to_entity is fed by from_entity' },
)

const EdgeCreateSchema = Type.Object({
  from_entity: UuidSchema,
  to_entity: UuidSchema,
  direction: Type.Optional(
    Type.Union([Type.Literal('UPSTREAM'), Type.Literal('DOWNSTREAM')], {
      description: 'DOWNSTREAM (the default): from_entity feeds to_entity; UPSTREAM: to_entity feeds from_entity',
    }),
  ),
  is_manual: Type.Optional(Type.Unknown({ description: 'ignored: an edge made here is always manual' })),
})

const ids = { description: 'a resource id' }
const EdgeQuerySchema = Type.Object({
  ...PageQuerySchema,
  from_entity: Type.Optional(
    Type.String({ ...ids, description: 'edges with this resource at either end, drawn from it' }),
  ),
  to_entity: Type.Optional(Type.String({ ...ids, description: 'edges with this resource at either end, drawn to it' })),
  from_entity_id: Type.Optional(Type.String({ description: 'the same as from_entity' })),
  to_entity_id: Type.Optional(Type.String({ description: 'the same as to_entity' })),
  from_entity__in: Type.Optional(Type.String({ description: 'comma-separated resource ids' })),
  to_entity__in: Type.Optional(Type.String({ description: 'comma-separated resource ids' })),
  integration_type: Type.Optional(Type.String({ description: 'edges with an end in an integration of this type' })),
  is_manual: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
})

const GraphQuerySchema = Type.Object({
  direction: Type.Optional(
    Type.Union([Type.Literal('upstream'), Type.Literal('downstream'), Type.Literal('both')], {
      description: 'upstream: what feeds it; downstream: what it feeds; both (the default)',
    }),
  ),
  depth: Type.Optional(Type.String({ description: `hops, 1 to ${MAX_DEPTH} (default 3)` })),
})

const GraphSchema = Type.Object({
  nodes: Type.Array(ResourceSchema),
  edges: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), is_manual: Type.Boolean() })),
  truncated: Type.Boolean(),
})

const FromQueryFields = {
  sql: Type.String({ maxLength: MAX_SQL_LENGTH, description: 'the SQL statement' }),
  dialect: Type.Optional(
    Type.String({ description: `its dialect (default postgresql): ${Object.keys(DIALECTS).join(', ')}` }),
  ),
  database: Type.Optional(Type.String({ description: 'the database an unqualified table name is looked for in' })),
  schema: Type.Optional(Type.String({ description: 'the schema an unqualified table name is looked for in' })),
  integration: Type.Optional(UuidSchema),
}
const FromQueryAnswer = Type.Object({
  sql: Type.String(),
  source_tables: Type.Array(
    Type.Object({
      id: Nullable(Type.String()),
      title: Type.String(),
      schema_name: Nullable(Type.String()),
      database_name: Nullable(Type.String()),
      native_type: Nullable(Type.String()),
      integration_id: Nullable(Type.String()),
    }),
  ),
  column_lineages: Type.Array(
    Type.Object({
      id: Nullable(Type.String()),
      table: Nullable(Type.String()),
      column: Type.String(),
      table_id: Nullable(Type.String()),
    }),
  ),
})

/** The ids a filter names: one, or a comma-separated list (at most 1,000), each a UUID (400 naming the field). */
function idsOf(field: string, text: string | undefined, many: boolean): string[] | undefined {
  if (text === undefined || text === '') return undefined
  const parts = many ? text.split(',').map((part) => part.trim()) : [text]
  if (parts.length > 1000) throw fieldError(field, 'takes at most 1,000 ids')
  for (const part of parts) {
    if (!isUuid(part))
      throw fieldError(
        field,
        `must be ${many ? 'comma-separated resource ids' : 'a resource id'} (UUIDs), not "${part.slice(0, 40)}"`,
      )
  }
  return parts.map((part) => part.toLowerCase())
}

function union(...lists: (string[] | undefined)[]): string[] | undefined {
  const given = lists.filter((list) => list !== undefined)
  return given.length === 0 ? undefined : [...new Set(given.flat())]
}

/** CONTRACT §11: manual lineage, and the lineage graph of a resource. */
export function lineageRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/lineage/manual',
      {
        config: { allow: catalogWriters },
        schema: {
          tags,
          summary: 'Draw a lineage edge between two resources',
          body: EdgeCreateSchema,
          response: { 201: EdgeSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request, reply) => reply.code(201).send(await createEdge(store, request.principal, request.body)),
    )

    app.get(
      '/lineage/manual',
      {
        schema: {
          tags,
          summary: 'List lineage edges (drawn by hand and found by extraction)',
          querystring: EdgeQuerySchema,
          response: { 200: ListSchema(EdgeSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const q = request.query
        const page = parsePageRequest(q)
        const filter = {
          from: union(
            idsOf('from_entity', q.from_entity, false),
            idsOf('from_entity_id', q.from_entity_id, false),
            idsOf('from_entity__in', q.from_entity__in, true),
          ),
          to: union(
            idsOf('to_entity', q.to_entity, false),
            idsOf('to_entity_id', q.to_entity_id, false),
            idsOf('to_entity__in', q.to_entity__in, true),
          ),
          isManual: q.is_manual === undefined ? undefined : q.is_manual === 'true',
          integrationType: q.integration_type || undefined,
        }
        const { count, results } = await listEdgesFor(store, request.principal, filter, page)
        return envelope(request, page, count, results)
      },
    )

    app.get(
      '/lineage/manual/:id',
      {
        schema: {
          tags,
          summary: 'Get a lineage edge',
          params: IdParamsSchema,
          response: { 200: EdgeSchema, ...CommonErrors },
        },
      },
      async (request) => getEdge(store, request.principal, pathId(request.params.id)),
    )

    app.delete(
      '/lineage/manual/:id',
      {
        schema: {
          tags,
          summary: 'Delete a lineage edge drawn by hand',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        await removeEdge(store, request.principal, pathId(request.params.id))
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/lineage/lineage_from_query',
      {
        schema: {
          tags,
          summary: 'The tables and columns a SQL statement reads, matched to the catalog',
          querystring: Type.Object(FromQueryFields),
          response: { 200: FromQueryAnswer, ...CommonErrors },
        },
      },
      async (request) => lineageFromQuery(store, request.principal, request.query),
    )
    app.post(
      '/lineage/lineage_from_query',
      {
        schema: {
          tags,
          summary: 'The same, with the statement in a JSON body (for statements too long for a URL)',
          body: Type.Object(FromQueryFields),
          response: { 200: FromQueryAnswer, ...CommonErrors },
        },
      },
      async (request) => lineageFromQuery(store, request.principal, request.body),
    )

    app.get(
      '/lineage/graph/:id',
      {
        schema: {
          tags,
          summary: 'The lineage of a resource: what feeds it and what it feeds, a few hops each way',
          params: IdParamsSchema,
          querystring: GraphQuerySchema,
          response: { 200: GraphSchema, ...CommonErrors },
        },
      },
      async (request) => {
        const depthText = request.query.depth ?? '3'
        const depth = /^[0-9]{1,2}$/.test(depthText) ? Number(depthText) : 0
        if (depth < 1 || depth > MAX_DEPTH) throw fieldError('depth', `must be a whole number from 1 to ${MAX_DEPTH}`)
        const id = pathId(request.params.id)
        return lineageGraph(store, request.principal, id, request.query.direction ?? 'both', depth)
      },
    )
  }
}
