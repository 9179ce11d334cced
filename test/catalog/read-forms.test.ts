import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import type { Principal } from '../../src/access/principal.ts'
import { permissionsFor } from '../../src/access/principal.ts'
import { visibleResources } from '../../src/access/visibility.ts'
import { findRelations, findRelationsFromTables, findRowsInOrder } from '../../src/catalog/repository/reads.ts'
import type { RelationRow } from '../../src/catalog/repository/relations.ts'
import { toResource } from '../../src/catalog/repository/rows.ts'
import { insertResourceRows, newResourceValues } from '../../src/catalog/repository/writes.ts'
import { fillForms } from '../../src/db/migrations/20261205-0014-read-forms.ts'
import { nowIso } from '../../src/db/values.ts'
import {
  ENGINES,
  type Harness,
  makeDatabase,
  makeGroup,
  makeKey,
  makeTag,
  makeTeam,
  makeUser,
  makeVia,
  seededRandom,
  startHarness,
} from '../helpers.ts'

// Issue 18: a resource's lists and custom values are read from one read-ready form (migration 0014), which triggers
// keep. Long random sequences of writes and cascades (PATCH, create, bulk update, deleting users, tags, groups,
// teams, collections, resources, properties and options, renaming a property, and writes straight to the relation
// tables as an import makes them) must leave every form equal to what the relation tables say, after each step;
// and every answer, for an admin and for a viewer who may not see everything, equal to the one built from the
// relation tables (the read before the forms).

const STEPS = Number(process.env.DOCENT_READ_FORM_STEPS ?? 150)
const PROPERTIES = '/api/v1/resource/all_v2/custom_properties'

for (const { engine, skip } of ENGINES) {
  describe(`read-ready forms on ${engine}`, { skip }, () => {
    let h: Harness
    let schemaId: string
    let viewer: Principal
    let viewerKey: string
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h)
      schemaId = (await makeVia(h, '/database/schemas', { parent: database.id })).id
      const team = await makeTeam(h)
      const userId = await makeUser(h, { role: 'viewer' })
      await h.store.db.insertInto('team_members').values({ team_id: team, user_id: userId }).execute()
      viewerKey = await makeKey(h, userId)
      viewer = { keyId: '', userId, workspaceId: h.workspaceId, role: 'viewer' }
    })
    after(() => h?.close())

    /** Every resource of the workspace: its form equals the relation tables, and its answers equal theirs. */
    async function check(step: string, answers: boolean) {
      const ids = (
        await h.store.db.selectFrom('resources').select('id').where('workspace_id', '=', h.workspaceId).execute()
      ).map((r) => r.id)
      assert.deepEqual(
        Object.fromEntries(await findRelations(h.store.db, ids)),
        Object.fromEntries(await findRelationsFromTables(h.store.db, ids)),
        `forms after ${step}`,
      )
      const orphans = await sql<{ n: number }>`select count(*) as n from resource_lists l
        where not exists (select 1 from resources r where r.id = l.resource_id)`.execute(h.store.db)
      assert.equal(Number(orphans.rows[0]?.n), 0, `forms of deleted resources after ${step}`)
      if (!answers) return
      const admin: Principal = { keyId: '', userId: h.adminUserId, workspaceId: h.workspaceId, role: 'admin' }
      for (const [principal, authorization] of [
        [admin, `Bearer ${h.adminKey}`],
        [viewer, viewerKey],
      ] as const) {
        const visible = visibleResources(principal, 'row')
        // The rows the reader may see (findRowsInOrder reads what it is given, counting visible children).
        const seen = await h.store.db
          .selectFrom('resources')
          .select('resources.id')
          .where('resources.workspace_id', '=', h.workspaceId)
          .$call((q) => (visible === undefined ? q : q.where(visible('resources'))))
          .execute()
        const rows = await findRowsInOrder(
          h.store.db,
          seen.map((s) => s.id),
          visible,
        )
        const truth = await findRelationsFromTables(
          h.store.db,
          rows.map((r) => r.id),
          visible,
        )
        for (const row of rows) {
          const loaded = truth.get(row.id)
          assert.ok(loaded)
          const expected = toResource(row, loaded.relations, permissionsFor(principal), loaded.custom)
          const response = await h.request({
            method: 'GET',
            url: `/api/v1/resource/all/${row.id}`,
            headers: { authorization },
          })
          assert.equal(response.statusCode, 200, `${row.entity_type} ${principal.role}: ${response.body}`)
          assert.deepEqual(response.json(), JSON.parse(JSON.stringify(expected)), `${principal.role}, ${step}`)
        }
        // A page of a list reads the forms of many resources at once.
        const page = await h.request({
          method: 'GET',
          url: '/api/v1/table/tables?page_size=100',
          headers: { authorization },
        })
        assert.equal(page.statusCode, 200, page.body)
        for (const answer of page.json().results as { id: string }[]) {
          const row = rows.find((r) => r.id === answer.id)
          const loaded = truth.get(answer.id)
          assert.ok(row && loaded, `a listed table is one the reader sees (${step})`)
          const expected = toResource(row, loaded.relations, permissionsFor(principal), loaded.custom)
          assert.deepEqual(answer, JSON.parse(JSON.stringify(expected)), `${principal.role}, listed, ${step}`)
        }
      }
    }

    test('a bulk load that fails reports its own error and leaves the list triggers on', async () => {
      const schema = await h.store.db
        .selectFrom('resources')
        .selectAll()
        .where('id', '=', schemaId)
        .executeTakeFirstOrThrow()
      const row = {
        ...newResourceValues({
          workspaceId: h.workspaceId,
          entityType: 'table',
          title: 'refers to a team that is not there',
          parent: schema,
          integrationId: schema.integration_id,
          now: nowIso(),
        }),
        id: randomUUID(),
      }
      const missingTeam = randomUUID()
      await assert.rejects(
        h.store.write((trx) =>
          insertResourceRows(
            trx,
            [row],
            [{ field: 'teams', resource_id: row.id, target_id: missingTeam, position: 0 }],
          ),
        ),
        (error: Error & { code?: string }) => error.code === 'CONFLICT' && /deleted meanwhile/.test(error.message),
      )
      // The triggers work again: a PATCH's new owners reach the form.
      const table = await makeVia(h, '/table/tables', { title: 'after the failed load', parent: schemaId })
      const owner = await makeUser(h)
      const patched = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${table.id}`,
        body: { owners: [owner] },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.deepEqual((await findRelations(h.store.db, [table.id])).get(table.id)?.relations.owners, [owner])
      await check('a failed bulk load', false)
    })

    test('random writes and cascades keep every form equal to the relation tables', async () => {
      const seed = Number(process.env.DOCENT_READ_FORM_SEED ?? Date.now() % 1_000_000)
      const r = seededRandom(seed)
      const users: string[] = []
      const tags: string[] = []
      const groups: string[] = []
      const teams: string[] = [h.defaultTeamId]
      const collections: string[] = []
      const tables: string[] = []
      const properties: { id: string; name: string; value_type: string; options: { id: string }[] }[] = []
      let made = 0
      const name = (prefix: string) => `${prefix} ${seed} ${++made}`
      const newUser = async () => users.push(await makeUser(h))
      const newTag = async () => tags.push(await makeTag(h))
      const newGroup = async () => groups.push(await makeGroup(h))
      const newTeam = async () => teams.push(await makeTeam(h))
      const newCollection = async () => {
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/collection/collections',
          body: { title: name('Collection') },
        })
        assert.equal(response.statusCode, 201, response.body)
        collections.push(response.json().id)
      }
      const newProperty = async () => {
        const value_type = r.pick(['string', 'number', 'boolean', 'select', 'user', 'resource'])
        const response = await h.request({
          method: 'POST',
          url: PROPERTIES,
          body: {
            name: name('Property'),
            value_type,
            ...(value_type === 'select' ? { options: ['a', 'b', 'c'] } : {}),
          },
        })
        assert.equal(response.statusCode, 200, response.body)
        properties.push(response.json())
      }
      const valueFor = (property: (typeof properties)[number]): unknown => {
        switch (property.value_type) {
          case 'string':
            return name('text')
          case 'number':
            return r.int(1000) / 8
          case 'boolean':
            return r.chance(0.5)
          case 'select':
            return r.subset(
              property.options.map((o) => o.id),
              3,
            )
          case 'user':
            return r.subset(users, 3)
          default:
            return r.subset([...tables, ...collections], 3)
        }
      }
      /** A body that sets some lists and values, at random. */
      const listsBody = () => {
        const body: Record<string, unknown> = {}
        const lists: [string, () => unknown][] = [
          ['owners', () => r.subset(users, 3)],
          ['owners_groups', () => r.subset(groups, 3)],
          ['tags', () => r.subset(tags, 3)],
          ['teams', () => r.subset(teams, 2)],
          ['collections', () => r.subset(collections, 3)],
          ['sources', () => r.subset(tables, 3)],
          ['subscribers', () => r.subset(users, 3)],
          ['internal_users', () => r.subset(users, 3)],
          ['external_users', () => r.subset(['ana', 'bo', 'cy'], 3)],
          ['published', () => r.chance(0.8)],
        ]
        for (const [field, value] of lists) if (r.chance(0.3)) body[field] = value()
        if (properties.length > 0 && r.chance(0.5)) {
          const values: Record<string, unknown> = {}
          for (const property of r.subset(properties, 3)) values[property.name] = valueFor(property)
          body.custom_properties = values
        }
        return body
      }
      const newTable = async () => {
        const response = await h.request({
          method: 'POST',
          url: '/api/v1/table/tables',
          body: { title: name('table'), parent: schemaId, ...listsBody() },
        })
        assert.equal(response.statusCode, 201, response.body)
        tables.push(response.json().id)
      }
      const remove = (list: string[], id: string) => list.splice(list.indexOf(id), 1)
      /** A step that deletes one of `list` (past its first `kept`) through `path`, and makes another in its place. */
      const deleteAndReplace =
        (list: string[], path: string, make: () => Promise<unknown>, kept = 0) =>
        async () => {
          const id = r.pick(list.slice(kept))
          if (id === undefined) return
          const response = await h.request({ method: 'DELETE', url: `${path}/${id}` })
          assert.equal(response.statusCode, 204, response.body)
          remove(list, id)
          await make()
        }

      for (let i = 0; i < 4; i++) {
        await newUser()
        await newTag()
        await newGroup()
        await newTeam()
        await newCollection()
        await newProperty()
      }
      for (let i = 0; i < 8; i++) await newTable()
      await check('the start', true)

      const steps: [string, number, () => Promise<void>][] = [
        [
          'a PATCH',
          30,
          async () => {
            const id = r.pick([...tables, ...collections])
            const response = await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${id}`, body: listsBody() })
            assert.ok([200, 400].includes(response.statusCode), response.body)
          },
        ],
        ['a new table', 8, newTable],
        [
          'a bulk update',
          6,
          async () => {
            const items = r.subset(tables, 4).map((id) => ({ id, data: listsBody() }))
            const response = await h.request({ method: 'POST', url: '/api/v1/resource/all/bulk_update', body: items })
            assert.ok([200, 400].includes(response.statusCode), response.body)
          },
        ],
        ['a deleted user', 5, deleteAndReplace(users, '/api/v1/user', newUser)],
        ['a deleted tag', 4, deleteAndReplace(tags, '/api/v1/tag', newTag)],
        ['a deleted group', 3, deleteAndReplace(groups, '/api/v1/auth/group', newGroup)],
        // Not the default team (the first): a workspace keeps it.
        ['a deleted team', 3, deleteAndReplace(teams, '/api/v1/auth/teams', newTeam, 1)],
        ['a deleted collection', 3, deleteAndReplace(collections, '/api/v1/resource/all', newCollection)],
        [
          'a deleted table',
          4,
          async () => {
            if (tables.length < 4) return
            const id = r.pick(tables)
            const response = await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${id}` })
            assert.equal(response.statusCode, 204, response.body)
            remove(tables, id)
          },
        ],
        [
          'a renamed property',
          3,
          async () => {
            const property = r.pick(properties)
            property.name = name('Renamed')
            const response = await h.request({
              method: 'PATCH',
              url: `${PROPERTIES}/${property.id}`,
              body: { name: property.name },
            })
            assert.equal(response.statusCode, 200, response.body)
          },
        ],
        [
          'a deleted property',
          2,
          async () => {
            const property = r.pick(properties)
            assert.equal((await h.request({ method: 'DELETE', url: `${PROPERTIES}/${property.id}` })).statusCode, 204)
            properties.splice(properties.indexOf(property), 1)
            await newProperty()
          },
        ],
        [
          'a dropped option',
          2,
          async () => {
            const property = properties.find((p) => p.value_type === 'select' && p.options.length > 1)
            if (property === undefined) return
            const kept = property.options.slice(1)
            const response = await h.request({
              method: 'PATCH',
              url: `${PROPERTIES}/${property.id}`,
              body: { options: kept },
            })
            assert.equal(response.statusCode, 200, response.body)
            property.options = response.json().options
          },
        ],
        [
          'a bulk load (as extraction and imports write)',
          4,
          async () => {
            const schema = await h.store.db
              .selectFrom('resources')
              .selectAll()
              .where('id', '=', schemaId)
              .executeTakeFirstOrThrow()
            const rows = Array.from({ length: 1 + r.int(3) }, () => ({
              ...newResourceValues({
                workspaceId: h.workspaceId,
                entityType: 'table',
                title: name('loaded'),
                parent: schema,
                integrationId: schema.integration_id,
                now: nowIso(),
              }),
              id: randomUUID(),
            }))
            const relations: RelationRow[] = []
            for (const row of rows) {
              for (const [field, ids] of [
                ['teams', [h.defaultTeamId, ...r.subset(teams.slice(1), 1)]],
                ['owners', r.subset(users, 3)],
                ['tags', r.subset(tags, 3)],
                ['sources', r.subset(tables, 3)],
              ] as const) {
                ids.forEach((target_id, position) => {
                  relations.push({ field, resource_id: row.id, target_id, position })
                })
              }
            }
            // And an entry on a table that existed before (its form is then read back whole).
            const newcomer = await makeUser(h)
            users.push(newcomer)
            const earlier = r.pick(tables)
            relations.push({ field: 'internal_users', resource_id: earlier, target_id: newcomer, position: 1000 })
            await h.store.write((trx) => insertResourceRows(trx, rows, relations))
            tables.push(...rows.map((row) => row.id))
          },
        ],
        [
          'writes straight to the relation tables',
          4,
          async () => {
            const id = r.pick(tables)
            await h.store.write(async (trx) => {
              await trx.deleteFrom('resource_tags').where('resource_id', '=', id).execute()
              const chosen = r.subset(tags, 3)
              if (chosen.length > 0)
                await trx
                  .insertInto('resource_tags')
                  .values(chosen.map((target_id, position) => ({ resource_id: id, target_id, position })))
                  .execute()
              await trx
                .updateTable('resource_owners')
                .set({ position: sql`position + 1` })
                .where('resource_id', '=', id)
                .execute()
            })
          },
        ],
      ]
      const weights = steps.reduce((n, [, weight]) => n + weight, 0)
      for (let step = 0; step < STEPS; step++) {
        let roll = r.int(weights)
        let chosen = steps[0] as (typeof steps)[0]
        for (const candidate of steps) {
          chosen = candidate
          if (roll < candidate[1]) break
          roll -= candidate[1]
        }
        const [label, , run] = chosen
        try {
          await run()
        } catch (error) {
          throw new Error(`step ${step} (${label}), seed ${seed}: ${(error as Error).message}`, { cause: error })
        }
        await check(`step ${step} (${label}), seed ${seed}`, step % 10 === 9)
      }
      await check('the end', true)
      // The migration's forms of a store written before it: the same as the triggers kept.
      await h.store.db.deleteFrom('resource_lists').execute()
      await fillForms(h.store.db)
      await check('the migration filled the forms', true)
    })
  })
}
