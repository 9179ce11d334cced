import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildApp } from '../../src/app.ts'
import { openTestStore } from '../helpers.ts'

test('handlersSettled waits for a handler whose client is gone, so the store outlives it', async () => {
  const { store, cleanup } = await openTestStore('sqlite')
  try {
    const app = await buildApp({ store })
    let release: () => void = () => {}
    const gate = new Promise<void>((done) => {
      release = done
    })
    let reads = 0
    app.get('/test/slow', { config: { public: true } }, async () => {
      await gate
      await store.db.selectFrom('docent_meta').select('key').execute()
      reads++
      return { ok: true }
    })
    await app.ready()
    const abort = new AbortController()
    const pending = app.inject({ method: 'GET', url: '/test/slow', signal: abort.signal }).catch(() => undefined)
    await new Promise((done) => setTimeout(done, 20))
    abort.abort()
    let settled = false
    const waiting = app.handlersSettled().then(() => {
      settled = true
    })
    await new Promise((done) => setTimeout(done, 20))
    assert.equal(settled, false, 'a handler is still running')
    release()
    await waiting
    assert.equal(reads, 1, 'the handler finished its read before handlersSettled resolved')
    await pending
    await app.close()
    // With nothing running, it resolves at once.
    await app.handlersSettled()
  } finally {
    await cleanup()
  }
})
