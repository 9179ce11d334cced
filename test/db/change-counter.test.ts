import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { noteChange, readChangeVersion, shareFreshReads } from '../../src/db/change-counter.ts'
import type { Store } from '../../src/db/types.ts'
import { ENGINES, openTestStore } from '../helpers.ts'

for (const { engine, skip } of ENGINES) {
  describe(`the change counter on ${engine}`, { skip }, () => {
    // Round trips and concurrent writers are PostgreSQL's alone: on SQLite these tests are not registered at all.
    const onPostgres = engine === 'postgres' ? test : () => {}
    let store: Store
    let cleanup: () => Promise<void>
    let openPeer: () => Promise<Store>
    before(async () => {
      ;({ store, cleanup, openPeer } = await openTestStore(engine))
    })
    after(() => cleanup?.())

    test('grows by one with each committed change, seen by another connection, and not by a rolled-back one', async () => {
      const peer = await openPeer()
      try {
        const start = await readChangeVersion(peer.db)
        await store.write(async () => undefined)
        assert.equal(await readChangeVersion(peer.db), start + 1)
        await assert.rejects(
          store.write(async (trx) => {
            await noteChange(trx)
            throw new Error('rolled back')
          }),
        )
        assert.equal(await readChangeVersion(peer.db), start + 1)
        assert.equal(await readChangeVersion(store.db), start + 1)
      } finally {
        await peer.close()
      }
    })

    test('counts every one of many concurrent changes', async () => {
      const start = await readChangeVersion(store.db)
      await Promise.all(Array.from({ length: 40 }, () => store.write(async () => undefined)))
      assert.equal(await readChangeVersion(store.db), start + 40)
    })

    onPostgres('takes its slot only with the commit, in the same round trip (PostgreSQL)', async () => {
      const start = await readChangeVersion(store.db)
      const peer = await openPeer()
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      let noted: () => void = () => {}
      const hasNoted = new Promise<void>((resolve) => {
        noted = resolve
      })
      const open = peer.db.transaction().execute(async (trx) => {
        await noteChange(trx)
        noted()
        await held
      })
      try {
        await hasNoted
        // Not one counter row is locked while the write is still open.
        await sql`select slot from change_counter for update nowait`.execute(store.db)
      } finally {
        release()
        await open
        await peer.close()
      }
      assert.equal(await readChangeVersion(store.db), start + 1)
    })

    onPostgres(
      'a commit that fails after noting its change leaves the connection able to write (PostgreSQL)',
      async () => {
        const peer = await openPeer()
        await sql`insert into change_counter (slot, changes) select g, 0 from generate_series(0, 15) as g
        on conflict (slot) do nothing`.execute(store.db)
        let release: () => void = () => {}
        const held = new Promise<void>((resolve) => {
          release = resolve
        })
        let locked: () => void = () => {}
        const isLocked = new Promise<void>((resolve) => {
          locked = resolve
        })
        // Every slot locked, so the peer's held-back increment waits at its commit until its timeout cancels it.
        const blocker = store.db.transaction().execute(async (trx) => {
          await sql`select slot from change_counter for update`.execute(trx)
          locked()
          await held
        })
        try {
          await isLocked
          await assert.rejects(
            peer.write(async (trx) => {
              await sql`set local statement_timeout = 200`.execute(trx)
            }),
          )
          release()
          await blocker
          const start = await readChangeVersion(store.db)
          for (let i = 0; i < 4; i++) await peer.write(async () => undefined)
          assert.equal(await readChangeVersion(store.db), start + 4)
        } finally {
          release()
          await blocker
          await peer.close()
        }
      },
    )

    onPostgres('does not make a write wait for every other open write (PostgreSQL)', async () => {
      const start = await readChangeVersion(store.db)
      const peer = await openPeer()
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      let noted: () => void = () => {}
      const hasNoted = new Promise<void>((resolve) => {
        noted = resolve
      })
      // One write holds a slot's row, as a write does from noting its change to the end of its commit.
      const open = peer.db.transaction().execute(async (trx) => {
        await sql`update change_counter set changes = changes + 1 where slot = 0`.execute(trx)
        noted()
        await held
      })
      let others: Promise<unknown>[] = []
      try {
        await hasNoted
        let done = 0
        others = Array.from({ length: 12 }, () =>
          store
            .write(async () => undefined)
            .then(() => {
              done++
            }),
        )
        const deadline = Date.now() + 5_000
        while (done === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
        assert.ok(done > 0, 'a write committed while another held its change open')
      } finally {
        release()
        await open
        await Promise.all(others)
        await peer.close()
      }
      assert.equal(await readChangeVersion(store.db), start + 13)
    })
  })
}

describe('shareFreshReads', () => {
  test('serves callers with one read that starts after they called, and no read that started before', async () => {
    const releases: ((value: number) => void)[] = []
    const read = shareFreshReads(() => new Promise<number>((resolve) => releases.push(resolve)))
    const first = read()
    assert.equal(releases.length, 1)
    // These come while the first read runs: it may predate what they must see, so they wait for the next.
    const second = read()
    const third = read()
    assert.equal(releases.length, 1)
    releases[0]?.(1)
    assert.equal(await first, 1)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(releases.length, 2, 'the next read started when the first ended')
    const fourth = read()
    releases[1]?.(2)
    assert.deepEqual([await second, await third], [2, 2])
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(releases.length, 3)
    releases[2]?.(3)
    assert.equal(await fourth, 3)
    const fifth = read()
    assert.equal(releases.length, 4, 'with none running, a caller starts its own')
    releases[3]?.(4)
    assert.equal(await fifth, 4)
  })

  test('a failed read fails only its own callers', async () => {
    let calls = 0
    const read = shareFreshReads(async () => {
      calls++
      if (calls === 1) throw new Error('lost connection')
      return calls
    })
    const failing = read()
    const next = read()
    await assert.rejects(failing, /lost connection/)
    assert.equal(await next, 2)
  })
})
