import type { Kysely } from 'kysely'
import type { RelationRow } from '../catalog/repository/relations.ts'
import { insertResourceRows, newResourceValues, type ResourceValues } from '../catalog/repository/writes.ts'
import { placeUnder } from '../catalog/titles.ts'
import { noteChange } from '../db/change-counter.ts'
import { inIds } from '../db/dialect.ts'
import { newResourceId } from '../db/ids.ts'
import type { DB, Store } from '../db/types.ts'
import { nowIso } from '../db/values.ts'
import { type FoundEdges, pairOf, replaceFoundEdges } from '../lineage/repository.ts'
import type { SyncCounts } from './runs.ts'
import { ExtractError, type SourceRef, type SourceSnapshot } from './source.ts'

/** One object of the source as the catalog should hold it. */
interface Wanted {
  key: string
  parentKey: string | undefined
  entityType: 'database' | 'schema' | 'table' | 'column'
  title: string
  nativeType: string
  comment: string | null
  rowCount: number | null
  byteSize: number | null
  dataType: string | null
  sortOrder: number | null
  isPk: boolean | null
  isNullable: boolean | null
}

/** What the catalog holds of a source object, and only what a sync compares or needs to place children. */
interface Held {
  id: string
  databuilder_id: string
  entity_type: string
  title: string
  title_full: string
  search_database: string | null
  search_schema: string | null
  integration_id: string | null
  native_type: string | null
  description: string
  description_by_person: boolean | number
  row_count: number | null
  byte_size: number | null
  data_type: string | null
  sort_order: number | null
  is_pk: boolean | number | null
  is_nullable: boolean | number | null
  stale: boolean | number
}

/**
 * Whole tables go into one transaction: a crash never leaves half a table's columns. Batches stay small because
 * SQLite work is synchronous: between batches the event loop serves requests and signals (Ctrl-C).
 */
const TABLES_PER_BATCH = 25

/** A name as one part of a databuilder_id: `.` and `%` are percent-encoded, so parts never run together. */
function part(name: string): string {
  return name.replace(/%/g, '%25').replace(/\./g, '%2E')
}

/**
 * The snapshot as wanted objects, in batches of whole tables (parents before children): the first batch holds
 * the databases and schemas, each later one up to TABLES_PER_BATCH tables with their columns.
 */
function plan(integrationId: string, snapshot: SourceSnapshot): Wanted[][] {
  const top: Wanted[] = []
  const batches: Wanted[][] = [top]
  let batch: Wanted[] = []
  let tablesInBatch = 0
  const none = { rowCount: null, byteSize: null, dataType: null, sortOrder: null, isPk: null, isNullable: null }
  for (const database of snapshot.databases) {
    const dbKey = `${integrationId}.${part(database.name)}`
    top.push({
      key: dbKey,
      parentKey: undefined,
      entityType: 'database',
      title: database.name,
      nativeType: 'database',
      comment: database.comment,
      ...none,
    })
    for (const schema of database.schemas) {
      const schemaKey = `${dbKey}.${part(schema.name)}`
      top.push({
        key: schemaKey,
        parentKey: dbKey,
        entityType: 'schema',
        title: schema.name,
        nativeType: 'schema',
        comment: schema.comment,
        ...none,
      })
      for (const table of schema.tables) {
        const tableKey = `${schemaKey}.${part(table.name)}`
        batch.push({
          ...none,
          key: tableKey,
          parentKey: schemaKey,
          entityType: 'table',
          title: table.name,
          nativeType: table.nativeType,
          comment: table.comment,
          rowCount: table.rowCount,
          byteSize: table.byteSize,
        })
        for (const column of table.columns) {
          batch.push({
            key: `${tableKey}.${part(column.name)}`,
            parentKey: tableKey,
            entityType: 'column',
            title: column.name,
            nativeType: column.dataType,
            comment: column.comment,
            rowCount: null,
            byteSize: null,
            dataType: column.dataType,
            sortOrder: column.position,
            isPk: column.isPk,
            isNullable: column.nullable,
          })
        }
        tablesInBatch += 1
        if (tablesInBatch === TABLES_PER_BATCH) {
          batches.push(batch)
          batch = []
          tablesInBatch = 0
        }
      }
    }
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

async function loadHeld(db: Kysely<DB>, integrationId: string): Promise<Map<string, Held>> {
  const rows = await db
    .selectFrom('resources')
    .select([
      'id',
      'databuilder_id',
      'entity_type',
      'title',
      'title_full',
      'search_database',
      'search_schema',
      'integration_id',
      'native_type',
      'description',
      'description_by_person',
      'row_count',
      'byte_size',
      'data_type',
      'sort_order',
      'is_pk',
      'is_nullable',
      'stale',
    ])
    .where('integration_id', '=', integrationId)
    .where('databuilder_id', 'is not', null)
    .execute()
  return new Map(rows.map((row) => [row.databuilder_id as string, row as Held]))
}

const flag = (value: boolean | number | null) => (value === null ? null : Boolean(value))
const count = (value: number | string | null) => (value === null ? null : Number(value))

/** The extracted columns that differ from what the catalog holds, as the values to write. */
function changesFor(wanted: Wanted, held: Held): Partial<ResourceValues> {
  const changes: Partial<ResourceValues> = {}
  if (held.native_type !== wanted.nativeType) changes.native_type = wanted.nativeType
  // A comment replaces a description nobody wrote by hand; no comment leaves the description as it is (dbt's,
  // an import's, or an earlier comment's).
  if (!held.description_by_person && wanted.comment && held.description !== wanted.comment) {
    changes.description = wanted.comment
  }
  if (count(held.row_count) !== wanted.rowCount) changes.row_count = wanted.rowCount
  if (count(held.byte_size) !== wanted.byteSize) changes.byte_size = wanted.byteSize
  if (held.data_type !== wanted.dataType) changes.data_type = wanted.dataType
  if (held.sort_order !== wanted.sortOrder) changes.sort_order = wanted.sortOrder
  if (flag(held.is_pk) !== wanted.isPk) changes.is_pk = wanted.isPk
  if (flag(held.is_nullable) !== wanted.isNullable) changes.is_nullable = wanted.isNullable
  if (held.stale) {
    changes.stale = false
    changes.stale_at = null
  }
  return changes
}

export interface SyncTarget {
  integrationId: string
  workspaceId: string
  /** Teams a resource that the sync creates joins. */
  teamIds: string[]
}

export interface SyncOptions {
  signal?: AbortSignal | undefined
  /** Called after each committed batch with the objects done so far and the total. */
  progress?: (done: number, total: number, counts: SyncCounts) => void | Promise<void>
}

/**
 * Brings the catalog in step with a snapshot of the source: creates what is new, updates what extraction reads
 * where it changed (never curated fields, never a description a person wrote), marks `stale` what left the
 * source, and clears that mark from what came back. Idempotent: a second run with no change writes nothing.
 * When the snapshot has problems (parts it could not read), nothing is marked stale.
 */
export async function syncSnapshot(
  store: Store,
  target: SyncTarget,
  snapshot: SourceSnapshot,
  options: SyncOptions = {},
): Promise<SyncCounts> {
  const db = store.db
  const counts: SyncCounts = { created: 0, updated: 0, unchanged: 0, staled: 0 }
  const batches = plan(target.integrationId, snapshot)
  const total = batches.reduce((n, b) => n + b.length, 0)
  const held = await loadHeld(db, target.integrationId)
  const seen = new Set<string>()
  let done = 0
  for (const batch of batches) {
    await new Promise((resolve) => setImmediate(resolve))
    if (options.signal?.aborted) {
      throw new ExtractError(`stopped after ${done} of ${total} objects; what was synced so far is kept`)
    }
    await store.write(
      async (trx) => {
        const now = nowIso()
        const rows: (ResourceValues & { id: string })[] = []
        const relations: RelationRow[] = []
        const updates: [string, Partial<ResourceValues>][] = []
        for (const wanted of batch) {
          seen.add(wanted.key)
          const existing = held.get(wanted.key)
          if (existing !== undefined) {
            const changes = changesFor(wanted, existing)
            if (Object.keys(changes).length === 0) {
              counts.unchanged += 1
            } else {
              updates.push([existing.id, { ...changes, updated_at: now }])
              counts.updated += 1
            }
            continue
          }
          const parent = wanted.parentKey === undefined ? undefined : held.get(wanted.parentKey)
          const id = newResourceId()
          const values = {
            ...newResourceValues({
              workspaceId: target.workspaceId,
              entityType: wanted.entityType,
              title: wanted.title,
              parent,
              integrationId: target.integrationId,
              now,
            }),
            id,
            native_type: wanted.nativeType,
            description: wanted.comment ?? '',
            databuilder_id: wanted.key,
            row_count: wanted.rowCount,
            byte_size: wanted.byteSize,
            data_type: wanted.dataType,
            sort_order: wanted.sortOrder,
            is_pk: wanted.isPk,
            is_nullable: wanted.isNullable,
          }
          rows.push(values)
          target.teamIds.forEach((teamId, position) => {
            relations.push({ field: 'teams', resource_id: id, target_id: teamId, position })
          })
          held.set(wanted.key, {
            ...(values as unknown as Held),
            ...placeUnder(parent, wanted.entityType, wanted.title),
            description_by_person: false,
            stale: false,
          })
          counts.created += 1
        }
        await insertResourceRows(trx, rows, relations)
        for (const [id, changes] of updates) {
          await trx.updateTable('resources').set(changes).where('id', '=', id).execute()
        }
        // A batch that finds nothing new leaves list caches as they are: a sync of an unchanged source costs them nothing.
        if (rows.length > 0 || updates.length > 0) await noteChange(trx)
      },
      { noteChange: false },
    )
    done += batch.length
    await options.progress?.(done, total, counts)
  }
  await syncLineage(store, target, snapshot, held)
  if (snapshot.problems.length === 0) {
    const gone = [...held.entries()].filter(([key, h]) => !seen.has(key) && !h.stale).map(([, h]) => h.id)
    const now = nowIso()
    for (let i = 0; i < gone.length; i += 500) {
      const chunk = gone.slice(i, i + 500)
      await store.write((trx) =>
        trx
          .updateTable('resources')
          .set({ stale: true, stale_at: now, updated_at: now })
          .where((eb) => inIds(trx, eb.ref('id'), chunk))
          .execute(),
      )
    }
    counts.staled = gone.length
  }
  return counts
}

/** The databuilder_id of a source object (see `plan`). */
function keyOf(integrationId: string, ref: SourceRef): string {
  const table = `${integrationId}.${part(ref.database)}.${part(ref.schema)}.${part(ref.table)}`
  return ref.column === undefined ? table : `${table}.${part(ref.column)}`
}

/**
 * Brings the edges this integration's syncs found (`is_manual` false) in step with what the source records: adds
 * the new ones, removes those whose dependency is gone, and never touches an edge drawn by hand. A dependency on
 * something the sync did not read (another database, a schema it may not read) is left out. When the snapshot
 * has problems (parts it could not read), no edge is removed.
 */
async function syncLineage(store: Store, target: SyncTarget, snapshot: SourceSnapshot, held: Map<string, Held>) {
  const wanted: FoundEdges = new Map()
  for (const dependency of snapshot.dependencies ?? []) {
    const upstream = held.get(keyOf(target.integrationId, dependency.from))?.id
    const downstream = held.get(keyOf(target.integrationId, dependency.to))?.id
    if (upstream === undefined || downstream === undefined || upstream === downstream) continue
    wanted.set(pairOf(upstream, downstream), { upstream, downstream })
  }
  // A view whose definition could not be read this time keeps the edges into it (and into its columns).
  const unread = [...new Set((snapshot.unreadViews ?? []).map((ref) => keyOf(target.integrationId, ref)))]
  const keyOfId = new Map([...held.entries()].map(([key, h]) => [h.id, key]))
  const keep = (downstream: string) => {
    const key = keyOfId.get(downstream)
    return key !== undefined && unread.some((view) => key === view || key.startsWith(`${view}.`))
  }
  await store.write((trx) => replaceFoundEdges(trx, target, wanted, { remove: snapshot.problems.length === 0, keep }))
}
