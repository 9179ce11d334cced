import { type Static, Type } from 'typebox'
import { ROLES, type Role } from '../../access/principal.ts'
import { IdListSchema } from '../../http/schemas.ts'

export const RoleSchema = Type.Unsafe<Role>({ type: 'string', enum: [...ROLES] })

export const UserSchema = Type.Object({
  id: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  teams: Type.Array(Type.String()),
  user_groups: Type.Array(Type.String(), { description: 'read-only: set through a group’s users' }),
  workspace_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

export const Writable = {
  first_name: Type.String({ maxLength: 150 }),
  last_name: Type.String({ maxLength: 150 }),
  email: Type.String({ maxLength: 254, description: 'an email address; stored in lower case' }),
  role: RoleSchema,
  teams: IdListSchema,
}

/** One user (`email`), or Secoda's bulk form (`emails`, CONTRACT §8): one user per address, all or nothing. */
export const UserCreateSchema = Type.Object({
  email: Type.Optional(Writable.email),
  emails: Type.Optional(
    Type.Array(Writable.email, {
      minItems: 1,
      maxItems: 1000,
      description: 'instead of email: one user per address, all made or none; answered with the list of users',
    }),
  ),
  first_name: Type.Optional(Writable.first_name),
  last_name: Type.Optional(Writable.last_name),
  role: Type.Optional(Writable.role),
  teams: Type.Optional(Writable.teams),
  groups: Type.Optional(IdListSchema),
})

export const UserUpdateSchema = Type.Object({
  email: Type.Optional(Writable.email),
  first_name: Type.Optional(Writable.first_name),
  last_name: Type.Optional(Writable.last_name),
  role: Type.Optional(Writable.role),
  teams: Type.Optional(Writable.teams),
})

export type User = Static<typeof UserSchema>
