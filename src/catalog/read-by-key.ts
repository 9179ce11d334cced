import type { FastifyRequest } from 'fastify'
import { hashApiKey, noteKeyUse } from '../access/keys.ts'
import { permissionsFor } from '../access/principal.ts'
import type { Store } from '../db/types.ts'
import { notFound } from '../errors.ts'
import { authenticate, invalidToken } from '../http/auth.ts'
import { isUuid } from '../http/uuid.ts'
import { findResource, findResourceForKey } from './repository/reads.ts'
import { toResource } from './repository/rows.ts'
import type { Resource } from './resource-schema.ts'

/**
 * The answer of a GET by id, on a route whose handler checks the API key (`keyCheckedByHandler`): the key and the
 * resource are read in one statement. Answers and errors are those of authenticating first, then reading.
 */
export async function getResourceWithKey(
  store: Store,
  request: FastifyRequest,
  id: string,
  entityType?: string,
): Promise<Resource> {
  if (request.sessionToken !== undefined) {
    // Signed in by a session cookie: the principal is known already.
    const principal = request.principal
    const found = isUuid(id) ? await findResource(store.db, principal, id.toLowerCase(), entityType) : undefined
    if (found === undefined) throw notFound()
    return toResource(found.row, found.relations, permissionsFor(principal), found.custom)
  }
  if (!isUuid(id)) {
    request.principal = await authenticate(store, request.apiKey)
    throw notFound()
  }
  const { owner, found } = await findResourceForKey(store.db, hashApiKey(request.apiKey), id.toLowerCase(), entityType)
  if (owner === undefined) {
    throw invalidToken()
  }
  const principal = await noteKeyUse(store.db, owner)
  request.principal = principal
  if (found === undefined) {
    throw notFound()
  }
  return toResource(found.row, found.relations, permissionsFor(principal), found.custom)
}
