import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { requireAdmin } from '../access/rules.ts'
import type { Store } from '../db/types.ts'
import { getIntegration } from '../directory/integrations/repository.ts'
import { ApiError, notFound } from '../errors.ts'
import { envelope, parsePageRequest } from '../http/pagination.ts'
import { CommonErrors, ErrorSchema, ListSchema, PageQuerySchema } from '../http/schemas.ts'
import { isUuid, pathId } from '../http/uuid.ts'
import { RunSchema } from './run-schema.ts'
import type { SyncRunner } from './runner.ts'
import { failAbandonedRuns, findRun, insertRun, listRuns } from './runs.ts'

const tags = ['integrations']

const QueuedSchema = Type.Object({ id: Type.String(), status: Type.String() })

/** Syncs of an integration: start one (202), and read how they went. */
export function runRoutes(store: Store, runner: SyncRunner): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/integration/integrations/:id/sync',
      {
        schema: {
          tags,
          summary: 'Start a sync of the integration: its databases, schemas, tables and columns',
          params: Type.Object({ id: Type.String() }),
          response: { 202: QueuedSchema, 409: ErrorSchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal } = request
        const integration = await getIntegration(store.db, principal, pathId(request.params.id))
        requireAdmin(principal, 'integrations')
        await failAbandonedRuns(store.db)
        const run = await insertRun(store.db, { workspaceId: principal.workspaceId, integrationId: integration.id })
        if (run === undefined) {
          throw new ApiError('CONFLICT', 'This integration has a sync queued or running already; wait for it to end.')
        }
        runner.start(run.id, integration.id)
        return reply.code(202).send({ id: run.id, status: 'queued' })
      },
    )

    app.get(
      '/integration/integrations/:id/runs',
      {
        schema: {
          tags,
          summary: "The integration's syncs, newest first",
          params: Type.Object({ id: Type.String() }),
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(RunSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const { principal } = request
        const integration = await getIntegration(store.db, principal, pathId(request.params.id))
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listRuns(store.db, principal.workspaceId, integration.id, pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.get(
      '/integration/integrations/:id/runs/:run_id',
      {
        schema: {
          tags,
          summary: 'One sync of the integration',
          params: Type.Object({ id: Type.String(), run_id: Type.String() }),
          response: { 200: RunSchema, ...CommonErrors },
        },
      },
      async (request) => {
        const { principal } = request
        const integration = await getIntegration(store.db, principal, pathId(request.params.id))
        const runId = request.params.run_id
        const run = isUuid(runId)
          ? await findRun(store.db, principal.workspaceId, integration.id, runId.toLowerCase())
          : undefined
        if (run === undefined) {
          throw notFound()
        }
        return run
      },
    )
  }
}
