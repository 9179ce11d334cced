import { type Static, Type } from 'typebox'
import { IdListSchema, Nullable } from '../../http/schemas.ts'

export const GroupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  icon: Nullable(Type.String()),
  description: Type.String(),
  users: Type.Array(Type.String()),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const Writable = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  icon: Nullable(Type.String({ maxLength: 2048 })),
  description: Type.String({ maxLength: 10_000 }),
  users: IdListSchema,
}

export const GroupCreateSchema = Type.Object({
  name: Writable.name,
  icon: Type.Optional(Writable.icon),
  description: Type.Optional(Writable.description),
  users: Type.Optional(Writable.users),
})

/** Every field of a create, none required. */
export const GroupUpdateSchema = Type.Partial(GroupCreateSchema)

export type Group = Static<typeof GroupSchema>
