import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { prepared, preparedStatementName, slot } from '../../src/db/prepared.ts'
import type { Store } from '../../src/db/types.ts'
import { ENGINES, openTestStore } from '../helpers.ts'

const findKeys = prepared<{ prefix: string; limit: number }, { key: string }>((db, variant) =>
  db
    .selectFrom('docent_meta')
    .select('key')
    .where('key', 'like', slot('prefix'))
    .where('value', '=', variant)
    .orderBy('key')
    .limit(slot('limit') as unknown as number),
)

for (const { engine, skip } of ENGINES) {
  describe(`prepared queries on ${engine}`, { skip }, () => {
    let store: Store
    let cleanup: () => Promise<void>
    before(async () => {
      ;({ store, cleanup } = await openTestStore(engine))
      await store.db
        .insertInto('docent_meta')
        .values([
          { key: 'p:a', value: 'one' },
          { key: 'p:b', value: 'one' },
          { key: 'p:c', value: 'two' },
          { key: 'q:a', value: 'one' },
        ])
        .execute()
    })
    after(() => cleanup?.())

    test('binds each slot by name on every run; fixed values belong to the variant', async () => {
      const keys = async (prefix: string, limit: number, variant: string) =>
        (await findKeys(store.db, { prefix, limit }, variant)).map((r) => r.key)
      assert.deepEqual(await keys('p:%', 10, 'one'), ['p:a', 'p:b'])
      assert.deepEqual(await keys('p:%', 1, 'one'), ['p:a'])
      assert.deepEqual(await keys('q:%', 10, 'one'), ['q:a'])
      assert.deepEqual(await keys('p:%', 10, 'two'), ['p:c'])
      // Inside a transaction too, on the transaction's connection.
      await store.db.transaction().execute(async (trx) => {
        await trx.insertInto('docent_meta').values({ key: 'p:d', value: 'one' }).execute()
        assert.deepEqual((await findKeys(trx, { prefix: 'p:%', limit: 10 }, 'one')).length, 3)
        await trx.deleteFrom('docent_meta').where('key', '=', 'p:d').execute()
      })
    })

    test('refuses to run without a value for a slot', async () => {
      await assert.rejects(
        findKeys(store.db, { prefix: 'p:%' } as { prefix: string; limit: number }, 'one'),
        /no value for slot limit/,
      )
    })

    test('a read of the store never sees what an open transaction has written and not committed', async () => {
      // On SQLite a prepared read outside a transaction skips Kysely's connection mutex; it must not do so while
      // a transaction holds the connection, or it would read that transaction's uncommitted rows.
      let read: Promise<{ key: string }[]> | undefined
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('docent_meta').values({ key: 'p:uncommitted', value: 'one' }).execute()
          read = findKeys(store.db, { prefix: 'p:%', limit: 10 }, 'one')
          await new Promise((resolve) => setTimeout(resolve, 20))
          throw new Error('roll back')
        }),
        /roll back/,
      )
      assert.deepEqual(
        (await read)?.map((r) => r.key),
        ['p:a', 'p:b'],
      )
    })

    if (engine === 'sqlite')
      test('a read of a statement that a stream is still iterating waits for the stream to end', async () => {
        // The same SQL text as findKeys, so the same cached statement: it cannot run while it is being iterated.
        const stream = store.db
          .selectFrom('docent_meta')
          .select('key')
          .where('key', 'like', 'p:%')
          .where('value', '=', 'one')
          .orderBy('key')
          .limit(10)
          .stream()
        let read: Promise<{ key: string }[]> | undefined
        const streamed: string[] = []
        for await (const row of stream) {
          streamed.push(row.key)
          read ??= findKeys(store.db, { prefix: 'p:%', limit: 10 }, 'one')
        }
        assert.deepEqual(streamed, ['p:a', 'p:b'])
        assert.deepEqual(
          (await read)?.map((r) => r.key),
          ['p:a', 'p:b'],
        )
      })

    if (engine === 'postgres')
      test('every connection runs without JIT, from its first query', async () => {
        // Several at once, so that the pool opens new connections for them.
        const answers = await Promise.all(
          Array.from({ length: 5 }, () => sql<{ jit: string }>`show jit`.execute(store.db)),
        )
        assert.deepEqual(
          answers.map((a) => a.rows[0]?.jit),
          ['off', 'off', 'off', 'off', 'off'],
        )
      })

    if (engine === 'postgres')
      test('runs as a named prepared statement', async () => {
        await store.db.transaction().execute(async (trx) => {
          await findKeys(trx, { prefix: 'p:%', limit: 10 }, 'one')
          const { rows } = await sql<{ name: string; statement: string }>`
          select name, statement from pg_prepared_statements where name like 'docent\_%'
        `.execute(trx)
          const ours = rows.find((r) => r.statement.includes('docent_meta') && r.statement.includes('like'))
          assert.ok(ours, `a named statement among ${JSON.stringify(rows)}`)
          assert.equal(preparedStatementName(ours.statement), ours.name)
        })
      })
  })
}
