import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../db/driver-errors.ts'
import { listPage } from '../db/pages.ts'
import type { DB, SyncRunTable } from '../db/types.ts'
import { nowIso, toIso } from '../db/values.ts'
import type { RunStatus, SyncCounts, SyncRun } from './run-schema.ts'

export type { RunStatus, SyncCounts, SyncRun }

function toRun(row: Selectable<SyncRunTable>): SyncRun {
  return {
    id: row.id,
    integration: row.integration_id,
    status: row.status as RunStatus,
    started_at: toIso(row.started_at),
    finished_at: toIso(row.finished_at),
    counts: {
      created: Number(row.created_count),
      updated: Number(row.updated_count),
      unchanged: Number(row.unchanged_count),
      staled: Number(row.staled_count),
    },
    error: row.error,
    created_at: toIso(row.created_at),
  }
}

/** A queued run, or undefined when the integration has a run queued or running already. */
export async function insertRun(
  db: Kysely<DB>,
  input: { workspaceId: string; integrationId: string },
): Promise<SyncRun | undefined> {
  const now = nowIso()
  const id = randomUUID()
  try {
    await db
      .insertInto('sync_runs')
      .values({
        id,
        workspace_id: input.workspaceId,
        integration_id: input.integrationId,
        status: 'queued',
        started_at: null,
        finished_at: null,
        heartbeat_at: now,
        error: null,
        created_at: now,
      })
      .execute()
  } catch (error) {
    if (isUniqueViolation(error)) {
      return undefined
    }
    throw error
  }
  return findRun(db, input.workspaceId, input.integrationId, id)
}

export async function findRun(
  db: Kysely<DB>,
  workspaceId: string,
  integrationId: string,
  id: string,
): Promise<SyncRun | undefined> {
  const row = await db
    .selectFrom('sync_runs')
    .selectAll()
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .where('integration_id', '=', integrationId)
    .executeTakeFirst()
  return row === undefined ? undefined : toRun(row)
}

export async function listRuns(
  db: Kysely<DB>,
  workspaceId: string,
  integrationId: string,
  page: { offset: number; limit: number },
): Promise<{ count: number; results: SyncRun[] }> {
  const { count, rows } = await listPage(
    db.selectFrom('sync_runs').where('workspace_id', '=', workspaceId).where('integration_id', '=', integrationId),
    (query) => query.selectAll().orderBy('created_at', 'desc').orderBy('id'),
    page,
  )
  return { count, results: rows.map(toRun) }
}

export async function markRunning(db: Kysely<DB>, id: string): Promise<void> {
  const now = nowIso()
  await db
    .updateTable('sync_runs')
    .set({ status: 'running', started_at: now, heartbeat_at: now })
    .where('id', '=', id)
    .execute()
}

/** Shows that a run is alive; runs that stop showing it are taken for abandoned. */
export async function beat(db: Kysely<DB>, id: string, counts: SyncCounts): Promise<void> {
  await db
    .updateTable('sync_runs')
    .set({
      heartbeat_at: nowIso(),
      created_count: counts.created,
      updated_count: counts.updated,
      unchanged_count: counts.unchanged,
      staled_count: counts.staled,
    })
    .where('id', '=', id)
    .execute()
}

export async function finishRun(
  db: Kysely<DB>,
  id: string,
  outcome: { status: 'succeeded' | 'partial' | 'failed'; counts: SyncCounts; error: string | null },
): Promise<void> {
  const now = nowIso()
  await db
    .updateTable('sync_runs')
    .set({
      status: outcome.status,
      finished_at: now,
      heartbeat_at: now,
      created_count: outcome.counts.created,
      updated_count: outcome.counts.updated,
      unchanged_count: outcome.counts.unchanged,
      staled_count: outcome.counts.staled,
      error: outcome.error,
    })
    .where('id', '=', id)
    .execute()
}

export const ABANDONED_AFTER_MS = 5 * 60_000

/**
 * Runs whose process died (no heartbeat for five minutes) end `failed`, so the integration can sync again.
 * Their writes were whole tables in committed transactions; nothing half-written is left behind.
 */
export async function failAbandonedRuns(db: Kysely<DB>): Promise<number> {
  const cutoff = new Date(Date.now() - ABANDONED_AFTER_MS).toISOString()
  const result = await db
    .updateTable('sync_runs')
    .set({ status: 'failed', finished_at: nowIso(), error: 'the process running this sync stopped before it ended' })
    .where('status', 'in', ['queued', 'running'])
    .where('heartbeat_at', '<', cutoff)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}
