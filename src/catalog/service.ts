import type { Kysely } from 'kysely'
import { lockVisibility, refreshSubtrees } from '../access/effective.ts'
import { type Principal, permissionsFor } from '../access/principal.ts'
import { checkAccess } from '../access/references.ts'
import { requireWrite } from '../access/rules.ts'
import { scopeOf, visibilityOf, visibleResources } from '../access/visibility.ts'
import { engineOf } from '../db/dialect.ts'
import type { DB, Store } from '../db/types.ts'
import { nowIso, parseTimestamp } from '../db/values.ts'
import { findDefaultTeamId } from '../directory/teams/repository.ts'
import { ApiError, fieldError, notFound, validationFailed } from '../errors.ts'
import { applyCustomValues, propertyNotFound, WriteDefinitions } from './custom-properties.ts'
import { RESOURCE_LISTS, WRITABLE_LISTS, WRITABLE_SCALARS } from './fields.ts'
import { HIERARCHY, placementProblem } from './hierarchy.ts'
import {
  checkAssignee,
  lockQuestionOf,
  reopenIfAcceptedReply,
  settleAnswer,
  withoutQuestionFieldsOf,
} from './questions.ts'
import { checkReferences } from './references.ts'
import {
  type ColumnSummary,
  findColumnSummaries,
  findList,
  findParentPlace,
  findRelations,
  findResource,
  findResourceRow,
  type Loaded,
  listResourceRows,
  type ParentPlaceRow,
  type TypedListFilter,
} from './repository/reads.ts'
import { emptyRelations, type RelationField, type Relations } from './repository/relations.ts'
import { type ResourceRow, toResource } from './repository/rows.ts'
import {
  appendToList,
  deleteResourceRow,
  insertResourceRow,
  lockAncestorsForShare,
  lockResourceRow,
  newResourceValues,
  type ResourceValues,
  refreshDescendantPlaces,
  replaceRelations,
  updateResourceRow,
} from './repository/writes.ts'
import type { Resource, ResourceCreate, ResourceUpdate } from './resource-schema.ts'
import { parseSearchTerm, planSearch } from './search.ts'
import { placeUnder } from './titles.ts'

export async function hydrate(db: Kysely<DB>, principal: Principal, rows: ResourceRow[]): Promise<Resource[]> {
  const relations = await findRelations(
    db,
    rows.map((r) => r.id),
    visibleResources(principal, 'row'),
  )
  const permissions = permissionsFor(principal)
  return rows.map((row) => {
    const loaded = relations.get(row.id) as Loaded
    return toResource(row, loaded.relations, permissions, loaded.custom)
  })
}

export async function listResources(
  store: Store,
  principal: Principal,
  filter: Omit<TypedListFilter, 'workspaceId' | 'search'> & { searchTerm?: string | undefined },
  page: { offset: number; limit: number },
): Promise<{ count: number; results: Resource[] }> {
  const { searchTerm, ...rest } = filter
  const words = parseSearchTerm(searchTerm ?? '')
  const search = words.length === 0 ? undefined : await planSearch(store.db, principal.workspaceId, words)
  const { count, rows } = await listResourceRows(store.db, { ...rest, search, ...scopeOf(principal) }, page)
  return { count, results: await hydrate(store.db, principal, rows) }
}

/** Keeps the first of each id, in order. */
function dedupe(ids: string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))]
}

function writableLists(body: ResourceCreate | ResourceUpdate): Partial<Relations> {
  const lists: Partial<Relations> = {}
  for (const field of WRITABLE_LISTS) {
    const ids = body[field]
    if (ids !== undefined) {
      lists[field] = field === 'external_users' ? [...new Set(ids)] : dedupe(ids)
    }
  }
  return lists
}

/**
 * Checks every id the body refers to; errors name elements by their index in the body as sent. Beyond the
 * workspace, a caller who is not an admin may only use integrations, collections and sources it can see, and only its own
 * teams (or teams the resource has already: `keptTeams`).
 */
async function checkAll(
  db: Kysely<DB>,
  principal: Principal,
  integration: string | null | undefined,
  body: ResourceCreate | ResourceUpdate,
  keptTeams: string[],
  integrationExists = false,
) {
  const sent: Partial<Record<RelationField, string[]>> = {}
  for (const field of WRITABLE_LISTS) {
    if (field !== 'external_users') {
      sent[field] = body[field]?.map((id) => id.toLowerCase())
    }
  }
  const references = { ...sent, integration }
  const errors = await checkReferences(db, principal.workspaceId, integrationExists ? sent : references)
  if (errors.length === 0) {
    errors.push(...(await checkAccess(db, principal, references, keptTeams)))
  }
  if (errors.length > 0) {
    throw validationFailed(errors)
  }
}

/** The columns a created resource leaves at their default, null. */
const COLUMNS_NOT_SET_ON_CREATE = {
  question_answered_by: null,
  data_type: null,
  sort_order: null,
  is_pk: null,
  is_nullable: null,
}

/** A catalog write (db/write.ts); the only unique constraint a resource write can break is its databuilder_id. */
function write<T>(store: Store, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return store.write(work, { clash: 'Another resource of this workspace already has this databuilder_id.' })
}

/** The parent and integration a new resource gets, after the hierarchy rules of CONTRACT §6. */
async function placeNewResource(
  db: Kysely<DB>,
  principal: Principal,
  entityType: string,
  body: ResourceCreate,
): Promise<{ parent: ParentPlaceRow | undefined; integration: string | null; inherited: boolean }> {
  const parentId = body.parent?.toLowerCase() ?? undefined
  if (parentId !== undefined && engineOf(db) === 'postgres')
    await lockAncestorsForShare(db, principal.workspaceId, parentId)
  const parent = parentId === undefined ? undefined : await findParentPlace(db, principal, parentId)
  if (parentId !== undefined && parent === undefined) {
    throw fieldError('parent', `refers to ${parentId}, which is not a resource of this workspace`)
  }
  const problem = placementProblem(entityType, parent?.entity_type)
  if (problem !== undefined) {
    throw fieldError('parent', problem)
  }
  const given = body.integration?.toLowerCase() ?? undefined
  if (parent !== undefined && HIERARCHY[entityType]?.integrated) {
    if (given !== undefined && given !== parent.integration_id) {
      throw fieldError('integration', `must be absent or the parent's integration (${parent.integration_id})`)
    }
    return { parent, integration: parent.integration_id, inherited: true }
  }
  const placement = HIERARCHY[entityType]
  if (given === undefined && parent === undefined && placement?.integrated && !placement.optionalAtTop) {
    throw fieldError(
      'integration',
      `is required: ${entityType === 'database' ? 'a database' : `a top-level ${entityType}`} belongs to an integration`,
    )
  }
  return { parent, integration: given ?? parent?.integration_id ?? null, inherited: given === undefined }
}

export async function createResource(
  store: Store,
  principal: Principal,
  entityType: string,
  body: ResourceCreate,
): Promise<Resource> {
  // The routes declare who may create (http/guards.ts `catalogWriters`).
  const lists = writableLists(body)
  body = withoutQuestionFieldsOf(entityType, body)
  return write(store, async (trx) => {
    // An accepted reply updates its question: its row is locked for that first, not shared and then upgraded
    // (two such replies at once would each hold the share the other's update waits for).
    if (entityType === 'question_reply' && body.accepted === true && body.parent && store.engine === 'postgres') {
      await lockResourceRow(trx, principal.workspaceId, body.parent.toLowerCase())
    }
    const { parent, integration, inherited } = await placeNewResource(trx, principal, entityType, body)
    // An integration taken from the parent exists (a foreign key of the parent's row, share-locked on PostgreSQL).
    await checkAll(trx, principal, integration, body, [], inherited)
    const assignee = await checkAssignee(trx, principal.workspaceId, body)
    const question = entityType === 'question'
    if (lists.teams === undefined || lists.teams.length === 0) {
      lists.teams = [await findDefaultTeamId(trx, principal.workspaceId)]
    }
    const now = nowIso()
    const values: ResourceValues = {
      ...newResourceValues({
        workspaceId: principal.workspaceId,
        entityType,
        title: body.title,
        parent,
        integrationId: integration,
        now,
      }),
      native_type: body.native_type ?? null,
      icon: body.icon ?? null,
      url: body.url ?? null,
      description: body.description ?? '',
      description_by_person: body.description !== undefined,
      definition: body.definition ?? '',
      multiplayer_last_modified_by: principal.userId,
      multiplayer_last_modified: now,
      published: body.published ?? true,
      archived: body.archived ?? false,
      archived_at: body.archived === true ? now : null,
      pii: body.pii ?? false,
      verified: body.verified ?? false,
      external_updated_at: normalizeTimestamp(body.external_updated_at),
      internal_usage: body.internal_usage ?? 0,
      external_usage: body.external_usage ?? 0,
      databuilder_id: body.databuilder_id ?? null,
      row_count: body.row_count ?? null,
      byte_size: body.byte_size ?? null,
      question_status: body.question_status ?? (question ? 'OPEN' : null),
      question_priority: body.question_priority ?? (question ? 'MEDIUM' : null),
      question_assigned_to: assignee ?? null,
      accepted: body.accepted ?? false,
      created_by: principal.userId,
    }
    const relations: Relations = { ...emptyRelations(), ...lists, multiplayers: [principal.userId] }
    const id = await insertResourceRow(trx, values, relations, parent)
    if (values.accepted === true) {
      await settleAnswer(trx, { id, parent_id: parent?.id ?? null, created_by: principal.userId }, true, now)
    }
    const custom =
      body.custom_properties === undefined
        ? {}
        : (
            await applyCustomValues(
              trx,
              principal,
              { id, entity_type: entityType },
              body.custom_properties,
              {},
              await new WriteDefinitions(principal.workspaceId).named(trx, Object.keys(body.custom_properties)),
            )
          ).values
    // The answer is made from what was written, not read again after the commit.
    // newResourceValues sets every other column (Insertable only types them as optional).
    const row = {
      ...COLUMNS_NOT_SET_ON_CREATE,
      ...values,
      id,
      description_by_person: values.description_by_person ?? false,
      children_count: 0,
    } as ResourceRow
    return toResource(row, relations, permissionsFor(principal), custom)
  })
}

function normalizeTimestamp(value: string | null | undefined): string | null {
  if (value === undefined || value === null) {
    return null
  }
  const time = parseTimestamp(value)
  if (time === undefined) {
    throw fieldError('external_updated_at', 'must be a real date between the years 1 and 9999')
  }
  return time
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}

export async function updateResource(
  store: Store,
  principal: Principal,
  entityType: string | undefined,
  id: string,
  patch: ResourceUpdate,
  /** `If-Match` (src/http/etag.ts): checked against the resource as the transaction read it, before any change. */
  precondition?: (current: Resource) => void,
): Promise<Resource> {
  // The answer is made from what the transaction read and wrote, not read again after the commit.
  const definitions = new WriteDefinitions(principal.workspaceId)
  return write(store, (trx) => applyUpdate(store, trx, principal, entityType, id, patch, definitions, precondition))
}

/**
 * CONTRACT §10: the value of the custom property `propertyId` on one resource, as a PATCH of its
 * `custom_properties` would set it, the property read by id in the write's transaction (404 when there is none).
 */
export async function setCustomValue(
  store: Store,
  principal: Principal,
  propertyId: string,
  id: string,
  value: unknown,
): Promise<{ name: string }> {
  const definitions = new WriteDefinitions(principal.workspaceId)
  return write(store, async (trx) => {
    const definition = await definitions.byId(trx, propertyId)
    if (definition === undefined) throw propertyNotFound()
    const patch = { custom_properties: { [definition.name]: value } }
    try {
      await applyUpdate(store, trx, principal, undefined, id, patch, definitions)
    } catch (error) {
      throw asValueError(error, `custom_properties.${definition.name}`)
    }
    return { name: definition.name }
  })
}

/** The errors of a value set through its own route name the body's `value` (`value[2]`), not the property. */
function asValueError(error: unknown, field: string): unknown {
  if (!(error instanceof ApiError) || error.errors === undefined) return error
  return validationFailed(
    error.errors.map((e) => (e.field.startsWith(field) ? { ...e, field: `value${e.field.slice(field.length)}` } : e)),
  )
}

/** One PATCH, in the caller's transaction. */
async function applyUpdate(
  store: Store,
  trx: Kysely<DB>,
  principal: Principal,
  entityType: string | undefined,
  id: string,
  patch: ResourceUpdate,
  definitions: WriteDefinitions,
  precondition?: (current: Resource) => void,
): Promise<Resource> {
  const lists = writableLists(patch)
  // The definitions first: the resource's values, read next, then carry the names they name now.
  const custom = patch.custom_properties
  const named = custom === undefined ? undefined : await definitions.named(trx, Object.keys(custom))
  if (patch.published !== undefined || patch.teams !== undefined) {
    await lockVisibility(trx, principal.workspaceId)
  }
  if (patch.accepted !== undefined && store.engine === 'postgres') {
    await lockQuestionOf(trx, principal.workspaceId, id)
  }
  const found = await lockResource(store, trx, principal, id, entityType)
  if (found === undefined) {
    throw notFound()
  }
  const { row, relations: current, custom: currentCustom } = found
  requireWrite(principal)
  // Compared in their API form, so 0/1, Date and string timestamps all compare as the client sees them.
  const stored = toResource(row, current, permissionsFor(principal), currentCustom)
  precondition?.(stored)
  patch = withoutQuestionFieldsOf(row.entity_type, patch)
  await checkAssignee(trx, principal.workspaceId, patch)
  if (patch.integration !== undefined && (patch.integration?.toLowerCase() ?? null) !== row.integration_id) {
    throw fieldError('integration', 'cannot be changed: a resource stays in the integration it was created in')
  }
  if (patch.parent !== undefined && (patch.parent?.toLowerCase() ?? null) !== row.parent_id) {
    throw fieldError('parent', 'cannot be changed: a resource stays where it was created in the hierarchy')
  }
  await checkAll(trx, principal, undefined, patch, current.teams)
  if (lists.teams !== undefined && lists.teams.length === 0) {
    lists.teams = [await findDefaultTeamId(trx, principal.workspaceId)]
  }
  const changedLists: Partial<Relations> = {}
  for (const field of WRITABLE_LISTS) {
    const next = lists[field]
    if (next !== undefined && !sameList(next, current[field])) {
      changedLists[field] = next
    }
  }
  const incoming = {
    ...patch,
    external_updated_at: normalizeTimestamp(patch.external_updated_at),
    question_assigned_to: patch.question_assigned_to?.toLowerCase() ?? patch.question_assigned_to,
  }
  const changes: Partial<ResourceValues> = {}
  for (const field of WRITABLE_SCALARS) {
    if (patch[field] !== undefined && incoming[field] !== stored[field]) {
      Object.assign(changes, { [field]: incoming[field] })
    }
  }
  const values =
    custom === undefined || named === undefined
      ? { values: currentCustom, changed: false }
      : await applyCustomValues(trx, principal, row, custom, currentCustom, named)
  if (Object.keys(changes).length === 0 && Object.keys(changedLists).length === 0 && !values.changed) {
    return stored
  }
  const now = nowIso()
  if (changes.description !== undefined) {
    changes.description_by_person = true
  }
  if (changes.definition !== undefined) {
    changes.definition_version = row.definition_version + 1
  }
  if (changes.archived !== undefined) {
    changes.archived_at = changes.archived ? now : null
  }
  if (changes.title !== undefined) {
    const parent =
      row.parent_id === null
        ? undefined
        : await findResourceRow(trx, { workspaceId: principal.workspaceId }, row.parent_id)
    Object.assign(changes, placeUnder(parent, row.entity_type, changes.title))
  }
  changes.updated_at = now
  changes.multiplayer_last_modified = now
  changes.multiplayer_last_modified_by = principal.userId
  await updateResourceRow(trx, id, changes)
  if (changes.accepted !== undefined && row.entity_type === 'question_reply') {
    await settleAnswer(trx, row, changes.accepted === true, now)
  }
  if (changes.title !== undefined) {
    await refreshDescendantPlaces(trx, id)
  }
  await replaceRelations(trx, id, await withHiddenKept(trx, principal, id, changedLists, current))
  if (changes.published !== undefined || changedLists.teams !== undefined) {
    await refreshSubtrees(trx, [id])
  }
  if (!current.multiplayers.includes(principal.userId)) {
    await appendToList(trx, 'multiplayers', id, principal.userId)
    changedLists.multiplayers = [...current.multiplayers, principal.userId]
  }
  return toResource({ ...row, ...changes }, { ...current, ...changedLists }, permissionsFor(principal), values.values)
}

/** The most items (or resources a filter picks) one bulk update takes (CONTRACT §12). */
export const BULK_ITEMS = 1000

/**
 * CONTRACT §12: every item as its own PATCH, all in one transaction: the first item that fails fails them all,
 * with its fields named from the item (`[3].data.owners[0]`, `[3].id`). On PostgreSQL the rows are locked first,
 * in id order (and the workspace's visibility before them when an item changes it), so two bulk updates over the
 * same resources wait for each other instead of deadlocking.
 */
export async function bulkUpdate(
  store: Store,
  principal: Principal,
  items: { id: string; data: ResourceUpdate }[],
): Promise<Resource[]> {
  requireWrite(principal)
  return write(store, async (trx) => {
    if (store.engine === 'postgres') {
      if (items.some((item) => item.data.published !== undefined || item.data.teams !== undefined)) {
        await lockVisibility(trx, principal.workspaceId)
      }
      for (const id of [...new Set(items.map((item) => item.id.toLowerCase()))].sort()) {
        await lockResourceRow(trx, principal.workspaceId, id)
      }
    }
    const updated: Resource[] = []
    const definitions = new WriteDefinitions(principal.workspaceId)
    for (const [index, item] of items.entries()) {
      try {
        updated.push(await applyUpdate(store, trx, principal, undefined, item.id.toLowerCase(), item.data, definitions))
      } catch (error) {
        throw ofItem(error, index, item.id)
      }
    }
    return updated
  })
}

/** An item's failure, its fields named from the item. */
function ofItem(error: unknown, index: number, id: string): unknown {
  if (!(error instanceof ApiError)) return error
  if (error.code === 'NOT_FOUND') {
    return fieldError(`[${index}].id`, `refers to ${id}, which is not a resource of this workspace`)
  }
  if (error.errors !== undefined) {
    return validationFailed(error.errors.map((e) => ({ field: `[${index}].data.${e.field}`, message: e.message })))
  }
  return new ApiError(error.code, `[${index}]: ${error.detail}`)
}

/**
 * The lists to write: a caller who is not an admin was shown, and could send, only the resources it may see in
 * `collections` and `sources`, so those it may not see stay, after the ones it sent.
 */
async function withHiddenKept(
  db: Kysely<DB>,
  principal: Principal,
  id: string,
  lists: Partial<Relations>,
  shown: Relations,
): Promise<Partial<Relations>> {
  if (visibilityOf(principal) === 'all') {
    return lists
  }
  let kept = lists
  for (const field of RESOURCE_LISTS) {
    const sent = lists[field]
    if (sent === undefined) continue
    const hidden = (await findList(db, field, id)).filter((target) => !shown[field].includes(target))
    if (hidden.length > 0) kept = { ...kept, [field]: [...sent, ...hidden.filter((target) => !sent.includes(target))] }
  }
  return kept
}

/** Reads a resource for update: on PostgreSQL the row stays locked until the transaction ends. */
async function lockResource(
  store: Store,
  trx: Kysely<DB>,
  principal: Principal,
  id: string,
  entityType: string | undefined,
) {
  if (store.engine === 'postgres' && !(await lockResourceRow(trx, principal.workspaceId, id))) {
    return undefined
  }
  return findResource(trx, principal, id, entityType)
}

export async function deleteResource(
  store: Store,
  principal: Principal,
  entityType: string | undefined,
  id: string,
  /** `If-Match` (src/http/etag.ts): checked against the resource as the transaction reads it, before deleting. */
  precondition?: (current: Resource) => void,
): Promise<void> {
  const row = await findResourceRow(store.db, scopeOf(principal, 'row'), id, entityType)
  if (row === undefined) {
    throw notFound()
  }
  if (!permissionsFor(principal).execute) {
    throw new ApiError('PERMISSION_DENIED', 'Only an admin may delete catalog resources.')
  }
  const deleted = await write(store, async (trx) => {
    // The question first, as when a reply is accepted: otherwise a reply accepted meanwhile would stay accepted
    // under a question this reopens.
    if (store.engine === 'postgres') await lockQuestionOf(trx, principal.workspaceId, id)
    if (precondition !== undefined) {
      const found = await lockResource(store, trx, principal, id, entityType)
      if (found === undefined) return false
      precondition(toResource(found.row, found.relations, permissionsFor(principal), found.custom))
    }
    await reopenIfAcceptedReply(trx, principal.workspaceId, id, nowIso())
    return deleteResourceRow(trx, principal.workspaceId, id)
  })
  if (!deleted) {
    throw notFound()
  }
}

/** A table's columns as a short list (tools for AI assistants): those the caller sees, primary keys first. */
export function listColumnSummaries(
  store: Store,
  principal: Principal,
  tableId: string,
  limit: number,
): Promise<{ count: number; columns: ColumnSummary[] }> {
  return findColumnSummaries(store.db, scopeOf(principal), tableId, limit)
}
