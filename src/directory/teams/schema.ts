import { type Static, Type } from 'typebox'
import { Nullable } from '../../http/schemas.ts'

export const TeamTypeSchema = Type.Unsafe<'OPEN' | 'CLOSED'>({
  type: 'string',
  enum: ['OPEN', 'CLOSED'],
  description: 'CLOSED teams are seen only by their members and admins',
})

export const TeamSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  icon: Nullable(Type.String()),
  description: Type.String(),
  type: TeamTypeSchema,
  is_default: Type.Boolean(),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Writable = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  icon: Nullable(Type.String({ maxLength: 2048 })),
  description: Type.String({ maxLength: 10_000 }),
  type: TeamTypeSchema,
}

export const TeamCreateSchema = Type.Object({
  name: Writable.name,
  icon: Type.Optional(Writable.icon),
  description: Type.Optional(Writable.description),
  type: Type.Optional(Writable.type),
})

/** Every field of a create, none required. */
export const TeamUpdateSchema = Type.Partial(TeamCreateSchema)

export type Team = Static<typeof TeamSchema>
