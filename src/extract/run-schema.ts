import { type Static, Type } from 'typebox'
import { Nullable } from '../http/schemas.ts'

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

/** What a sync did: resources it created, updated, found unchanged, and marked stale. */
export const SyncCountsSchema = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  staled: Type.Integer(),
})
export type SyncCounts = Static<typeof SyncCountsSchema>

/** A sync run as the API shows it. */
export const RunSchema = Type.Object({
  id: Type.String(),
  integration: Type.String(),
  status: Type.Unsafe<RunStatus>(Type.String({ enum: [...RUN_STATUSES] })),
  started_at: Nullable(Type.String()),
  finished_at: Nullable(Type.String()),
  counts: SyncCountsSchema,
  error: Nullable(Type.String()),
  created_at: Type.String(),
})
export type SyncRun = Static<typeof RunSchema>
