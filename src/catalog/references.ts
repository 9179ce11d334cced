import type { Kysely } from 'kysely'
import type { DB } from '../db/types.ts'
import type { FieldError } from '../errors.ts'
import { type Directory, FIELDS, REFERRING_LISTS, type ReferringList } from './fields.ts'

/** The directory each referencing body field points into: a resource's integration, and its lists that refer. */
export const REFERENCE_TARGETS = {
  integration: 'integrations',
  ...(Object.fromEntries(REFERRING_LISTS.map((field) => [field, FIELDS[field].refers])) as {
    [K in ReferringList]: (typeof FIELDS)[K]['refers']
  }),
} as const satisfies Record<string, Directory>

export type ReferenceField = keyof typeof REFERENCE_TARGETS

const NOUN: Record<Directory, string> = {
  users: 'a user',
  groups: 'a group',
  teams: 'a team',
  tags: 'a tag',
  integrations: 'an integration',
  collections: 'a collection',
  resources: 'a resource',
}

async function findExisting(db: Kysely<DB>, directory: Directory, workspaceId: string, ids: string[]) {
  // Every directory table has (id, workspace_id); collections are resources of that entity type.
  const rows =
    directory === 'collections' || directory === 'resources'
      ? await db
          .selectFrom('resources')
          .select('id')
          .$if(directory === 'collections', (q) => q.where('entity_type', '=', 'collection'))
          .where('workspace_id', '=', workspaceId)
          .where('id', 'in', ids)
          .execute()
      : await db
          .selectFrom(directory as 'users')
          .select('id')
          .where('workspace_id', '=', workspaceId)
          .where('id', 'in', ids)
          .execute()
  return new Set(rows.map((r) => r.id))
}

/** Every referenced id that is not in the workspace, as field errors (`owners[1]`, `integration`). */
export async function checkReferences(
  db: Kysely<DB>,
  workspaceId: string,
  references: Partial<Record<ReferenceField, string | string[] | null>>,
): Promise<FieldError[]> {
  const errors: FieldError[] = []
  for (const [field, directory] of Object.entries(REFERENCE_TARGETS) as [ReferenceField, Directory][]) {
    const value = references[field]
    if (value === undefined || value === null) {
      continue
    }
    const ids = Array.isArray(value) ? value : [value]
    if (ids.length === 0) {
      continue
    }
    const existing = await findExisting(db, directory, workspaceId, [...new Set(ids)])
    ids.forEach((id, index) => {
      if (!existing.has(id)) {
        errors.push({
          field: Array.isArray(value) ? `${field}[${index}]` : field,
          message: `refers to ${id}, which is not ${NOUN[directory]} of this workspace`,
        })
      }
    })
  }
  return errors
}
