import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { type Static, type TSchema, Type } from 'typebox'
import type { Principal } from '../access/principal.ts'
import { requireAdmin } from '../access/rules.ts'
import type { DB, Store } from '../db/types.ts'
import { notFound } from '../errors.ts'
import { adminsOnly } from './guards.ts'
import { envelope, parsePageRequest } from './pagination.ts'
import { CommonErrors, ErrorSchema, IdParamsSchema, ListSchema, PageQuerySchema } from './schemas.ts'
import { pathId } from './uuid.ts'

/**
 * A directory collection that admins manage (groups, tags, teams): list, create, get, update and delete under
 * one path, with the same order of checks everywhere. A missing or unseen item is 404 before a non-admin's 403
 * on update and delete; create checks the role first. Every write is one `store.write`, and
 * create and update answer with the item as read after their commit.
 */
export interface DirectoryCollection<Item, Create extends TSchema, Update extends TSchema> {
  /** `/auth/group`; items live at `<path>/:id`. */
  path: string
  /** Other paths that answer the same (`/tag/tags` for `/tag`), left out of the OpenAPI document. */
  aliases?: string[]
  /** The OpenAPI tag, and the plural in "Only an admin may manage …". */
  plural: string
  /** The 409 message for a unique constraint broken by a concurrent request. */
  clash: string
  /** `created`: what a create answers, when it is not one item (users may be made in bulk). */
  schemas: { item: TSchema; create: Create; update: Update; created?: TSchema }
  summaries: { list: string; create: string; get: string; update: string; delete: string }
  /** The item, if it exists in the caller's workspace and the caller may see it. */
  find: (db: Kysely<DB>, principal: Principal, id: string) => Promise<Item | undefined>
  list: (
    db: Kysely<DB>,
    principal: Principal,
    page: { offset: number; limit: number },
  ) => Promise<{ count: number; results: Item[] }>
  /** Writes a new item and returns its id, or several and returns theirs (answered as a list). */
  create: (trx: Kysely<DB>, principal: Principal, body: Static<Create>) => Promise<string | string[]>
  update: (trx: Kysely<DB>, principal: Principal, id: string, body: Static<Update>) => Promise<void>
  /** Deletes the item; false when it was gone already. */
  remove: (trx: Kysely<DB>, principal: Principal, id: string) => Promise<boolean>
  /** Refuses (throws) to delete an item, before the delete's transaction; its DELETE may then answer 409. */
  refuseDelete?: (item: Item, principal: Principal) => void
}

export function collectionRoutes<Item, Create extends TSchema, Update extends TSchema>(
  store: Store,
  collection: DirectoryCollection<Item, Create, Update>,
): FastifyPluginAsyncTypebox {
  const { path, plural, clash, schemas, summaries } = collection
  const tags = [plural]
  const get = async (principal: Principal, id: string): Promise<Item> => {
    const found = await collection.find(store.db, principal, id)
    if (found === undefined) {
      throw notFound()
    }
    return found
  }
  return async (app) => {
    // An alias answers exactly as the path does; the OpenAPI document lists the path only.
    for (const base of [path, ...(collection.aliases ?? [])]) {
      app.get(
        base,
        {
          schema: {
            hide: base !== path,
            tags,
            summary: summaries.list,
            querystring: Type.Object(PageQuerySchema),
            response: { 200: ListSchema(schemas.item), ...CommonErrors },
          },
        },
        async (request) => {
          const pageRequest = parsePageRequest(request.query)
          const { count, results } = await collection.list(store.db, request.principal, pageRequest)
          return envelope(request, pageRequest, count, results)
        },
      )

      app.post(
        base,
        {
          config: { allow: adminsOnly(plural) },
          schema: {
            hide: base !== path,
            tags,
            summary: summaries.create,
            body: schemas.create,
            response: { 201: schemas.created ?? schemas.item, ...CommonErrors, 409: ErrorSchema },
          },
        },
        async (request, reply) => {
          const { principal } = request
          const body = request.body as Static<Create>
          const id = await store.write((trx) => collection.create(trx, principal, body), { clash })
          if (Array.isArray(id)) {
            const items: Item[] = []
            for (const one of id) items.push(await get(principal, one))
            return reply.code(201).send(items)
          }
          return reply.code(201).send(await get(principal, id))
        },
      )

      app.get(
        `${base}/:id`,
        {
          schema: {
            hide: base !== path,
            tags,
            summary: summaries.get,
            params: IdParamsSchema,
            response: { 200: schemas.item, ...CommonErrors },
          },
        },
        async (request) => get(request.principal, pathId(request.params.id)),
      )

      app.patch(
        `${base}/:id`,
        {
          schema: {
            hide: base !== path,
            tags,
            summary: summaries.update,
            params: IdParamsSchema,
            body: schemas.update,
            response: { 200: schemas.item, ...CommonErrors, 409: ErrorSchema },
          },
        },
        async (request) => {
          const { principal } = request
          const body = request.body as Static<Update>
          const id = pathId(request.params.id)
          await get(principal, id)
          requireAdmin(principal, plural)
          await store.write((trx) => collection.update(trx, principal, id, body), { clash })
          return get(principal, id)
        },
      )

      const refuseDelete = collection.refuseDelete
      app.delete(
        `${base}/:id`,
        {
          schema: {
            hide: base !== path,
            tags,
            summary: summaries.delete,
            params: IdParamsSchema,
            response: {
              204: Type.Null(),
              ...CommonErrors,
              ...(refuseDelete === undefined ? {} : { 409: ErrorSchema }),
            },
          },
        },
        async (request, reply) => {
          const { principal } = request
          const id = pathId(request.params.id)
          const item = await get(principal, id)
          requireAdmin(principal, plural)
          refuseDelete?.(item, principal)
          await store.write(
            async (trx) => {
              if (!(await collection.remove(trx, principal, id))) {
                throw notFound()
              }
            },
            { clash },
          )
          return reply.code(204).send(null)
        },
      )
    }
  }
}
