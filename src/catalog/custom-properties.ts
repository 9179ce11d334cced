import type { Kysely } from 'kysely'
import { isAdmin, type Principal } from '../access/principal.ts'
import { requireAdmin } from '../access/rules.ts'
import { visibleResources } from '../access/visibility.ts'
import type { DB, Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { lockWorkspace } from '../directory/workspaces/repository.ts'
import { ApiError, type FieldError, fieldError, validationFailed } from '../errors.ts'
import { isUuid } from '../http/uuid.ts'
import { CUSTOM_PREFIX } from './filter.ts'
import { ENTITY_TYPES } from './hierarchy.ts'
import {
  byCodePoint,
  type CustomValue,
  type CustomValues,
  countDefinitions,
  countValues,
  deleteDefinition,
  type Element,
  findDefinition,
  findValueIds,
  insertDefinition,
  isDate,
  listDefinitions,
  optionOf,
  type PropertyDefinition,
  updateDefinition,
  VALUE_COLUMNS,
  VALUE_TYPES,
  type ValueType,
  writeOptions,
  writeValue,
} from './repository/custom-values.ts'

/** Custom properties (CONTRACT §10): definitions (admins write them), and values checked by their type. */

export type { PropertyDefinition, ValueType }

/** The most definitions a workspace holds: the list is answered whole, as a bare array. */
export const MAX_DEFINITIONS = 1000
/** The most options a select property offers, and the most ids a value holds. */
export const MAX_OPTIONS = 500
export const MAX_VALUE_IDS = 1000
/** A string value's length, in characters (CONTRACT §10). */
export const MAX_STRING = 255

const WHAT = 'custom properties'
const CLASH = 'Another custom property of this workspace already has this name.'

export function propertyNotFound(): ApiError {
  return new ApiError('NOT_FOUND', 'Custom property not found.')
}

/**
 * The definitions a write names, read once per transaction (a bulk update shares them across its items): only the
 * names asked for, share-locked on PostgreSQL until the write commits (a concurrent change of one waits for the
 * write, or the write reads it as changed).
 */
export class WriteDefinitions {
  readonly #read = new Map<string, PropertyDefinition | null>()

  constructor(private readonly workspaceId: string) {}

  async named(trx: Kysely<DB>, names: readonly string[]): Promise<ReadonlyMap<string, PropertyDefinition>> {
    const missing = [...new Set(names)].filter((name) => !this.#read.has(name))
    if (missing.length > 0) {
      const found = await listDefinitions(trx, this.workspaceId, { names: missing, lock: 'share' })
      for (const name of missing) this.#read.set(name, null)
      for (const definition of found) this.#read.set(definition.name, definition)
    }
    const named = new Map<string, PropertyDefinition>()
    for (const name of names) {
      const definition = this.#read.get(name)
      if (definition) named.set(name, definition)
    }
    return named
  }

  /** One definition by id (the value route), read and locked like the named ones. */
  async byId(trx: Kysely<DB>, id: string): Promise<PropertyDefinition | undefined> {
    const [found] = isUuid(id)
      ? await listDefinitions(trx, this.workspaceId, { ids: [id.toLowerCase()], lock: 'share' })
      : []
    if (found !== undefined) this.#read.set(found.name, found)
    return found
  }
}

/** Every `field` a filter or sort text names (at any depth, `tie_breaker`s included); none when it is not JSON. */
function fieldsNamed(text: string): string[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return []
  }
  const fields: string[] = []
  const walk = (node: unknown, depth: number) => {
    if (depth > 64 || node === null || typeof node !== 'object') return
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1)
      return
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'field' && typeof value === 'string') fields.push(value)
      else walk(value, depth + 1)
    }
  }
  walk(parsed, 0)
  return fields
}

/**
 * The definitions a filter or sort names (`custom_properties.<name>`), read only when it names one: a filter
 * without any costs no statement.
 */
export async function customPropertiesNamed(
  db: Kysely<DB>,
  workspaceId: string,
  ...texts: (string | undefined)[]
): Promise<Map<string, PropertyDefinition> | undefined> {
  const names = texts
    .flatMap((text) => (text === undefined ? [] : fieldsNamed(text)))
    .filter((field) => field.startsWith(CUSTOM_PREFIX))
    .map((field) => field.slice(CUSTOM_PREFIX.length))
  if (names.length === 0) return undefined
  const found = await listDefinitions(db, workspaceId, { names: [...new Set(names)] })
  return new Map(found.map((definition) => [definition.name, definition]))
}

/** The definitions as a reader sees them: a non-admin sees an integration only when it is one of its teams'. */
export function listDefinitionsFor(store: Store, principal: Principal): Promise<PropertyDefinition[]> {
  return listDefinitions(store.db, principal.workspaceId, { memberId: memberOf(principal) })
}

const memberOf = (principal: Principal) => (isAdmin(principal) ? undefined : principal.userId)

const characters = (text: string) => [...text].length

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  // What was sent is quoted, not echoed whole: a value can be a megabyte.
  return `${typeof value} ${characters(text) > 60 ? `${[...text].slice(0, 40).join('')}…` : text}`
}

export function appliesTo(definition: Pick<PropertyDefinition, 'entity_types'>, entityType: string): boolean {
  const types = definition.entity_types
  return types.length === 0 || types.includes('all') || types.includes(entityType)
}

/** A value checked against its type: the elements to store (none: cleared), and the value as the API shows it. */
interface Checked {
  elements: Element[]
  shown: CustomValue | undefined
}

/**
 * Checks the form of a value; throws a field error at `field`. A value of ids comes back as sent (`ids`, each a
 * string, in the body's order and with the body's indexes), for checkIds.
 */
function checkForm(definition: PropertyDefinition, value: unknown, field: string): Checked | { ids: string[] } {
  if (value === null) return { elements: [], shown: undefined }
  const type = definition.value_type
  const column = VALUE_COLUMNS[type]
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw fieldError(field, `takes text (a string property), not ${describe(value)}`)
      if (characters(value) > MAX_STRING)
        throw fieldError(field, `takes at most ${MAX_STRING} characters, not ${characters(value)}`)
      return { elements: [{ column, value }], shown: value }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw fieldError(field, `takes a number (a number property), not ${describe(value)}`)
      return { elements: [{ column, value }], shown: value }
    case 'boolean':
      if (typeof value !== 'boolean')
        throw fieldError(field, `takes true or false (a boolean property), not ${describe(value)}`)
      return { elements: [{ column, value }], shown: value }
    case 'date':
      if (typeof value !== 'string' || !isDate(value))
        throw fieldError(field, `takes a date such as 2026-01-31 (a date property), not ${describe(value)}`)
      return { elements: [{ column, value }], shown: value }
    default: {
      const noun = type === 'select' ? 'option' : type
      if (!Array.isArray(value))
        throw fieldError(field, `takes an array of ${noun} ids (a ${type} property), not ${describe(value)}`)
      if (value.length > MAX_VALUE_IDS)
        throw fieldError(field, `takes at most ${MAX_VALUE_IDS} ids, not ${value.length}`)
      const errors: FieldError[] = []
      value.forEach((id, index) => {
        if (typeof id !== 'string' || (type !== 'select' && !isUuid(id))) {
          const what = type === 'select' ? "an option's id or name" : `a ${noun} id (a UUID)`
          errors.push({ field: `${field}[${index}]`, message: `must be ${what}, not ${describe(id)}` })
        }
      })
      if (errors.length > 0) throw validationFailed(errors)
      return { ids: value as string[] }
    }
  }
}

/**
 * The ids a user, resource or select value names, each checked like every reference of the workspace: users of
 * the workspace, resources the caller may see, the property's own options (by id in any case, or by name: stored
 * as the id). Errors carry the index each id had in the body; repeated ids are kept once, first place first.
 */
async function checkIds(
  db: Kysely<DB>,
  principal: Principal,
  definition: PropertyDefinition,
  sent: string[],
  field: string,
): Promise<Checked> {
  const type = definition.value_type
  let resolve: (id: string) => string | undefined
  let noun: string
  if (type === 'select') {
    resolve = (id) => optionOf(definition, id)
    noun = `an option of ${definition.name}`
  } else {
    const lower = [...new Set(sent.map((id) => id.toLowerCase()))]
    let found: Set<string>
    if (lower.length === 0) {
      found = new Set()
    } else if (type === 'user') {
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where('workspace_id', '=', principal.workspaceId)
        .where('id', 'in', lower)
        .execute()
      found = new Set(rows.map((row) => row.id))
    } else {
      const visible = visibleResources(principal, 'row')
      let query = db
        .selectFrom('resources')
        .select('id')
        .where('workspace_id', '=', principal.workspaceId)
        .where('id', 'in', lower)
      if (visible !== undefined) query = query.where(visible('resources'))
      found = new Set((await query.execute()).map((row) => row.id))
    }
    resolve = (id) => (found.has(id.toLowerCase()) ? id.toLowerCase() : undefined)
    // A resource the caller may not see is not told apart from one that does not exist (CONTRACT §7).
    noun = type === 'user' ? 'a user of this workspace' : 'a resource of this workspace'
  }
  const errors: FieldError[] = []
  const ids: string[] = []
  sent.forEach((id, index) => {
    const resolved = resolve(id)
    if (resolved === undefined)
      errors.push({ field: `${field}[${index}]`, message: `refers to ${id}, which is not ${noun}` })
    else if (!ids.includes(resolved)) ids.push(resolved)
  })
  if (errors.length > 0) throw validationFailed(errors)
  const column = VALUE_COLUMNS[type]
  return { elements: ids.map((value) => ({ column, value })), shown: ids.length === 0 ? undefined : ids }
}

function sameValue(a: CustomValue | undefined, b: CustomValue | undefined): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((id, i) => id === b[i])
  return a === b
}

/**
 * Applies the `custom_properties` of a create or PATCH body (name → value; null clears) to one resource, in the
 * write's transaction: each name must be a property of the workspace that applies to the resource's type, and each
 * value must be of its type. Answers the resource's values afterwards as the caller is shown them, and whether any
 * changed. A caller who is not an admin keeps, in a resource value, the resources it may not see.
 */
export async function applyCustomValues(
  db: Kysely<DB>,
  principal: Principal,
  resource: { id: string; entity_type: string },
  input: Record<string, unknown>,
  current: CustomValues,
  definitions: ReadonlyMap<string, PropertyDefinition>,
): Promise<{ values: CustomValues; changed: boolean }> {
  const next = new Map(Object.entries(current))
  let changed = false
  for (const [name, value] of Object.entries(input)) {
    const field = `custom_properties.${name}`
    const definition = definitions.get(name)
    if (definition === undefined) {
      throw fieldError(field, `no custom property of this workspace is named ${JSON.stringify(name)}`)
    }
    if (!appliesTo(definition, resource.entity_type)) {
      throw fieldError(
        field,
        `applies to ${definition.entity_types.join(', ')}, not to a ${resource.entity_type}; an admin may add the type to the property's entity_types`,
      )
    }
    const form = checkForm(definition, value, field)
    const checked = 'ids' in form ? await checkIds(db, principal, definition, form.ids, field) : form
    const had = next.get(name)
    if (sameValue(checked.shown, had)) continue
    let elements = checked.elements
    if (definition.value_type === 'resource' && !isAdmin(principal)) {
      const shown = Array.isArray(had) ? had : []
      const sent = new Set(elements.map((element) => String(element.value)))
      const hidden = (await findValueIds(db, resource.id, definition.id)).filter(
        (id) => !shown.includes(id) && !sent.has(id),
      )
      elements = [...elements, ...hidden.map((id) => ({ column: VALUE_COLUMNS.resource, value: id }) as Element)]
    }
    await writeValue(db, resource.id, definition.id, elements)
    changed = true
    if (checked.shown === undefined) next.delete(name)
    else next.set(name, checked.shown)
  }
  const names = [...next.keys()].sort(byCodePoint)
  return { values: Object.fromEntries(names.map((name) => [name, next.get(name) as CustomValue])), changed }
}

// Definitions.

export interface DefinitionInput {
  name?: string | undefined
  entity_types?: string | string[] | undefined
  value_type?: string | undefined
  integration?: string | null | undefined
  options?: (string | { id?: string | undefined; name: string })[] | undefined
}

function checkName(name: string): string {
  if (name.trim() === '') throw fieldError('name', 'must not be empty or only spaces')
  if (name === '__proto__') throw fieldError('name', 'cannot be "__proto__", which no JSON body may use as a key')
  return name
}

function checkEntityTypes(input: string | string[]): string[] {
  const types = typeof input === 'string' ? [input] : input
  const errors: FieldError[] = []
  types.forEach((type, index) => {
    if (type !== 'all' && !ENTITY_TYPES.includes(type)) {
      errors.push({
        field: typeof input === 'string' ? 'entity_types' : `entity_types[${index}]`,
        message: `is not an entity type; use "all" or some of ${ENTITY_TYPES.join(', ')}`,
      })
    }
  })
  if (errors.length > 0) throw validationFailed(errors)
  return [...new Set(types)]
}

function checkValueType(type: string): ValueType {
  if (!(VALUE_TYPES as readonly string[]).includes(type)) {
    throw fieldError('value_type', `must be one of ${VALUE_TYPES.join(', ')}, not ${JSON.stringify(type)}`)
  }
  return type as ValueType
}

async function checkIntegration(db: Kysely<DB>, workspaceId: string, id: string | null | undefined) {
  if (id === undefined || id === null) return id
  const lower = id.toLowerCase()
  const found = isUuid(lower)
    ? await db
        .selectFrom('integrations')
        .select('id')
        .where('id', '=', lower)
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst()
    : undefined
  if (found === undefined)
    throw fieldError('integration', `refers to ${id}, which is not an integration of this workspace`)
  return lower
}

/** The options of a select property as written: names, each kept with its id when it names an existing option. */
function checkOptions(
  type: ValueType,
  options: NonNullable<DefinitionInput['options']>,
  existing: PropertyDefinition['options'],
): { id?: string; name: string }[] {
  if (type !== 'select') {
    if (options.length > 0) throw fieldError('options', `only a select property has options, not a ${type} property`)
    return []
  }
  if (options.length > MAX_OPTIONS)
    throw fieldError('options', `takes at most ${MAX_OPTIONS} options, not ${options.length}`)
  const names = new Set<string>()
  return options.map((option, index) => {
    const name = typeof option === 'string' ? option : option.name
    const id = typeof option === 'string' ? undefined : option.id?.toLowerCase()
    const at = `options[${index}]`
    if (name.trim() === '' || characters(name) > MAX_STRING)
      throw fieldError(at, `a name takes 1 to ${MAX_STRING} characters, not only spaces`)
    if (names.has(name)) throw fieldError(at, `names ${JSON.stringify(name)} twice`)
    names.add(name)
    if (id !== undefined) {
      if (!existing.some((o) => o.id === id))
        throw fieldError(`${at}.id`, `refers to ${id}, which is not an option of this property`)
      return { id, name }
    }
    const same = existing.find((o) => o.name === name)
    return same === undefined ? { name } : { id: same.id, name }
  })
}

export async function createDefinition(
  store: Store,
  principal: Principal,
  input: DefinitionInput & { name: string },
): Promise<PropertyDefinition> {
  requireAdmin(principal, WHAT)
  const name = checkName(input.name)
  const type = checkValueType(input.value_type ?? 'string')
  const entityTypes = checkEntityTypes(input.entity_types ?? [])
  const options = checkOptions(type, input.options ?? [], [])
  return store.write(
    async (trx) => {
      // Counted under the workspace's lock, so two creates at once cannot both pass the cap.
      await lockWorkspace(trx, principal.workspaceId)
      if ((await countDefinitions(trx, principal.workspaceId)) >= MAX_DEFINITIONS) {
        throw new ApiError(
          'BAD_REQUEST',
          `A workspace holds at most ${MAX_DEFINITIONS} custom properties; delete one first.`,
        )
      }
      const integration = await checkIntegration(trx, principal.workspaceId, input.integration)
      const values = { name, value_type: type, entity_types: entityTypes, integration_id: integration ?? null }
      const id = await insertDefinition(
        trx,
        principal.workspaceId,
        values,
        options.map((o) => o.name),
        nowIso(),
      )
      // The answer is what the transaction wrote, read in it.
      return (await findDefinition(trx, principal.workspaceId, id)) as PropertyDefinition
    },
    { clash: CLASH },
  )
}

/**
 * PUT (`whole`: every field as sent, the others to their defaults) or PATCH. A property's type cannot change while
 * a resource holds a value of it, nor can its entity types leave out a type that holds one: nothing is dropped
 * that a person set, and the error says how many values are in the way.
 */
export async function changeDefinition(
  store: Store,
  principal: Principal,
  id: string,
  input: DefinitionInput,
  whole: boolean,
): Promise<PropertyDefinition> {
  const before = await findDefinition(store.db, principal.workspaceId, id)
  if (before === undefined) throw propertyNotFound()
  requireAdmin(principal, WHAT)
  const full = whole ? { entity_types: [], value_type: 'string', integration: null, options: [], ...input } : input
  return store.write(
    async (trx) => {
      const current = await findDefinition(trx, principal.workspaceId, id, { lock: 'update' })
      if (current === undefined) throw propertyNotFound()
      const changes: Parameters<typeof updateDefinition>[2] = {}
      if (full.name !== undefined) changes.name = checkName(full.name)
      const type = full.value_type === undefined ? current.value_type : checkValueType(full.value_type)
      if (type !== current.value_type) {
        const held = await countValues(trx, id)
        if (held > 0) {
          throw fieldError(
            'value_type',
            `cannot change from ${current.value_type} while ${held} resource(s) hold a value of this property; clear them first`,
          )
        }
        changes.value_type = type
      }
      if (full.entity_types !== undefined) {
        const types = checkEntityTypes(full.entity_types)
        const every = types.length === 0 || types.includes('all')
        const outside = every ? 0 : await countValues(trx, id, types)
        if (outside > 0) {
          throw fieldError(
            'entity_types',
            `leaves out the types of ${outside} resource(s) that hold a value of this property; clear those values first`,
          )
        }
        changes.entity_types = types
      }
      if (full.integration !== undefined) {
        changes.integration_id = (await checkIntegration(trx, principal.workspaceId, full.integration)) ?? null
      }
      await updateDefinition(trx, id, changes, nowIso())
      if (full.options !== undefined || type !== 'select') {
        await writeOptions(trx, id, checkOptions(type, full.options ?? [], current.options))
      }
      return (await findDefinition(trx, principal.workspaceId, id)) as PropertyDefinition
    },
    { clash: CLASH },
  )
}

export async function removeDefinition(store: Store, principal: Principal, id: string): Promise<void> {
  if ((await findDefinition(store.db, principal.workspaceId, id)) === undefined) throw propertyNotFound()
  requireAdmin(principal, WHAT)
  const deleted = await store.write((trx) => deleteDefinition(trx, principal.workspaceId, id))
  if (!deleted) throw propertyNotFound()
}

export async function getDefinition(store: Store, principal: Principal, id: string): Promise<PropertyDefinition> {
  const found = isUuid(id)
    ? await findDefinition(store.db, principal.workspaceId, id.toLowerCase(), { memberId: memberOf(principal) })
    : undefined
  if (found === undefined) throw propertyNotFound()
  return found
}
