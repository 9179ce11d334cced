import assert from 'node:assert/strict'
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import SQLite from 'better-sqlite3'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { nowIso } from '../../src/db/values.ts'
import { insertIntegration } from '../../src/directory/integrations/repository.ts'
import type { SyncRun } from '../../src/extract/runs.ts'
import { POSTGRES_STORE_REFUSED, SQLITE_REFUSED } from '../../src/extract/source-access.ts'
import { assertFieldError, ENGINES, type Harness, POSTGRES_URL, startHarness } from '../helpers.ts'

const INTEGRATIONS = '/api/v1/integration/integrations'
const RUN_TIMEOUT_MS = 20_000

type Call = (options: InjectOptions & { body?: unknown }) => Promise<LightMyRequestResponse>

/** The admin's calls on another app over the harness's store, as a server started with other settings. */
function callOn(app: FastifyInstance, h: Harness): Call {
  return ({ body, ...options }) =>
    app.inject({
      ...options,
      headers: { authorization: `Bearer ${h.adminKey}` },
      ...(body === undefined ? {} : { payload: body as object }),
    })
}

/** POST /sync, then the run once it ended. */
async function syncOnce(call: Call, integrationId: string): Promise<SyncRun> {
  const started = await call({ method: 'POST', url: `${INTEGRATIONS}/${integrationId}/sync` })
  assert.equal(started.statusCode, 202, started.body)
  const deadline = Date.now() + RUN_TIMEOUT_MS
  for (;;) {
    const response = await call({ method: 'GET', url: `${INTEGRATIONS}/${integrationId}/runs/${started.json().id}` })
    const run = response.json() as SyncRun
    if (['succeeded', 'partial', 'failed'].includes(run.status)) return run
    assert.ok(Date.now() < deadline, `run still ${run.status}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

function makeSqliteFile(path: string): void {
  const db = new SQLite(path)
  db.exec('create table t (id integer primary key)')
  db.close()
}

/** A TCP server that only counts the connections it gets. */
async function countingServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let connections = 0
  const server: Server = createServer((socket) => {
    connections += 1
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return {
    port: address.port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

for (const { engine, skip } of ENGINES) {
  describe(`what a sync may read, on a ${engine} store`, { skip }, () => {
    let h: Harness
    let root: string
    let allowed: string
    let outside: string
    let outsideDb: string
    let call: Call

    /** An integration whose credentials go straight to the store, as one made before the operator's settings. */
    const stored = (type: string, credentials: Record<string, string>) =>
      insertIntegration(h.store.db, h.workspaceId, { name: type, type, credentials }, [h.defaultTeamId], nowIso())

    const created = async (call: Call, credentials: Record<string, string>, type = 'sqlite') => {
      const response = await call({ method: 'POST', url: INTEGRATIONS, body: { name: 'Source', type, credentials } })
      assert.equal(response.statusCode, 201, response.body)
      return response.json().id as string
    }

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'docent-access-'))
      allowed = join(root, 'allowed')
      outside = join(root, 'outside')
      mkdirSync(join(allowed, 'folder'), { recursive: true })
      mkdirSync(join(outside, 'deep'), { recursive: true })
      outsideDb = join(outside, 'real.db')
      makeSqliteFile(outsideDb)
      makeSqliteFile(join(allowed, 'shop.db'))
      writeFileSync(join(allowed, 'notes.db'), 'not a database, only words '.repeat(40))
      symlinkSync(outsideDb, join(allowed, 'link-out.db'))
      symlinkSync(join(outside, 'deep'), join(allowed, 'hop'))
      h = await startHarness(engine, { syncSqliteDirs: [allowed] })
      call = h.request
    })
    after(async () => {
      await h?.close()
      rmSync(root, { recursive: true, force: true })
    })

    test('reads a SQLite file inside DOCENT_SYNC_SQLITE_DIRS', async () => {
      const run = await syncOnce(call, await created(call, { path: join(allowed, 'shop.db') }))
      assert.equal(run.status, 'succeeded', run.error ?? '')
      assert.equal(run.counts.created, 4)
    })

    test('answers 400 naming credentials for a SQLite path outside DOCENT_SYNC_SQLITE_DIRS, on create and PATCH', async () => {
      const before = (await call({ method: 'GET', url: INTEGRATIONS })).json().count
      for (const path of [outsideDb, join(allowed, '..', 'outside', 'real.db'), allowed]) {
        const response = await call({
          method: 'POST',
          url: INTEGRATIONS,
          body: { name: 'Out', type: 'sqlite', credentials: { path } },
        })
        assertFieldError(response, 'credentials', /inside a folder this server may read.*DOCENT_SYNC_SQLITE_DIRS/)
        assert.ok(!response.body.includes(root), response.body)
      }
      assert.equal((await call({ method: 'GET', url: INTEGRATIONS })).json().count, before)
      const id = await created(call, { path: join(allowed, 'shop.db') })
      const patched = await call({
        method: 'PATCH',
        url: `${INTEGRATIONS}/${id}`,
        body: { credentials: { path: outsideDb } },
      })
      assertFieldError(patched, 'credentials', /DOCENT_SYNC_SQLITE_DIRS/)
    })

    test('refuses with one message naming no path: missing, a folder, no database, a link or `..` out of the folders, a path made before the setting', async () => {
      const ids = [
        await created(call, { path: join(allowed, 'missing.db') }),
        await created(call, { path: join(allowed, 'folder') }),
        await created(call, { path: join(allowed, 'notes.db') }),
        await created(call, { path: join(allowed, 'link-out.db') }),
        // Lexically inside `allowed`; the link `hop` leads out of it before `..` applies.
        await created(call, { path: join(allowed, 'hop', '..', 'real.db') }),
        await stored('sqlite', { path: outsideDb }),
      ]
      for (const id of ids) {
        const run = await syncOnce(call, id)
        assert.equal(run.status, 'failed')
        assert.equal(run.error, SQLITE_REFUSED)
        assert.deepEqual(run.counts, { created: 0, updated: 0, unchanged: 0, staled: 0 })
      }
    })

    test('refuses every SQLite file when DOCENT_SYNC_SQLITE_DIRS is not set, saying so and naming no path', async () => {
      const app = await buildApp({ store: h.store })
      try {
        const unset = callOn(app, h)
        for (const path of [join(allowed, 'shop.db'), join(allowed, 'missing.db')]) {
          const run = await syncOnce(unset, await created(unset, { path }))
          assert.equal(run.status, 'failed')
          assert.match(run.error ?? '', /reads no SQLite files for syncs started over HTTP.*DOCENT_SYNC_SQLITE_DIRS/)
          assert.ok(!(run.error ?? '').includes(root), run.error ?? '')
        }
      } finally {
        await app.close()
      }
    })

    if (engine === 'sqlite') {
      test("refuses docent's own store, a link and a hard link to it and its -wal file, even when every folder is allowed", async () => {
        const store = h.store.file
        assert.ok(store !== undefined)
        symlinkSync(store, join(allowed, 'store-link.db'))
        linkSync(store, join(allowed, 'store-hard.db'))
        symlinkSync(`${store}-wal`, join(allowed, 'store-wal.db'))
        const app = await buildApp({ store: h.store, syncSqliteDirs: ['/'] })
        try {
          const everywhere = callOn(app, h)
          const paths = ['store-link.db', 'store-hard.db', 'store-wal.db'].map((name) => join(allowed, name))
          for (const path of [store, `${store}-shm`, join(store, '..', '.', 'docent.db'), ...paths]) {
            const run = await syncOnce(everywhere, await created(everywhere, { path }))
            assert.equal(run.status, 'failed', path)
            assert.equal(run.error, SQLITE_REFUSED, path)
          }
          const run = await syncOnce(everywhere, await created(everywhere, { path: outsideDb }))
          assert.equal(run.status, 'succeeded', 'every other file may be read')
          // Another database whose -wal is the store's (a hard link): SQLite would read the store's pages through it.
          const spliced = join(allowed, 'spliced.db')
          const db = new SQLite(spliced)
          db.exec('pragma journal_mode = wal; create table t (x)')
          db.close()
          linkSync(`${store}-wal`, `${spliced}-wal`)
          const splicedRun = await syncOnce(everywhere, await created(everywhere, { path: spliced }))
          assert.equal(splicedRun.error, SQLITE_REFUSED)
        } finally {
          await app.close()
        }
      })
    } else {
      test("refuses to sync docent's own PostgreSQL database", async () => {
        const run = await syncOnce(call, await created(call, { url: POSTGRES_URL }, 'postgres'))
        assert.equal(run.status, 'failed')
        assert.equal(run.error, POSTGRES_STORE_REFUSED)
        assert.deepEqual(run.counts, { created: 0, updated: 0, unchanged: 0, staled: 0 })
      })
    }

    test('with DOCENT_SYNC_ALLOWED_HOSTS, refuses other hosts on create, PATCH and at sync, before connecting', async () => {
      const server = await countingServer()
      const app = await buildApp({ store: h.store, syncAllowedHosts: ['db.example.internal', '::1'] })
      try {
        const listed = callOn(app, h)
        for (const [type, url] of [
          ['postgres', `postgres://u:pw@127.0.0.1:${server.port}/d`],
          ['mysql', `mysql://u:pw@localhost:${server.port}/d`],
        ] as const) {
          const response = await listed({
            method: 'POST',
            url: INTEGRATIONS,
            body: { name: 'Elsewhere', type, credentials: { url } },
          })
          assertFieldError(response, 'credentials', /is not one this server may sync from.*DOCENT_SYNC_ALLOWED_HOSTS/)
        }
        const id = await created(listed, { url: 'postgres://u:pw@DB.Example.Internal:5432/d' }, 'postgres')
        const patched = await listed({
          method: 'PATCH',
          url: `${INTEGRATIONS}/${id}`,
          body: { credentials: { url: `postgres://u:pw@127.0.0.1:${server.port}/d` } },
        })
        assertFieldError(patched, 'credentials', /DOCENT_SYNC_ALLOWED_HOSTS/)
        await created(listed, { url: 'mysql://u@[::1]:3306/d' }, 'mysql')

        const before = await stored('postgres', { url: `postgres://u:pw@127.0.0.1:${server.port}/d` })
        const run = await syncOnce(listed, before)
        assert.equal(run.status, 'failed')
        assert.match(run.error ?? '', /the host 127\.0\.0\.1 is not one this server may sync from/)
        assert.equal(server.connections(), 0)
      } finally {
        await app.close()
        await server.close()
      }
    })
  })
}
