import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import { byCodePoint } from '../../db/dialect.ts'
import { listPage } from '../../db/pages.ts'
import type { DB, TagTable } from '../../db/types.ts'
import { nowIso, toIso } from '../../db/values.ts'
import type { Tag } from './schema.ts'

const COLUMNS = [
  'id',
  'name',
  'description',
  'color',
  'integration_id',
  'workspace_id',
  'created_at',
  'updated_at',
] as const

function toTag(row: Selectable<TagTable>): Tag {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    color: row.color,
    integration_id: row.integration_id,
    workspace_id: row.workspace_id,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

export async function findTag(db: Kysely<DB>, workspaceId: string, id: string): Promise<Tag | undefined> {
  const row = await db
    .selectFrom('tags')
    .select(COLUMNS)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row === undefined ? undefined : toTag(row)
}

export async function listTags(
  db: Kysely<DB>,
  workspaceId: string,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Tag[] }> {
  const { count, rows } = await listPage(
    db.selectFrom('tags').where('workspace_id', '=', workspaceId),
    (query) => query.select(COLUMNS).orderBy(byCodePoint(db, 'name')).orderBy('id'),
    page,
  )
  return { count, results: rows.map(toTag) }
}

/** What an update may set: the writable fields of the tag as the API shows them. */
export type TagValues = Pick<Tag, 'name' | 'description' | 'color' | 'integration_id'>

export async function updateTagRow(db: Kysely<DB>, id: string, values: Partial<TagValues>, now: string) {
  const { name, description, color, integration_id } = values
  await db
    .updateTable('tags')
    .set({
      ...(name === undefined ? {} : { name }),
      ...(description === undefined ? {} : { description }),
      ...(color === undefined ? {} : { color }),
      ...(integration_id === undefined ? {} : { integration_id }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute()
}

/** The tag leaves every resource that had it (foreign keys cascade). */
export async function deleteTagRow(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('tags')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

export interface NewTag {
  workspaceId: string
  name: string
  description?: string
  color?: string | null
  integrationId?: string | null
}

export async function insertTag(db: Kysely<DB>, input: NewTag): Promise<string> {
  const id = randomUUID()
  const now = nowIso()
  await db
    .insertInto('tags')
    .values({
      id,
      workspace_id: input.workspaceId,
      name: input.name,
      description: input.description ?? '',
      color: input.color ?? null,
      integration_id: input.integrationId ?? null,
      created_at: now,
      updated_at: now,
    })
    .execute()
  return id
}
