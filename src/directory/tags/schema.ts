import { type Static, Type } from 'typebox'
import { Nullable, UuidSchema } from '../../http/schemas.ts'

export const TagSchema = Type.Object({
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

export const TagCreateSchema = Type.Object({
  name: Writable.name,
  description: Type.Optional(Writable.description),
  color: Type.Optional(Writable.color),
  integration_id: Type.Optional(Writable.integration_id),
})

/** Every field of a create, none required. */
export const TagUpdateSchema = Type.Partial(TagCreateSchema)

export type Tag = Static<typeof TagSchema>
