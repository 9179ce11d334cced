import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { integrationScope, requireAdmin } from '../../access/rules.ts'
import { checkReferences } from '../../catalog/references.ts'
import type { DB, Store } from '../../db/types.ts'
import { nowIso } from '../../db/values.ts'
import { fieldError, validationFailed } from '../../errors.ts'
import { forgetDbtTests } from '../../extract/dbt.ts'
import { accessProblem, type SourceRules } from '../../extract/source-access.ts'
import { checkCredentials } from '../../extract/sources/index.ts'
import { adminsOnly } from '../../http/guards.ts'
import { envelope, parsePageRequest } from '../../http/pagination.ts'
import { CommonErrors, IdParamsSchema, ListSchema, PageQuerySchema } from '../../http/schemas.ts'
import { pathId } from '../../http/uuid.ts'
import { findDefaultTeamId } from '../teams/repository.ts'
import {
  deleteIntegrationRow,
  findIntegrationForSync,
  getIntegration,
  insertIntegration,
  listIntegrations,
  replaceIntegrationTeams,
  updateIntegrationRow,
} from './repository.ts'
import { IntegrationCreateSchema, IntegrationSchema, IntegrationUpdateSchema } from './schema.ts'

const tags = ['integrations']

/**
 * Credentials of a kind docent syncs (postgres, mysql, sqlite) must have the shape its reader needs, and name a
 * folder or host the operator allows (checked again, and more closely, when a sync runs).
 */
function checkSourceCredentials(type: string, credentials: object | undefined, access: SourceRules): void {
  const problem =
    credentials === undefined
      ? undefined
      : (checkCredentials(type, credentials) ?? accessProblem(type, credentials, access))
  if (problem !== undefined) {
    throw fieldError('credentials', problem)
  }
}

/** Team ids in order without repeats, checked against the workspace; none means the default team. */
async function resolveTeams(db: Kysely<DB>, workspaceId: string, teams: string[]): Promise<string[]> {
  const ids = [...new Set(teams.map((t) => t.toLowerCase()))]
  const errors = await checkReferences(db, workspaceId, { teams: ids })
  if (errors.length > 0) {
    throw validationFailed(errors)
  }
  return ids.length > 0 ? ids : [await findDefaultTeamId(db, workspaceId)]
}

export function integrationRoutes(store: Store, access: SourceRules): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/integration/integrations',
      {
        schema: {
          tags,
          summary: 'List integrations',
          querystring: Type.Object(PageQuerySchema),
          response: { 200: ListSchema(IntegrationSchema), ...CommonErrors },
        },
      },
      async (request) => {
        const pageRequest = parsePageRequest(request.query)
        const { count, results } = await listIntegrations(store.db, integrationScope(request.principal), pageRequest)
        return envelope(request, pageRequest, count, results)
      },
    )

    app.post(
      '/integration/integrations',
      {
        config: { allow: adminsOnly('integrations') },
        schema: {
          tags,
          summary: 'Create an integration',
          body: IntegrationCreateSchema,
          response: { 201: IntegrationSchema, ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal, body } = request
        checkSourceCredentials(body.type, body.credentials, access)
        const id = await store.write(async (trx) => {
          const teams = await resolveTeams(trx, principal.workspaceId, body.teams ?? [])
          const values = { name: body.name, type: body.type, credentials: body.credentials ?? {} }
          return insertIntegration(trx, principal.workspaceId, values, teams, nowIso())
        })
        return reply.code(201).send(await getIntegration(store.db, principal, id))
      },
    )

    app.get(
      '/integration/integrations/:id',
      {
        schema: {
          tags,
          summary: 'Get an integration',
          params: IdParamsSchema,
          response: { 200: IntegrationSchema, ...CommonErrors },
        },
      },
      async (request) => {
        return getIntegration(store.db, request.principal, pathId(request.params.id))
      },
    )

    app.patch(
      '/integration/integrations/:id',
      {
        schema: {
          tags,
          summary: 'Update an integration',
          params: IdParamsSchema,
          body: IntegrationUpdateSchema,
          response: { 200: IntegrationSchema, ...CommonErrors },
        },
      },
      async (request) => {
        const { principal, body } = request
        const id = pathId(request.params.id)
        const current = await getIntegration(store.db, principal, id)
        requireAdmin(principal, 'integrations')
        // A new type must fit the credentials it will be used with: the ones sent, or else the stored ones.
        const stored = body.credentials === undefined && body.type !== undefined && body.type !== current.type
        checkSourceCredentials(
          body.type ?? current.type,
          stored ? ((await findIntegrationForSync(store.db, id))?.credentials as object) : body.credentials,
          access,
        )
        await store.write(async (trx) => {
          const { teams, name, type, credentials } = body
          if (teams !== undefined) {
            await replaceIntegrationTeams(trx, id, await resolveTeams(trx, principal.workspaceId, teams))
          }
          await updateIntegrationRow(trx, id, { name, type, credentials }, nowIso())
        })
        return getIntegration(store.db, principal, id)
      },
    )

    app.delete(
      '/integration/integrations/:id',
      {
        schema: {
          tags,
          summary: 'Delete an integration and every resource it holds',
          params: IdParamsSchema,
          response: { 204: Type.Null(), ...CommonErrors },
        },
      },
      async (request, reply) => {
        const { principal } = request
        const id = pathId(request.params.id)
        await getIntegration(store.db, principal, id)
        requireAdmin(principal, 'integrations')
        await store.write(async (trx) => {
          // The tests its dbt uploads showed on other integrations' tables go with it.
          await forgetDbtTests(trx, principal.workspaceId, id)
          return deleteIntegrationRow(trx, principal.workspaceId, id)
        })
        return reply.code(204).send(null)
      },
    )
  }
}
