import { type Static, Type } from 'typebox'
import { Nullable, UuidSchema } from '../../http/schemas.ts'

export const KeySchema = Type.Object({
  id: Type.String(),
  user: Type.String(),
  description: Type.String(),
  created_at: Type.String(),
  last_used_at: Nullable(Type.String()),
})

export const NewKeySchema = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'the key itself: shown here once and never again' }),
  user: Type.String(),
  description: Type.String(),
  created_at: Type.String(),
  last_used_at: Nullable(Type.String()),
})

export const KeyCreateSchema = Type.Object({
  user: Type.Optional(UuidSchema),
  description: Type.Optional(Type.String({ maxLength: 255 })),
})

export type ApiKeyInfo = Static<typeof KeySchema>
