import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { insertResourceRow, newResourceValues } from '../../src/catalog/repository/writes.ts'
import { nowIso } from '../../src/db/values.ts'
import { refreshAllNoted } from '../../src/search/index-sqlite.ts'
import { wordsOf } from '../../src/search/words.ts'
import { deferred, ENGINES, type Harness, makeIntegration, makeVia, startHarness } from '../helpers.ts'

// The search index follows every write: after each step of a random sequence of creates, renames (which change
// the path of a whole subtree), description and definition edits and deletes, every resource is found by
// `contains` on a piece of each of its text fields, and by `search_term` on its own title, and nothing deleted
// is found. On SQLite `contains` and the search start from the trigram tables the store's triggers keep; a row
// they missed would be missing here.

type Resource = { id: string; title: string; title_full: string; description: string; definition: string }

function rng(seed: number) {
  let state = seed >>> 0
  return {
    int: (n: number) => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0
      return state % n
    },
  }
}

const WORDS = ['Orders', 'customer', 'ÉCOLE', 'straße', 'revenue', 'churn_rate', 'a%b_c', 'Δelta', 'ship"ments']
const FIELDS = ['title', 'title_full', 'description', 'definition'] as const

for (const { engine, skip } of ENGINES) {
  describe(`the search index under writes on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const list = async (query: string) => {
      const response = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?page_size=1000&${query}` })
      assert.equal(response.statusCode, 200, response.body)
      return (response.json().results as Resource[]).map((r) => r.id)
    }
    const contains = (field: string, value: string) =>
      list(`filter=${encodeURIComponent(JSON.stringify({ operator: 'contains', field, value }))}`)

    // PostgreSQL only: SQLite runs one write transaction at a time, so two cannot interleave.
    if (engine === 'postgres')
      test('two writers adding the same new words in opposite order both commit (no deadlock on the words)', async () => {
        const peer = await h.openPeer()
        try {
          const insert = (db: Parameters<typeof insertResourceRow>[0], title: string) =>
            insertResourceRow(
              db,
              newResourceValues({
                workspaceId: h.workspaceId,
                entityType: 'collection',
                title,
                parent: undefined,
                integrationId: null,
                now: nowIso(),
              }),
              { teams: [h.defaultTeamId] },
            )
          // The resources' visibility class exists before: only the words are new to both transactions.
          await h.store.write((trx) => insert(trx, 'a collection like the others'))
          const word = (n: number) => `deadlockword${n}x${Date.now()}`
          const [a, b] = [word(1), word(2)]
          const first = deferred()
          const second = deferred()
          // Each is a transaction of two statements: one adds a new word, the other the word the other one added.
          const one = h.store.write(async (trx) => {
            await insert(trx, a)
            first.resolve()
            await second.promise
            await insert(trx, `${b} one`)
          })
          const two = peer.write(async (trx) => {
            await first.promise
            await insert(trx, b)
            second.resolve()
            await new Promise((resolve) => setTimeout(resolve, 200))
            await insert(trx, `${a} two`)
          })
          await Promise.all([one, two])
          const filter = encodeURIComponent(JSON.stringify({ operator: 'contains', field: 'title', value: b }))
          const found = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${filter}` })
          assert.equal(found.json().count, 2)
        } finally {
          await peer.close()
        }
      })

    test("the words a write notes are the search's own words (src/search/words.ts), created or changed", async () => {
      const other = await startHarness(engine)
      try {
        const texts = [
          'Ünïcode WORDS straße Δelta_Tables x12y abc 1234 déjà-vu',
          'churn_rate2024 revenue.per.customer a%b_c ship"ments',
          `${'l'.repeat(40)} ${'m'.repeat(41)} naïve 9lives`,
        ]
        const created = await makeVia(other, '/collection/collections', { title: texts[0], description: texts[1] })
        const patched = await other.request({
          method: 'PATCH',
          url: `/api/v1/collection/collections/${created.id}`,
          body: { definition: texts[2] },
        })
        assert.equal(patched.statusCode, 200, patched.body)
        const rows = await other.store.db
          .selectFrom('search_words')
          .select('word')
          .where('workspace_id', '=', other.workspaceId)
          .execute()
        const noted = new Set(rows.map((row) => row.word))
        for (const word of texts.flatMap(wordsOf)) assert.ok(noted.has(word), `'${word}' was not noted`)
        const expected = new Set(['Test', ...texts].flatMap(wordsOf))
        for (const word of noted) assert.ok(expected.has(word), `'${word}' is not a word of what was written`)
      } finally {
        await other.close()
      }
    })

    test('a path is found under titles with dots, under two parents of one path, and after a rename', async () => {
      const integration = await makeIntegration(h)
      // Two databases whose paths are equal: `web.shop` (a title with a dot) and `web` › `shop`.
      const dotted = await makeVia(h, '/database/databases', { integration, title: 'web.shop' })
      const web = await makeVia(h, '/database/databases', { integration, title: 'web' })
      const shop = await makeVia(h, '/database/schemas', { parent: web.id, title: 'shop' })
      const underDotted = await makeVia(h, '/database/schemas', { parent: dotted.id, title: 'ledger' })
      const underShop = await makeVia(h, '/table/tables', { parent: shop.id, title: 'ledger' })
      const deep = await makeVia(h, '/table/columns', { parent: underShop.id, title: 'amount' })
      const ids = (found: string[]) => new Set(found)
      assert.deepEqual(
        ids(await contains('title_full', 'WEB.SHOP.LEDGER')),
        ids([underDotted.id, underShop.id, deep.id]),
      )
      assert.deepEqual(ids(await contains('title_full', 'shop.ledger.amo')), ids([deep.id]))
      // Renaming the middle of the path: what is under it is found by the new path, not by the old.
      await refreshAllNoted(h.store)
      const renamed = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${shop.id}`,
        body: { title: 'store' },
      })
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.deepEqual(ids(await contains('title_full', 'web.store.ledger')), ids([underShop.id, deep.id]))
      assert.deepEqual(ids(await contains('title_full', 'web.shop.ledger')), ids([underDotted.id]))
      assert.ok((await list(`search_term=${encodeURIComponent('store amount')}`)).includes(deep.id))
    })

    test('paths longer than an index entry are written and found (PostgreSQL indexes a prefix of each)', async () => {
      const integration = await makeIntegration(h)
      // 1,000 characters of three bytes each: a path of over 3,000 bytes, past a B-tree entry's 2,704.
      const long = 'データ'.repeat(333)
      const database = await makeVia(h, '/database/databases', { integration, title: long })
      const schema = await makeVia(h, '/database/schemas', { parent: database.id, title: long })
      const table = await makeVia(h, '/table/tables', { parent: schema.id, title: 'orders' })
      // Another path that shares the first 500 characters (the indexed prefix) but is not above the table.
      const twin = await makeVia(h, '/database/databases', { integration, title: `${long}x` })
      const ids = (found: string[]) => new Set(found)
      assert.deepEqual(ids(await contains('title_full', `タ.${long.slice(0, 30)}`)), ids([schema.id, table.id]))
      assert.deepEqual(ids(await contains('title_full', 'タ.orders')), ids([table.id]))
      assert.ok((await contains('title_full', 'データx')).includes(twin.id))
      assert.ok((await list(`search_term=${encodeURIComponent('orders')}`)).includes(table.id))
    })

    test('every resource stays findable by each field, and deleted ones never are, over 60 random writes', async () => {
      const seed = Number(process.env.DOCENT_TEST_SEED ?? 4242)
      const r = rng(seed)
      const pick = <T>(items: T[]): T => items[r.int(items.length)] as T
      const phrase = () => `${pick(WORDS)} ${pick(WORDS)}${r.int(100)}`
      const integration = await makeIntegration(h)
      const made = [(await makeVia(h, '/database/databases', { integration, title: phrase() })) as unknown as Resource]
      const gone = new Set<string>()
      /** What deleted resources were last titled. */
      const lastTitle = new Map<string, string>()
      const read = async (id: string) => {
        const response = await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })
        return response.statusCode === 200 ? (response.json() as Resource) : undefined
      }
      for (let step = 0; step < 60; step++) {
        const live = made.filter((m) => !gone.has(m.id))
        const action = live.length < 4 ? 0 : r.int(5)
        const target = pick(live)
        if (action === 0 || action === 1) {
          const path = { database: '/database/schemas', schema: '/table/tables', table: '/table/columns' } as const
          const parent = live.find((m) => m.id === target.id) as Resource & { entity_type?: string }
          const type = (await read(parent.id)) as Resource & { entity_type: string }
          const route = path[type.entity_type as keyof typeof path] ?? '/table/columns'
          made.push((await makeVia(h, route, { parent: parent.id, title: phrase() })) as unknown as Resource)
        } else if (action === 2) {
          const body = r.int(2) === 0 ? { title: phrase() } : { description: phrase(), definition: `# ${phrase()}` }
          const response = await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${target.id}`, body })
          assert.equal(response.statusCode, 200, response.body)
        } else if (action === 3) {
          const body = { title: phrase() }
          const response = await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${made[0]?.id}`, body })
          assert.equal(response.statusCode, 200, response.body)
        } else if (target.id !== made[0]?.id) {
          const response = await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${target.id}` })
          assert.equal(response.statusCode, 204)
          for (const m of made) if ((await read(m.id)) === undefined) gone.add(m.id)
        }
        // SQLite: now and then the trigram tables are brought up to date, as the server does every second, so that
        // the checks below run both on what the tables hold and on what is still only noted.
        if (r.int(3) === 0) await refreshAllNoted(h.store)
        // Each live resource, by a piece of each field (three characters or more, so the index is used).
        for (const m of made.filter((x) => !gone.has(x.id))) {
          const now = (await read(m.id)) as Resource
          lastTitle.set(m.id, now.title)
          for (const field of FIELDS) {
            const text = now[field]
            if ([...text].length < 3) continue
            const at = r.int(Math.max(1, text.length - 3))
            const piece = text.slice(at, at + 3 + r.int(6))
            // Upper case where folding it back gives the same text (`ß` upper-cases to `SS`).
            const upper = piece.toUpperCase()
            const found = await contains(field, upper.toLowerCase() === piece.toLowerCase() ? upper : piece)
            assert.ok(found.includes(m.id), `step ${step} (seed ${seed}): ${field} contains ${piece} finds ${m.id}`)
          }
          const searched = await list(`search_term=${encodeURIComponent(now.title)}`)
          assert.ok(searched.includes(m.id), `step ${step} (seed ${seed}): searching ${now.title} finds ${m.id}`)
        }
        for (const id of gone) {
          const title = lastTitle.get(id) as string
          assert.ok(!(await contains('title', title)).includes(id), `step ${step}: a deleted resource is found`)
          assert.ok(!(await list(`search_term=${encodeURIComponent(title)}`)).includes(id))
        }
      }
    })
  })
}
