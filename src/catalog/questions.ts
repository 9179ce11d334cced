import type { Kysely } from 'kysely'
import type { DB } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { typeWithArticle } from './hierarchy.ts'
import { lockResourceRow } from './repository/writes.ts'
import type { ResourceCreate, ResourceUpdate } from './resource-schema.ts'

/**
 * Questions and their replies (CONTRACT §9): the fields only they have, and the accepted answer. A reply PATCHed
 * with `accepted: true` answers its question (`ANSWERED`, `question_answered_by` = the reply's author) and takes
 * the place of any reply accepted before; taking it back, or deleting the accepted reply, opens the question
 * again.
 */

const QUESTION_FIELDS = ['question_status', 'question_priority', 'question_assigned_to'] as const

/**
 * The body, checked for the fields the entity type does not have: 400 for one that sets something, and left out
 * where it says what such a resource shows anyway (`null`, or `accepted: false`), so that a resource read and sent
 * back as a PATCH is accepted. On a question, status and priority cannot be null.
 */
export function withoutQuestionFieldsOf<B extends ResourceCreate | ResourceUpdate>(entityType: string, body: B): B {
  const kept = { ...body }
  if (entityType === 'question') {
    for (const field of ['question_status', 'question_priority'] as const) {
      if (body[field] === null) throw fieldError(field, 'cannot be null on a question; give one of its values')
    }
  } else {
    for (const field of QUESTION_FIELDS) {
      if (body[field] === null) delete kept[field]
      else if (body[field] !== undefined)
        throw fieldError(field, `only a question has it, not ${typeWithArticle(entityType)}`)
    }
  }
  if (entityType !== 'question_reply') {
    if (body.accepted === false) delete kept.accepted
    else if (body.accepted !== undefined)
      throw fieldError('accepted', `only a reply to a question has it, not ${typeWithArticle(entityType)}`)
  }
  return kept
}

/** 400 unless `question_assigned_to`, when given, is a user of the workspace. */
export async function checkAssignee(
  db: Kysely<DB>,
  workspaceId: string,
  body: ResourceCreate | ResourceUpdate,
): Promise<string | null | undefined> {
  const given = body.question_assigned_to
  if (given === undefined || given === null) return given
  const id = given.toLowerCase()
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst()
  if (user === undefined)
    throw fieldError('question_assigned_to', `refers to ${id}, which is not a user of this workspace`)
  return id
}

/**
 * On PostgreSQL, before a reply's `accepted` changes: its question's row, locked first, so that two replies
 * accepted at once wait for each other at the question instead of each holding its reply and waiting for the
 * other's (a deadlock).
 */
export async function lockQuestionOf(db: Kysely<DB>, workspaceId: string, replyId: string): Promise<void> {
  const reply = await db
    .selectFrom('resources')
    .select('parent_id')
    .where('id', '=', replyId)
    .where('workspace_id', '=', workspaceId)
    .where('entity_type', '=', 'question_reply')
    .executeTakeFirst()
  if (reply?.parent_id) await lockResourceRow(db, workspaceId, reply.parent_id)
}

/** After `reply` became accepted (or stopped being): the other replies and the question follow. */
export async function settleAnswer(
  db: Kysely<DB>,
  reply: { id: string; parent_id: string | null; created_by: string | null },
  accepted: boolean,
  now: string,
): Promise<void> {
  if (reply.parent_id === null) return
  if (accepted) {
    await db
      .updateTable('resources')
      .set({ accepted: false, updated_at: now })
      .where('parent_id', '=', reply.parent_id)
      .where('entity_type', '=', 'question_reply')
      .where('id', '<>', reply.id)
      .where('accepted', '=', true)
      .execute()
  }
  await db
    .updateTable('resources')
    .set({
      question_status: accepted ? 'ANSWERED' : 'OPEN',
      question_answered_by: accepted ? reply.created_by : null,
      updated_at: now,
    })
    .where('id', '=', reply.parent_id)
    .execute()
}

/** Before a resource is deleted: if it is an accepted reply, its question opens again. */
export async function reopenIfAcceptedReply(db: Kysely<DB>, workspaceId: string, id: string, now: string) {
  const reply = await db
    .selectFrom('resources')
    .select(['id', 'parent_id', 'created_by'])
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .where('entity_type', '=', 'question_reply')
    .where('accepted', '=', true)
    .executeTakeFirst()
  if (reply !== undefined) await settleAnswer(db, reply, false, now)
}
