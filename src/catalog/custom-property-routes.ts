import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/types.ts'
import { adminsOnly } from '../http/guards.ts'
import { CommonErrors, ErrorSchema, IdParamsSchema, Nullable, UuidSchema } from '../http/schemas.ts'
import { isUuid, pathId } from '../http/uuid.ts'
import {
  changeDefinition,
  createDefinition,
  getDefinition,
  listDefinitionsFor,
  MAX_OPTIONS,
  propertyNotFound,
  removeDefinition,
} from './custom-properties.ts'
import { ENTITY_TYPES } from './hierarchy.ts'
import { VALUE_TYPES } from './repository/custom-values.ts'
import { setCustomValue } from './service.ts'

const tags = ['custom properties']
const PATH = '/resource/all_v2/custom_properties'

const DefinitionSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    entity_types: Type.Array(Type.String()),
    value_type: Type.String({ enum: [...VALUE_TYPES] }),
    integration: Nullable(Type.Object({ id: Type.String(), name: Type.String(), type: Type.String() })),
    options: Type.Array(Type.Object({ id: Type.String(), name: Type.String() }), {
      description: 'the choices of a select property (empty for other types)',
    }),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { description: 'A custom property definition (CONTRACT §10)' },
)

const Name = Type.String({ minLength: 1, maxLength: 255 })
const EntityTypes = Type.Union([Type.Literal('all'), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })], {
  description: `the entity types it applies to: [] or "all" for every type, or some of ${ENTITY_TYPES.join(', ')}`,
})
const Options = Type.Array(Type.Union([Name, Type.Object({ id: Type.Optional(UuidSchema), name: Name })]), {
  maxItems: MAX_OPTIONS,
  description:
    'a select property\'s choices, in order: a name, or {"id", "name"} to keep (or rename) an existing option; an option left out is removed with the values that chose it',
})
const DefinitionFields = {
  entity_types: Type.Optional(EntityTypes),
  value_type: Type.Optional(Type.String({ enum: [...VALUE_TYPES], description: 'default "string"' })),
  integration: Type.Optional(Nullable(Type.String({ description: 'an integration id, or null' }))),
  options: Type.Optional(Options),
}
const CreateSchema = Type.Object({ name: Name, ...DefinitionFields })
const UpdateSchema = Type.Object({ name: Type.Optional(Name), ...DefinitionFields })
const ValueParams = Type.Object({ id: Type.String(), entity_id: Type.String() })
const ValueBody = Type.Object(
  { value: Type.Unknown({ description: "a value of the property's type; null clears it" }) },
  { required: ['value'] },
)

/** CONTRACT §10: custom property definitions (admins write them) and the value of one on one resource. */
export function customPropertyRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      PATH,
      {
        schema: {
          tags,
          summary: 'List custom properties (a bare array, by name)',
          response: { 200: Type.Array(DefinitionSchema), ...CommonErrors },
        },
      },
      async (request) => listDefinitionsFor(store, request.principal),
    )

    app.post(
      PATH,
      {
        config: { allow: adminsOnly('custom properties') },
        schema: {
          tags,
          summary: 'Create a custom property',
          body: CreateSchema,
          response: { 200: DefinitionSchema, ...CommonErrors, 409: ErrorSchema },
        },
      },
      async (request) => createDefinition(store, request.principal, request.body),
    )

    app.get(
      `${PATH}/:id`,
      {
        schema: {
          tags,
          summary: 'Get a custom property',
          params: IdParamsSchema,
          response: { 200: DefinitionSchema, ...CommonErrors },
        },
      },
      async (request) => getDefinition(store, request.principal, request.params.id),
    )

    for (const method of ['put', 'patch'] as const) {
      app[method](
        `${PATH}/:id`,
        {
          schema: {
            tags,
            summary:
              method === 'put'
                ? 'Replace a custom property (fields left out go back to their defaults)'
                : 'Update a custom property',
            params: IdParamsSchema,
            body: method === 'put' ? CreateSchema : UpdateSchema,
            response: { 200: DefinitionSchema, ...CommonErrors, 409: ErrorSchema },
          },
        },
        async (request) => {
          const id = definitionId(request.params.id)
          return changeDefinition(store, request.principal, id, request.body, method === 'put')
        },
      )
    }

    app.delete(
      `${PATH}/:id`,
      {
        schema: {
          tags,
          summary: 'Delete a custom property and every value of it',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        await removeDefinition(store, request.principal, definitionId(request.params.id))
        return reply.code(204).send(null)
      },
    )

    for (const method of ['put', 'patch'] as const) {
      app[method](
        `${PATH}/:id/:entity_id`,
        {
          schema: {
            tags,
            summary: 'Set (or, with null, clear) the value of a custom property on one resource',
            params: ValueParams,
            body: ValueBody,
            response: { 204: Type.Null(), ...CommonErrors },
          },
        },
        async (request, reply) => {
          const { principal } = request
          await setCustomValue(
            store,
            principal,
            request.params.id,
            pathId(request.params.entity_id),
            request.body.value,
          )
          return reply.code(204).send(null)
        },
      )
    }
  }
}

function definitionId(id: string): string {
  if (!isUuid(id)) throw propertyNotFound()
  return id.toLowerCase()
}
