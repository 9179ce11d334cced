import { type Static, Type } from 'typebox'
import { Nullable, TimestampSchema, UuidSchema } from '../http/schemas.ts'
import { WRITABLE_SCHEMAS } from './fields.ts'

const Ids = Type.Array(Type.String())
const Text = Type.String()
const NullableText = Nullable(Type.String())

/** The one JSON shape of every catalog entity (CONTRACT §3), fields in the reference's order. */
export const ResourceSchema = Type.Object(
  {
    id: Text,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    entity_type: Text,
    native_type: NullableText,
    icon: NullableText,
    title: Text,
    title_full: Text,
    title_cased: Text,
    description: Text,
    definition: Text,
    definition_version: Type.Integer(),
    multiplayers: Ids,
    multiplayer_last_modified_by: NullableText,
    multiplayer_last_modified: NullableText,
    owners: Ids,
    owners_groups: Ids,
    collections: Ids,
    tags: Ids,
    workspace_id: Text,
    published: Type.Boolean(),
    archived: Type.Boolean(),
    archived_at: NullableText,
    pii: Type.Boolean(),
    verified: Type.Boolean(),
    url: NullableText,
    parent: NullableText,
    children_count: Type.Integer(),
    bookmarked_by: Ids,
    integration: NullableText,
    external_updated_at: NullableText,
    internal_usage: Type.Integer(),
    internal_users: Ids,
    external_users: Ids,
    external_usage: Type.Integer(),
    databuilder_id: NullableText,
    search_metadata: Type.Object({ database: NullableText, schema: NullableText, type: Text }),
    sources: Ids,
    subscribers: Ids,
    teams: Ids,
    stale: Type.Boolean(),
    stale_at: NullableText,
    forced_unstale_by_user: Type.Boolean(),
    current_user_permissions: Type.Object({ read: Type.Boolean(), write: Type.Boolean(), execute: Type.Boolean() }),
    row_count: Nullable(Type.Integer()),
    byte_size: Nullable(Type.Integer()),
    display_metadata: Type.Object({}, { additionalProperties: true }),
    question_status: NullableText,
    question_priority: NullableText,
    question_answered_by: NullableText,
    question_assigned_to: NullableText,
    total_usage: Type.Integer(),
    // CONTRACT §10: the values set on it, by property name. Described, not typed: a serializer that typed each value
    // (a union) tried the types one by one on every value, which cost a GET by id of a table a fifth of its rate.
    custom_properties: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'values by property name: text (string and date properties), a number, true or false, or an array of ids (select, user and resource properties)',
      },
    ),
    // Extras: table-like resources name their database and schema; columns carry what extraction read.
    database: Type.Optional(NullableText),
    schema: Type.Optional(NullableText),
    type: Type.Optional(NullableText),
    sort_order: Type.Optional(Nullable(Type.Integer())),
    is_pk: Type.Optional(Nullable(Type.Boolean())),
    is_nullable: Type.Optional(Nullable(Type.Boolean())),
    // A reply to a question: whether it is the question's accepted answer (CONTRACT §9).
    accepted: Type.Optional(Type.Boolean()),
  },
  { description: 'A catalog resource (CONTRACT §3)' },
)
export type Resource = Static<typeof ResourceSchema>

/** What a client may set on any resource, on create and on update (catalog/fields.ts, in the API's order). */
const WritableFields = WRITABLE_SCHEMAS

const optional = <T extends Record<string, Parameters<typeof Type.Optional>[0]>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof T]: ReturnType<typeof Type.Optional<T[K]>>
  }

const { title, ...otherWritable } = WritableFields

/** CONTRACT §10: values to set by property name (null clears one); each is checked against its property's type. */
const CustomPropertiesWrite = Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.Unknown(), {
  maxProperties: 1000,
  description: 'custom property values by property name; null clears one',
})

export const ResourceCreateSchema = Type.Object({
  title,
  integration: Type.Optional(Nullable(UuidSchema)),
  ...optional(otherWritable),
  parent: Type.Optional(Nullable(UuidSchema)),
  databuilder_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024 }))),
  custom_properties: Type.Optional(CustomPropertiesWrite),
})
export type ResourceCreate = Static<typeof ResourceCreateSchema>

export const ResourceUpdateSchema = Type.Object({
  ...optional(WritableFields),
  integration: Type.Optional(Nullable(UuidSchema)),
  parent: Type.Optional(Nullable(UuidSchema)),
  custom_properties: Type.Optional(CustomPropertiesWrite),
})
export type ResourceUpdate = Static<typeof ResourceUpdateSchema>

/** `search_term` (CONTRACT §12), on List Resources and every typed list. */
export const SearchTermQuery = {
  search_term: Type.Optional(
    Type.String({
      description:
        'words to find in the title, path, description or definition (a word one typo away also matches); ordered by relevance unless `sort` is given',
    }),
  ),
}
