import { type Static, Type } from 'typebox'
import { IdListSchema } from '../../http/schemas.ts'

export const IntegrationSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  teams: Type.Array(Type.String()),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Name = Type.String({ minLength: 1, maxLength: 255 })

const Kind = Type.String({ minLength: 1, maxLength: 64, description: 'the kind of source, e.g. postgres' })

const Credentials = Type.Object({}, { additionalProperties: true, description: 'write-only; never returned' })

export const IntegrationCreateSchema = Type.Object({
  name: Name,
  type: Kind,
  teams: Type.Optional(IdListSchema),
  credentials: Type.Optional(Credentials),
})

/** Every field of a create, none required. */
export const IntegrationUpdateSchema = Type.Partial(IntegrationCreateSchema)

export type Integration = Static<typeof IntegrationSchema>
