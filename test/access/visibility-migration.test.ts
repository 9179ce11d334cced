import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import { buildApp } from '../../src/app.ts'
import { newResourceValues } from '../../src/catalog/repository/writes.ts'
import { openStore } from '../../src/db/connect.ts'
import * as initial from '../../src/db/migrations/20261126-0001-initial.ts'
import * as extraction from '../../src/db/migrations/20261126-0002-extraction.ts'
import * as visibility from '../../src/db/migrations/20261129-0003-visibility.ts'
import * as changeCounter from '../../src/db/migrations/20261129-0004-change-counter.ts'
import * as search from '../../src/db/migrations/20261204-0005-search.ts'
import * as keyChanges from '../../src/db/migrations/20261205-0006-key-changes.ts'
import * as searchWordsInline from '../../src/db/migrations/20261205-0007-search-words-inline.ts'
import * as questions from '../../src/db/migrations/20261205-0008-questions.ts'
import * as customProperties from '../../src/db/migrations/20261205-0009-custom-properties.ts'
import * as lineage from '../../src/db/migrations/20261205-0010-lineage.ts'
import * as sessions from '../../src/db/migrations/20261205-0011-sessions.ts'
import * as pathIndex from '../../src/db/migrations/20261205-0012-path-index.ts'
import * as pathIndexPostgres from '../../src/db/migrations/20261205-0013-path-index-postgres.ts'
import * as readForms from '../../src/db/migrations/20261205-0014-read-forms.ts'
import * as lineageOrder from '../../src/db/migrations/20261205-0015-lineage-order.ts'
import type { Engine, Store } from '../../src/db/types.ts'
import { nowIso } from '../../src/db/values.ts'
import { generateApiKey, insertApiKey } from '../../src/directory/keys/repository.ts'
import { insertTeam } from '../../src/directory/teams/repository.ts'
import { insertUser } from '../../src/directory/users/repository.ts'
import { createWorkspace } from '../../src/directory/workspaces/repository.ts'
import { ENGINES, POSTGRES_URL } from '../helpers.ts'

// The visibility migration fills the stored effective visibility of a catalog written before it existed.

/** A store with only the migrations before the visibility one applied, and how to throw it away. */
async function openOldStore(engine: Engine): Promise<{ store: Store; cleanup(): Promise<void> }> {
  let store: Store
  let drop: () => Promise<void>
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'docent-migration-'))
    store = await openStore(`sqlite:${join(dir, 'docent.db')}`)
    drop = async () => rmSync(dir, { recursive: true, force: true })
  } else {
    const schema = `docent_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    store = await openStore(POSTGRES_URL, { schema, poolSize: 2 })
    drop = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      await client.query(`drop schema if exists ${schema} cascade`)
      await client.end()
    }
  }
  await initial.up(store.db)
  await extraction.up(store.db)
  return {
    store,
    async cleanup() {
      await store.close()
      await drop()
    },
  }
}

const COLUMNS_AT_ONE_DEPTH = 2100

async function indexesOfResources(store: Store): Promise<string[]> {
  const { rows } =
    store.engine === 'sqlite'
      ? await sql<{
          name: string
        }>`select name from sqlite_master where type = 'index' and tbl_name = 'resources'`.execute(store.db)
      : await sql<{ name: string }>`select indexname as name from pg_indexes
          where schemaname = current_schema() and tablename = 'resources'`.execute(store.db)
  return rows.map((r) => r.name).sort()
}

for (const { engine, skip } of ENGINES) {
  describe(`the visibility migration on ${engine}`, { skip }, () => {
    let old: Awaited<ReturnType<typeof openOldStore>>
    let app: FastifyInstance
    const indexes = {} as Record<'before' | 'after', string[]>
    const keys = {} as Record<'admin' | 'editor' | 'viewer' | 'guest', string>
    const id = {} as Record<string, string>

    before(async () => {
      old = await openOldStore(engine)
      const db = old.store.db
      const adminKey = generateApiKey()
      const { workspaceId, defaultTeamId } = await createWorkspace(db, { name: 'Old', adminEmail: 'a@x.io', adminKey })
      keys.admin = `Bearer ${adminKey}`
      const own = await insertTeam(db, { workspaceId, name: 'Own' })
      const other = await insertTeam(db, { workspaceId, name: 'Other' })
      for (const role of ['editor', 'viewer', 'guest'] as const) {
        const userId = await insertUser(db, { workspaceId, email: `${role}@x.io`, role, teamIds: [own] })
        const key = generateApiKey()
        await insertApiKey(db, { workspaceId, userId, key })
        keys[role] = `Bearer ${key}`
      }
      // Written as the code before the migration wrote them: no visibility columns.
      const rows: Record<string, unknown>[] = []
      const teams: { resource_id: string; target_id: string; position: number }[] = []
      type Parent = NonNullable<Parameters<typeof newResourceValues>[0]['parent']>
      const places = new Map<string, Parent>()
      const add = (name: string, type: string, parent: string | undefined, teamIds: string[], published = true) => {
        const resourceId = randomUUID()
        const values = newResourceValues({
          workspaceId,
          entityType: type,
          title: name,
          parent: parent === undefined ? undefined : places.get(parent),
          integrationId: null,
          now: nowIso(),
        })
        rows.push({ ...values, id: resourceId, published })
        places.set(resourceId, {
          id: resourceId,
          entity_type: type,
          title: name,
          title_full: values.title_full,
          search_database: values.search_database ?? null,
          search_schema: values.search_schema ?? null,
        })
        teamIds.forEach((teamId, position) => {
          teams.push({ resource_id: resourceId, target_id: teamId, position })
        })
        id[name] = resourceId
        return resourceId
      }
      const database = add('Warehouse', 'database', undefined, [own])
      const draft = add('Draft Schema', 'schema', database, [own], false)
      add('Table Under Draft', 'table', add('Middle', 'table', draft, [own]), [own])
      add('Table Under Other', 'table', add('Other Schema', 'schema', database, [other]), [own])
      const shared = add('Shared Schema', 'schema', database, [own, defaultTeamId])
      const table = add('Wide Table', 'table', shared, [own])
      for (let i = 0; i < COLUMNS_AT_ONE_DEPTH; i++) add(`column ${i}`, 'column', table, [own])
      add('Nested Column', 'column', id['column 0'], [own])
      add('No Team', 'collection', undefined, [])
      for (let start = 0; start < rows.length; start += 200) {
        await db
          .insertInto('resources')
          .values(rows.slice(start, start + 200) as never)
          .execute()
      }
      for (let start = 0; start < teams.length; start += 500) {
        await db
          .insertInto('resource_teams')
          .values(teams.slice(start, start + 500))
          .execute()
      }

      indexes.before = await indexesOfResources(old.store)
      await visibility.up(db)
      indexes.after = await indexesOfResources(old.store)
      // The migrations after it, which the app needs too.
      for (const later of [
        changeCounter,
        search,
        keyChanges,
        searchWordsInline,
        questions,
        customProperties,
        lineage,
        sessions,
        pathIndex,
        pathIndexPostgres,
        readForms,
        lineageOrder,
      ]) {
        await later.up(db)
      }
      app = await buildApp({ store: old.store })
    })
    after(async () => {
      await app?.close()
      await old?.cleanup()
    })

    const get = (role: keyof typeof keys, url: string) =>
      app.inject({ method: 'GET', url, headers: { authorization: keys[role] } })

    test('every row gets a visibility, and the work tables are gone', async () => {
      const db = old.store.db
      const unset = await db.selectFrom('resources').select('id').where('visibility_class', '=', '').execute()
      assert.deepEqual(unset, [])
      for (const table of ['visibility_fill', 'visibility_done']) {
        await assert.rejects(
          db
            .selectFrom(table as never)
            .selectAll()
            .execute(),
          table,
        )
      }
    })

    test('resources keeps every index it had, and resources_parent holds the visibility', async () => {
      assert.deepEqual(indexes.after, indexes.before)
      assert.ok(indexes.after.includes('resources_parent'))
      const columns =
        engine === 'sqlite'
          ? (
              await sql<{
                name: string
              }>`select name from pragma_index_info('resources_parent') order by seqno`.execute(old.store.db)
            ).rows.map((r) => r.name)
          : (
              await sql<{ def: string }>`select indexdef as def from pg_indexes
                where schemaname = current_schema() and indexname = 'resources_parent'`.execute(old.store.db)
            ).rows[0]?.def
              .match(/\((.*)\)/)?.[1]
              ?.split(', ')
      assert.deepEqual(columns, ['parent_id', 'entity_type', 'visibility_class', 'effective_published'])
    })

    test('each role sees what the ancestor rule lets it see of the old rows', async () => {
      const named = ['Warehouse', 'Draft Schema', 'Middle', 'Table Under Draft', 'Other Schema', 'Table Under Other']
      const expected: Record<keyof typeof keys, string[]> = {
        admin: [...named, 'Shared Schema', 'Wide Table', 'No Team'],
        editor: ['Warehouse', 'Draft Schema', 'Middle', 'Table Under Draft', 'Shared Schema', 'Wide Table'],
        viewer: ['Warehouse', 'Shared Schema', 'Wide Table'],
        guest: ['Warehouse', 'Shared Schema', 'Wide Table'],
      }
      const filter = encodeURIComponent(
        JSON.stringify({ operator: 'not', operands: [{ operator: 'exact', field: 'type', value: 'column' }] }),
      )
      for (const role of Object.keys(keys) as (keyof typeof keys)[]) {
        const response = await get(role, `/api/v1/resource/catalog?filter=${filter}&page_size=100`)
        assert.equal(response.statusCode, 200, response.body)
        const titles = response.json().results.map((r: { title: string }) => r.title)
        assert.deepEqual(titles.sort(), [...expected[role]].sort(), role)
        const warehouse = await get(role, `/api/v1/resource/all/${id.Warehouse}`)
        const schemas = { admin: 3, editor: 2, viewer: 1, guest: 1 }[role]
        assert.equal(warehouse.json().children_count, schemas, `${role}: children_count`)
      }
    })

    test('rows deeper than one chunk and below it are filled too', async () => {
      const columns = await get('guest', `/api/v1/table/columns?parent_id=${id['Wide Table']}&page_size=1`)
      assert.equal(columns.json().count, COLUMNS_AT_ONE_DEPTH)
      const nested = await get('guest', `/api/v1/resource/all/${id['Nested Column']}`)
      assert.equal(nested.statusCode, 200, nested.body)
    })

    test('writes after the migration keep the visibility it filled', async () => {
      const published = await app.inject({
        method: 'PATCH',
        url: `/api/v1/resource/all/${id['Draft Schema']}`,
        headers: { authorization: keys.admin },
        payload: { published: true },
      })
      assert.equal(published.statusCode, 200, published.body)
      assert.equal((await get('viewer', `/api/v1/resource/all/${id['Table Under Draft']}`)).statusCode, 200)
    })
  })
}
