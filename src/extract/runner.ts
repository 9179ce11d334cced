import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../db/types.ts'
import { findIntegrationForSync } from '../directory/integrations/repository.ts'
import { beat, finishRun, markRunning, type SyncCounts } from './runs.ts'
import { ExtractError } from './source.ts'
import type { SourceAccess } from './source-access.ts'
import { openSource } from './sources/index.ts'
import { syncSnapshot } from './sync.ts'

export interface RunOptions {
  /** What the operator lets this sync read. */
  access: SourceAccess
  signal?: AbortSignal | undefined
  progress?: (done: number, total: number, counts: SyncCounts) => void
  log?: Pick<FastifyBaseLogger, 'error'> | undefined
}

/**
 * Carries out one queued run: reads the source, syncs the catalog, and records how it ended. A failure a person
 * can act on ends the run `failed` with that message; anything else is logged and reported without detail.
 */
export async function carryOutRun(
  store: Store,
  runId: string,
  integrationId: string,
  options: RunOptions,
): Promise<{ status: 'succeeded' | 'partial' | 'failed'; counts: SyncCounts; error: string | null }> {
  const counts: SyncCounts = { created: 0, updated: 0, unchanged: 0, staled: 0 }
  let outcome: { status: 'succeeded' | 'partial' | 'failed'; counts: SyncCounts; error: string | null }
  try {
    await markRunning(store.db, runId)
    const integration = await findIntegrationForSync(store.db, integrationId)
    if (integration === undefined) {
      throw new ExtractError('the integration was deleted')
    }
    const snapshot = await openSource(integration.type, integration.credentials, options.access).read(options.signal)
    let lastBeat = Date.now()
    const target = { integrationId: integration.id, workspaceId: integration.workspaceId, teamIds: integration.teamIds }
    const result = await syncSnapshot(store, target, snapshot, {
      signal: options.signal,
      progress: async (done, total, sofar) => {
        Object.assign(counts, sofar)
        options.progress?.(done, total, sofar)
        if (Date.now() - lastBeat > 10_000) {
          lastBeat = Date.now()
          await beat(store.db, runId, sofar)
        }
      },
    })
    outcome =
      snapshot.problems.length === 0
        ? { status: 'succeeded', counts: result, error: null }
        : {
            status: 'partial',
            counts: result,
            error: `${snapshot.problems.join('; ')} (nothing was marked stale in this run)`,
          }
  } catch (error) {
    if (!(error instanceof ExtractError)) {
      options.log?.error({ err: error, runId }, 'sync failed unexpectedly')
    }
    const message =
      error instanceof ExtractError
        ? error.message
        : 'an unexpected error stopped the sync; the server log has the detail'
    outcome = { status: 'failed', counts, error: message }
  }
  await finishRun(store.db, runId, outcome)
  return outcome
}

/** The syncs this process is carrying out, so that a shutdown can stop them cleanly. */
export class SyncRunner {
  readonly #running = new Map<string, { controller: AbortController; done: Promise<unknown> }>()

  constructor(
    private readonly store: Store,
    private readonly access: SourceAccess,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(runId: string, integrationId: string): void {
    const controller = new AbortController()
    const done = carryOutRun(this.store, runId, integrationId, {
      access: this.access,
      signal: controller.signal,
      log: this.log,
    })
      .catch((error) => this.log.error({ err: error, runId }, 'could not record the end of a sync'))
      .finally(() => this.#running.delete(runId))
    this.#running.set(runId, { controller, done })
  }

  /** Stops every run at its next batch boundary and waits for each to record how it ended. */
  async stopAll(): Promise<void> {
    for (const { controller } of this.#running.values()) controller.abort()
    await Promise.all([...this.#running.values()].map((r) => r.done))
  }
}
