import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Store } from '../../db/types.ts'
import { nowIso } from '../../db/values.ts'
import { collectionRoutes } from '../../http/collection.ts'
import { requireReferences } from '../references.ts'
import { deleteTagRow, findTag, insertTag, listTags, updateTagRow } from './repository.ts'
import { TagCreateSchema, TagSchema, TagUpdateSchema } from './schema.ts'

export function tagRoutes(store: Store): FastifyPluginAsyncTypebox {
  return collectionRoutes(store, {
    path: '/tag',
    aliases: ['/tag/tags'],
    plural: 'tags',
    clash: 'A concurrent change clashed with this one; try again.',
    schemas: { item: TagSchema, create: TagCreateSchema, update: TagUpdateSchema },
    summaries: {
      list: 'List the tags of the workspace',
      create: 'Create a tag',
      get: 'Get a tag',
      update: 'Update a tag',
      delete: 'Delete a tag; it leaves every resource that had it',
    },
    find: (db, principal, id) => findTag(db, principal.workspaceId, id),
    list: (db, principal, page) => listTags(db, principal.workspaceId, page),
    create: async (trx, principal, body) => {
      const integration = body.integration_id?.toLowerCase() ?? null
      if (integration !== null) {
        await requireReferences(trx, principal.workspaceId, 'integration_id', 'integration', integration)
      }
      const { name, description, color } = body
      return insertTag(trx, {
        workspaceId: principal.workspaceId,
        name,
        description,
        color,
        integrationId: integration,
      })
    },
    update: async (trx, principal, id, body) => {
      const integration = body.integration_id === undefined ? undefined : (body.integration_id?.toLowerCase() ?? null)
      if (integration !== undefined && integration !== null) {
        await requireReferences(trx, principal.workspaceId, 'integration_id', 'integration', integration)
      }
      const { name, description, color } = body
      await updateTagRow(trx, id, { name, description, color, integration_id: integration }, nowIso())
    },
    remove: (trx, principal, id) => deleteTagRow(trx, principal.workspaceId, id),
  })
}
