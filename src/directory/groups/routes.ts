import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Store } from '../../db/types.ts'
import { nowIso } from '../../db/values.ts'
import { collectionRoutes } from '../../http/collection.ts'
import { distinctIds, requireReferences } from '../references.ts'
import { deleteGroupRow, findGroup, insertGroup, listGroups, replaceGroupUsers, updateGroupRow } from './repository.ts'
import { GroupCreateSchema, GroupSchema, GroupUpdateSchema } from './schema.ts'

export function groupRoutes(store: Store): FastifyPluginAsyncTypebox {
  return collectionRoutes(store, {
    path: '/auth/group',
    plural: 'groups',
    clash: 'A concurrent change clashed with this one; try again.',
    schemas: { item: GroupSchema, create: GroupCreateSchema, update: GroupUpdateSchema },
    summaries: {
      list: 'List the groups of the workspace',
      create: 'Create a group',
      get: 'Get a group',
      update: 'Update a group; users replaces its members',
      delete: 'Delete a group; it leaves every resource that named it',
    },
    find: (db, principal, id) => findGroup(db, principal.workspaceId, id),
    list: (db, principal, page) => listGroups(db, principal.workspaceId, page),
    create: async (trx, principal, body) => {
      const users = distinctIds(body.users ?? [])
      await requireReferences(trx, principal.workspaceId, 'users', 'owners', users)
      const { name, icon, description } = body
      return insertGroup(trx, { workspaceId: principal.workspaceId, name, icon, description, userIds: users })
    },
    update: async (trx, principal, id, body) => {
      if (body.users !== undefined) {
        const users = distinctIds(body.users)
        await requireReferences(trx, principal.workspaceId, 'users', 'owners', users)
        await replaceGroupUsers(trx, id, users)
      }
      const { name, icon, description } = body
      await updateGroupRow(trx, id, { name, icon, description }, nowIso())
    },
    remove: (trx, principal, id) => deleteGroupRow(trx, principal.workspaceId, id),
  })
}
