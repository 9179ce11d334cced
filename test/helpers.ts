import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Kysely } from 'kysely'
import pg from 'pg'
import type { Role } from '../src/access/principal.ts'
import { type AppOptions, buildApp } from '../src/app.ts'
import type { Relations } from '../src/catalog/repository/relations.ts'
import { insertResourceRow, newResourceValues } from '../src/catalog/repository/writes.ts'
import { openStore } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { DB, Engine, Store } from '../src/db/types.ts'
import { nowIso } from '../src/db/values.ts'
import { insertGroup } from '../src/directory/groups/repository.ts'
import { generateApiKey, insertApiKey } from '../src/directory/keys/repository.ts'
import { insertTag } from '../src/directory/tags/repository.ts'
import { insertTeam } from '../src/directory/teams/repository.ts'
import { insertUser, type NewUser } from '../src/directory/users/repository.ts'
import { createWorkspace } from '../src/directory/workspaces/repository.ts'

export const POSTGRES_URL = process.env.DOCENT_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    await client.end().catch(() => {})
  }
}

const wanted = (process.env.DOCENT_TEST_ENGINES || 'sqlite,postgres').split(',').map((e) => e.trim())
const problem = wanted.includes('postgres') ? await postgresProblem() : 'not selected by DOCENT_TEST_ENGINES'
if (problem !== undefined && process.env.CI === 'true' && wanted.includes('postgres')) {
  throw new Error(`PostgreSQL at ${POSTGRES_URL} is required under CI=true: ${problem}`)
}

/** Every engine a suite runs on; `skip` says why PostgreSQL is left out on a machine without it. */
export const ENGINES: { engine: Engine; skip: string | false }[] = [
  ...(wanted.includes('sqlite') ? [{ engine: 'sqlite' as const, skip: false as const }] : []),
  {
    engine: 'postgres',
    skip:
      problem === undefined
        ? false
        : `PostgreSQL skipped (${problem}); set DOCENT_TEST_POSTGRES_URL or run under CI=true to require it`,
  },
]

export const MYSQL_URL = process.env.DOCENT_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306'

async function mysqlProblem(): Promise<string | undefined> {
  try {
    const { default: mysql } = await import('mysql2/promise')
    const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 })
    await connection.end()
    return undefined
  } catch (error) {
    return (error as Error).message || String(error)
  }
}

/** Why the MariaDB/MySQL suites are skipped on this machine, or false; under CI=true it must be reachable. */
export async function mysqlSkip(): Promise<string | false> {
  const problem = await mysqlProblem()
  if (problem !== undefined && process.env.CI === 'true') {
    throw new Error(`MariaDB/MySQL at ${MYSQL_URL} is required under CI=true: ${problem}`)
  }
  return problem === undefined
    ? false
    : `MariaDB/MySQL skipped (${problem}); set DOCENT_TEST_MYSQL_URL or run under CI=true to require it`
}

/** A fresh, migrated store: a temporary SQLite file, or a PostgreSQL schema of its own. */
export async function openTestStore(
  engine: Engine,
): Promise<{ store: Store; url: string; openPeer(): Promise<Store>; cleanup(): Promise<void> }> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'docent-test-'))
    const url = `sqlite:${join(dir, 'docent.db')}`
    const store = await openStore(url)
    await migrateToLatest(store.db)
    return {
      store,
      url,
      openPeer: () => openStore(url),
      async cleanup() {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const schema = `docent_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  const store = await openStore(POSTGRES_URL, { schema, poolSize: 4 })
  const cleanup = async () => {
    await store.close()
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    await client.query(`drop schema if exists ${schema} cascade`)
    await client.end()
  }
  try {
    await migrateToLatest(store.db)
  } catch (error) {
    await cleanup()
    throw error
  }
  return { store, url: POSTGRES_URL, openPeer: () => openStore(POSTGRES_URL, { schema, poolSize: 2 }), cleanup }
}

export interface Harness {
  engine: Engine
  store: Store
  app: FastifyInstance
  workspaceId: string
  defaultTeamId: string
  adminUserId: string
  adminKey: string
  /** Another connection to the same data, as a second docent instance (or a CLI process) would have. */
  openPeer(): Promise<Store>
  /** `app.inject` with the admin's key unless `headers.authorization` says otherwise. */
  request(options: InjectOptions & { body?: unknown }): Promise<LightMyRequestResponse>
  close(): Promise<void>
}

/** A store with one workspace (default team, admin and key) and an app on it, built with `options`. */
export async function startHarness(engine: Engine, options: Omit<AppOptions, 'store'> = {}): Promise<Harness> {
  const { store, cleanup, openPeer } = await openTestStore(engine)
  const adminKey = generateApiKey()
  const created = await store.write((trx) =>
    createWorkspace(trx, { name: 'Test', adminEmail: 'admin@example.com', adminKey }),
  )
  const app = await buildApp({ store, ...options })
  return {
    engine,
    store,
    app,
    ...created,
    adminKey,
    openPeer,
    request(options) {
      const headers: Record<string, string | string[] | undefined> = {
        authorization: `Bearer ${adminKey}`,
        ...(options.headers as Record<string, string | string[] | undefined>),
      }
      for (const [name, value] of Object.entries(headers)) {
        if (value === undefined) delete headers[name]
      }
      const { body, ...rest } = options
      return app.inject({
        ...rest,
        headers,
        ...(body === undefined ? {} : typeof body === 'string' ? { payload: body } : { payload: body as object }),
      })
    },
    async close() {
      await app.close()
      await cleanup()
    },
  }
}

// Factories: rows made through the repository functions, with overrides.

let counter = 0
const unique = (prefix: string) => `${prefix} ${++counter}`

export function makeTeam(
  h: Harness,
  overrides: { name?: string; type?: 'OPEN' | 'CLOSED'; workspaceId?: string } = {},
) {
  return insertTeam(h.store.db, { workspaceId: h.workspaceId, name: unique('Team'), ...overrides })
}

export function makeUser(h: Harness, overrides: Partial<NewUser> & { role?: Role } = {}) {
  return insertUser(h.store.db, {
    workspaceId: h.workspaceId,
    email: `${unique('user').replace(' ', '')}@example.com`,
    role: 'editor',
    ...overrides,
  })
}

export function makeGroup(h: Harness, overrides: { name?: string; workspaceId?: string } = {}) {
  return insertGroup(h.store.db, { workspaceId: h.workspaceId, name: unique('Group'), ...overrides })
}

export function makeTag(h: Harness, overrides: { name?: string; workspaceId?: string } = {}) {
  return insertTag(h.store.db, { workspaceId: h.workspaceId, name: unique('Tag'), ...overrides })
}

/** A key for a user of the harness's workspace (or another), as a ready Authorization header value. */
export async function makeKey(h: Harness, userId: string, workspaceId = h.workspaceId): Promise<string> {
  const key = generateApiKey()
  await insertApiKey(h.store.db, { workspaceId, userId, key })
  return `Bearer ${key}`
}

/** An integration through the API; returns its id. */
export async function makeIntegration(h: Harness, body: Record<string, unknown> = {}): Promise<string> {
  const response = await h.request({
    method: 'POST',
    url: '/api/v1/integration/integrations',
    body: { name: unique('Integration'), type: 'postgres', ...body },
  })
  if (response.statusCode !== 201) {
    throw new Error(`makeIntegration: ${response.statusCode} ${response.body}`)
  }
  return response.json().id
}

/** A database through the API; returns the whole response body. */
export async function makeDatabase(h: Harness, body: Record<string, unknown> = {}) {
  const integration = body.integration ?? (await makeIntegration(h))
  const response = await h.request({
    method: 'POST',
    url: '/api/v1/database/databases',
    body: { title: unique('Database'), integration, ...body },
  })
  if (response.statusCode !== 201) {
    throw new Error(`makeDatabase: ${response.statusCode} ${response.body}`)
  }
  return response.json()
}

/**
 * A resource of any type straight through the repository (schemas, tables and collections have no routes yet).
 * `parent` is a resource row id; title_full and the search names follow the parent's.
 */
export async function makeResource(
  h: Harness,
  input: { entityType: string; title?: string; parentId?: string; integrationId?: string | null; workspaceId?: string },
  relations: Partial<Relations> = {},
): Promise<string> {
  const title = input.title ?? unique(input.entityType)
  const parent =
    input.parentId === undefined
      ? undefined
      : await h.store.db.selectFrom('resources').selectAll().where('id', '=', input.parentId).executeTakeFirstOrThrow()
  // Like every write of docent's own, it notes the change, so that a list cached before it shows the resource.
  return h.store.write((trx) =>
    insertResourceRow(
      trx,
      newResourceValues({
        workspaceId: input.workspaceId ?? h.workspaceId,
        entityType: input.entityType,
        title,
        parent,
        integrationId: input.integrationId ?? parent?.integration_id ?? null,
        now: nowIso(),
      }),
      { teams: [h.defaultTeamId], ...relations },
    ),
  )
}

/** How many rows a table holds, for "nothing was written" checks. */
export async function countRows(
  h: Harness,
  table:
    | 'resources'
    | 'integrations'
    | 'resource_owners'
    | 'resource_teams'
    | 'groups'
    | 'tags'
    | 'teams'
    | 'users'
    | 'integration_teams',
) {
  const row = await h.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** A second workspace (its own default team, admin and key) in the harness's store. */
export async function makeWorkspace(h: Harness) {
  const adminKey = generateApiKey()
  const created = await h.store.write((trx) =>
    createWorkspace(trx, {
      name: unique('Workspace'),
      adminEmail: 'admin@other.example.com',
      adminKey,
    }),
  )
  return { ...created, authorization: `Bearer ${adminKey}` }
}

const LEAKS =
  /\bstack\b|\.ts:\d+|node_modules|\bSQLITE_|sqlite3|\bselect\b.*\bfrom\b|\binsert into\b|violates|duplicate key/i

/**
 * Checks an error answer (CONTRACT §1): the status, JSON with `detail` and `code` strings (and `errors` only on a
 * validation failure), nothing else, and no stack trace, SQL or driver text. Returns the parsed body.
 */
export function assertErrorBody(response: LightMyRequestResponse, status: number, code: string) {
  if (response.statusCode !== status) {
    throw new Error(`expected ${status} ${code}, got ${response.statusCode}: ${response.body}`)
  }
  if (!String(response.headers['content-type']).startsWith('application/json')) {
    throw new Error(`error body is not JSON: ${response.headers['content-type']}`)
  }
  const body = response.json()
  if (typeof body.detail !== 'string' || body.detail === '' || body.code !== code) {
    throw new Error(`expected {detail, code: ${code}}, got ${response.body}`)
  }
  const extra = Object.keys(body).filter((k) => k !== 'detail' && k !== 'code' && k !== 'errors')
  if (extra.length > 0 || (body.errors !== undefined && code !== 'VALIDATION_ERROR')) {
    throw new Error(`unexpected keys in an error body: ${response.body}`)
  }
  if (LEAKS.test(response.body)) {
    throw new Error(`error body leaks internals: ${response.body}`)
  }
  return body as { detail: string; code: string; errors?: { field: string; message: string }[] }
}

/** A 400 VALIDATION_ERROR whose `errors` name `field` (with a message matching `message`, when given). */
export function assertFieldError(response: LightMyRequestResponse, field: string, message?: RegExp) {
  const body = assertErrorBody(response, 400, 'VALIDATION_ERROR')
  const errors = body.errors ?? []
  if (errors.length === 0 || errors.some((e) => typeof e.field !== 'string' || typeof e.message !== 'string')) {
    throw new Error(`expected errors [{field, message}], got ${response.body}`)
  }
  const entry = errors.find((e) => e.field === field)
  if (entry === undefined) {
    throw new Error(`expected an error for ${field}, got ${response.body}`)
  }
  if (message !== undefined && !message.test(entry.message)) {
    throw new Error(`expected the message for ${field} to match ${message}, got ${response.body}`)
  }
  return body
}

/** A resource through a typed route (`/database/schemas`, `/table/tables`, ...) or `/resource/catalog`; the body. */
export async function makeVia(
  h: Harness,
  path: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown> & { id: string }> {
  const response = await h.request({
    method: 'POST',
    url: `/api/v1${path}`,
    body: { title: unique('Resource'), ...body },
  })
  if (response.statusCode !== 201) {
    throw new Error(`makeVia ${path}: ${response.statusCode} ${response.body}`)
  }
  return response.json()
}

/** Rows of `resources` whose parent_id names no resource: there must never be any. */
export async function findOrphans(h: Harness): Promise<string[]> {
  const rows = await h.store.db
    .selectFrom('resources as child')
    .leftJoin('resources as parent', 'parent.id', 'child.parent_id')
    .select('child.id')
    .where('child.parent_id', 'is not', null)
    .where('parent.id', 'is', null)
    .execute()
  return rows.map((r) => r.id)
}

/**
 * Runs `node bin/docent.js <args>` to its end (at most `timeoutMs`) with only PATH, HOME and `env`: no DOCENT_*
 * setting of the shell the tests run in reaches the CLI.
 */
export async function runDocent(
  args: string[],
  options: { env: Record<string, string>; cwd: string; timeoutMs?: number },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process')
  const bin = new URL('../bin/docent.js', import.meta.url).pathname
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const timeoutMs = options.timeoutMs ?? 20_000
  let timer: NodeJS.Timeout | undefined
  try {
    const exit = await Promise.race([
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on('close', (code, signal) => resolve({ code, signal }))
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`docent ${args.join(' ')} did not end within ${timeoutMs} ms: ${stderr}`))
        }, timeoutMs)
      }),
    ])
    return { ...exit, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The five calls of one collection route (`base` and `base/{id}`), as the admin or with another Authorization
 * header. `harness` is read at call time, so a suite can make its client before its `before` hook runs.
 */
export function collectionClient(harness: () => Harness, base: string) {
  const headers = (authorization?: string) => (authorization === undefined ? {} : { authorization })
  const post = (body: Record<string, unknown>, authorization?: string) =>
    harness().request({ method: 'POST', url: base, body, headers: headers(authorization) })
  return {
    /** POSTs, requires 201, and returns the item created. */
    created: async <T = { id: string }>(body: Record<string, unknown>, authorization?: string): Promise<T> => {
      const response = await post(body, authorization)
      assert.equal(response.statusCode, 201, response.body)
      return response.json() as T
    },
    list: (query = '', authorization?: string) =>
      harness().request({ method: 'GET', url: `${base}${query}`, headers: headers(authorization) }),
    get: (id: string, authorization?: string) =>
      harness().request({ method: 'GET', url: `${base}/${id}`, headers: headers(authorization) }),
    post,
    patch: (id: string, body: Record<string, unknown>, authorization?: string) =>
      harness().request({ method: 'PATCH', url: `${base}/${id}`, body, headers: headers(authorization) }),
    remove: (id: string, authorization?: string) =>
      harness().request({ method: 'DELETE', url: `${base}/${id}`, headers: headers(authorization) }),
  }
}

/** A promise and what resolves it, for tests that step two transactions in turn. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return { promise, resolve }
}

/** Runs `work` in a peer's transaction and holds it open until the returned `commit` is called. */
export async function holdOpenOnPeer(
  h: Harness,
  work: (trx: Kysely<DB>) => Promise<void>,
): Promise<() => Promise<void>> {
  const peer = await h.openPeer()
  const gate = deferred()
  const started = deferred()
  const done = peer.db
    .transaction()
    .execute(async (trx) => {
      await work(trx)
      started.resolve()
      await gate.promise
    })
    .finally(() => peer.close())
  await started.promise
  return async () => {
    gate.resolve()
    await done
  }
}

/** A multipart/form-data body of files (as a browser or curl -F sends them), and its content type. */
export function multipartBody(files: { field: string; filename: string; text: string }[]): {
  payload: string
  headers: Record<string, string>
} {
  const boundary = `----docent${Math.random().toString(36).slice(2)}`
  const parts = files.map(
    ({ field, filename, text }) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n${text}\r\n`,
  )
  return {
    payload: `${parts.join('')}--${boundary}--\r\n`,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  }
}

/**
 * A small deterministic random generator (mulberry32) for randomized tests, so that a failure can be replayed
 * from its seed: whole numbers below n, one of a list, a chance, and up to `max` distinct items of a list.
 */
export function seededRandom(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const chance = (p: number) => next() < p
  const subset = <T>(items: readonly T[], max: number): T[] => {
    const out: T[] = []
    if (items.length === 0) return out
    for (let i = int(max + 1); i > 0; i--) {
      const item = pick(items)
      if (!out.includes(item)) out.push(item)
    }
    return out
  }
  return { int, pick, chance, subset }
}
