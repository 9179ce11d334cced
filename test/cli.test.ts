import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { ENGINES, POSTGRES_URL } from './helpers.ts'

const BIN = fileURLToPath(new URL('../bin/docent.js', import.meta.url))
const START_TIMEOUT_MS = 20_000
const EXIT_TIMEOUT_MS = 5_000
const KEY_LINE = /^ {2}(docent_[A-Za-z0-9_-]+)$/m
const LISTENING = /Server listening at (http:\/\/[^\s"]+)/

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

interface Child {
  process: ChildProcess
  stdout(): string
  stderr(): string
  exited: Promise<Exit>
}

/** Every child any test starts; `after` kills those still running. */
const children = new Set<ChildProcess>()

after(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
    }
  }
})

/** Only what the CLI needs: no DOCENT_* or PORT from the environment the tests run in. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...extra }
}

function launch(args: string[], options: { env: Record<string, string>; cwd: string }): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
  return { process: child, stdout: () => stdout, stderr: () => stderr, exited }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Runs a command to its end (bounded) and returns its exit and output. */
async function runCli(args: string[], options: { env: Record<string, string>; cwd: string }) {
  const child = launch(args, options)
  const exit = await withTimeout(child.exited, START_TIMEOUT_MS, () => `docent ${args.join(' ')}: ${child.stderr()}`)
  return { ...exit, stdout: child.stdout(), stderr: child.stderr() }
}

/** Starts `docent serve` and waits (bounded) for its "Server listening at" line. */
async function startServe(options: { env: Record<string, string>; cwd: string }) {
  const child = launch(['serve'], { ...options, env: { PORT: '0', ...options.env } })
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = LISTENING.exec(child.stdout())
        if (match?.[1] !== undefined) {
          resolve(match[1])
        }
      }
      child.process.stdout?.on('data', check)
      child.exited.then((exit) =>
        reject(new Error(`docent serve exited early (${JSON.stringify(exit)}): ${child.stderr()}${child.stdout()}`)),
      )
    }),
    START_TIMEOUT_MS,
    () => `docent serve did not start: ${child.stderr()}${child.stdout()}`,
  )
  return { ...child, url }
}

/** Waits (bounded) until standard output matches `pattern`; returns the match. */
async function waitForStdout(child: Child, pattern: RegExp): Promise<RegExpExecArray> {
  return withTimeout(
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(child.stdout())
        if (match !== null) resolve(match)
      }
      check()
      child.process.stdout?.on('data', check)
      child.exited.then(() => reject(new Error(`exited before printing ${pattern}: ${child.stdout()}`)))
    }),
    START_TIMEOUT_MS,
    () => `no ${pattern} in: ${child.stdout()}`,
  )
}

async function stop(child: Child, signal: NodeJS.Signals): Promise<Exit> {
  child.process.kill(signal)
  return withTimeout(child.exited, EXIT_TIMEOUT_MS, () => `no exit after ${signal}: ${child.stderr()}`)
}

function listDatabases(url: string, key: string) {
  return fetch(`${url}/api/v1/database/databases/`, { headers: { authorization: `Bearer ${key}` } })
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'docent-cli-'))
}

/** Asserts a failed start: exit 1, one readable line on stderr, no stack trace. */
function assertCleanFailure(result: { code: number | null; stderr: string }) {
  assert.notEqual(result.code, 0, result.stderr)
  assert.match(result.stderr, /^docent: /)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
}

describe('docent serve refuses a store it cannot open', { concurrency: true }, () => {
  let dir: string
  before(() => {
    dir = tempDir()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('exits non-zero naming the supported URLs for an unsupported DOCENT_DATABASE_URL', async () => {
    const result = await runCli(['serve'], { env: { DOCENT_DATABASE_URL: 'mysql://x', PORT: '0' }, cwd: dir })
    assertCleanFailure(result)
    assert.match(result.stderr, /DOCENT_DATABASE_URL/)
    assert.match(result.stderr, /sqlite:/)
    assert.match(result.stderr, /postgres:\/\//)
  })

  test('exits non-zero mentioning PostgreSQL, without the password, when PostgreSQL cannot be reached', async () => {
    for (const url of ['postgres://postgres@127.0.0.1:1/none', 'postgres://u:secretpw@127.0.0.1:1/x']) {
      const result = await runCli(['serve'], { env: { DOCENT_DATABASE_URL: url, PORT: '0' }, cwd: dir })
      assertCleanFailure(result)
      assert.match(result.stderr, /PostgreSQL/, url)
      assert.match(result.stderr, /127\.0\.0\.1:1/, url)
      assert.ok(!`${result.stdout}${result.stderr}`.includes('secretpw'), `password leaked: ${result.stderr}`)
    }
  })

  test('exits non-zero naming the SQLite file when its folder cannot be created', async () => {
    const file = join(dir, 'regular-file')
    writeFileSync(file, 'not a folder\n')
    const dbPath = join(file, 'sub', 'docent.db')
    const result = await runCli(['serve'], { env: { DOCENT_DATABASE_URL: `sqlite:${dbPath}`, PORT: '0' }, cwd: dir })
    assertCleanFailure(result)
    assert.ok(result.stderr.includes(dbPath), result.stderr)
  })

  test('exits non-zero for a malformed PORT or a short DOCENT_ADMIN_API_KEY', async () => {
    const badPort = await runCli(['serve'], { env: { PORT: 'abc' }, cwd: dir })
    assertCleanFailure(badPort)
    assert.match(badPort.stderr, /PORT/)
    const shortKey = await runCli(['serve'], { env: { DOCENT_ADMIN_API_KEY: 'short', PORT: '0' }, cwd: dir })
    assertCleanFailure(shortKey)
    assert.match(shortKey.stderr, /DOCENT_ADMIN_API_KEY/)
  })
})

describe('docent on the command line', () => {
  let dir: string
  before(() => {
    dir = tempDir()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('--version and -v print the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag], { env: {}, cwd: dir })
      assert.equal(result.code, 0, result.stderr)
      assert.equal(result.stdout, `${version}\n`)
    }
  })

  test('an unknown command or option exits 1 and points to --help', async () => {
    for (const args of [['serv'], ['keys', 'delete'], ['serve', '--prot', '9000']]) {
      const result = await runCli(args, { env: {}, cwd: dir })
      assert.equal(result.code, 1, args.join(' '))
      assert.match(result.stderr, /^docent: unknown (command|option) '/, args.join(' '))
      assert.match(result.stderr, /docent --help/, args.join(' '))
      assert.equal(result.stdout, '')
    }
  })
})

describe('docent serve on a port another program holds', () => {
  let dir: string
  let blocker: Server
  let port: number
  before(async () => {
    dir = tempDir()
    blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    port = (blocker.address() as AddressInfo).port
  })
  after(async () => {
    await new Promise((resolve) => blocker.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  test('exits 1 naming the address and PORT before the first start makes, prints or writes a key', async () => {
    const result = await runCli(['serve'], { env: { PORT: String(port) }, cwd: dir })
    assertCleanFailure(result)
    assert.ok(result.stderr.includes(`cannot listen on 127.0.0.1:${port}`), result.stderr)
    assert.match(result.stderr, /another program uses that port.*PORT \(e\.g\. PORT=\d+\)/)
    assert.doesNotMatch(result.stdout, /docent_[A-Za-z0-9_-]{20,}|first start/)
    assert.ok(!existsSync(join(dir, 'data', 'admin-api-key')), 'no key file')
  })

  test('a later start on a free port is the first start, and prints the key', async () => {
    const server = await startServe({ env: {}, cwd: dir })
    try {
      const key = (await waitForStdout(server, KEY_LINE))[1]
      assert.equal(readFileSync(join(dir, 'data', 'admin-api-key'), 'utf8').trim(), key)
    } finally {
      await stop(server, 'SIGTERM')
    }
  })
})

// These steps run in order on one folder: a first start, a restart, then a look at the file.
describe('docent serve on SQLite', () => {
  let dir: string
  let key: string
  let keyFile: { text: string; mtimeMs: number }
  before(() => {
    dir = tempDir()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('on a fresh folder prints the admin key once, writes it to ./data/admin-api-key (0600), and exits 0 on SIGTERM', async () => {
    const server = await startServe({ env: {}, cwd: dir })
    try {
      const printed = (await waitForStdout(server, KEY_LINE))[1]
      assert.ok(printed !== undefined, `no key printed: ${server.stdout()}`)
      key = printed
      const path = join(dir, 'data', 'admin-api-key')
      const stat = statSync(path)
      assert.equal(stat.mode & 0o777, 0o600)
      const text = readFileSync(path, 'utf8')
      assert.equal(text.trim(), key)
      keyFile = { text, mtimeMs: stat.mtimeMs }

      const response = await listDatabases(server.url, key)
      assert.equal(response.status, 200)
      const body = await response.json()
      assert.equal(body.count, 0)
      assert.deepEqual(body.results, [])

      const denied = await fetch(`${server.url}/api/v1/database/databases/`)
      assert.equal(denied.status, 401)
    } finally {
      const exit = await stop(server, 'SIGTERM')
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr())
    }
  })

  test('on restart prints no key, keeps the key file, serves the same key and exits 0 on SIGINT', async () => {
    assert.ok(key !== undefined, 'needs the first start')
    const server = await startServe({ env: {}, cwd: dir })
    try {
      const path = join(dir, 'data', 'admin-api-key')
      assert.equal(readFileSync(path, 'utf8'), keyFile.text)
      assert.equal(statSync(path).mtimeMs, keyFile.mtimeMs)
      assert.equal((await listDatabases(server.url, key)).status, 200)
    } finally {
      const exit = await stop(server, 'SIGINT')
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr())
    }
    // Read once the process has ended, so that nothing it printed is missed.
    assert.doesNotMatch(server.stdout(), /docent_[A-Za-z0-9_-]{20,}/)
    assert.doesNotMatch(server.stdout(), /first start/)
  })

  test('leaves the SQLite file in WAL mode', () => {
    const sqlite = new SQLite(join(dir, 'data', 'docent.db'), { fileMustExist: true })
    try {
      assert.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal')
    } finally {
      sqlite.close()
    }
  })
})

describe('docent migrate', () => {
  let dir: string
  before(() => {
    dir = tempDir()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('brings a fresh SQLite file up to date, and a second run is a no-op', async () => {
    const file = join(dir, 'nested', 'store.db')
    const env = { DOCENT_DATABASE_URL: `sqlite:${file}` }
    const first = await runCli(['migrate'], { env, cwd: dir })
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /up to date/)

    const applied = () => {
      const sqlite = new SQLite(file, { fileMustExist: true })
      try {
        return sqlite.prepare('select name from kysely_migration order by name').all()
      } finally {
        sqlite.close()
      }
    }
    const before = applied()
    assert.ok(before.length > 0)
    const tables = new SQLite(file, { fileMustExist: true })
    const workspaces = tables.prepare('select count(*) as n from workspaces').get()
    tables.close()
    assert.deepEqual(workspaces, { n: 0 }, 'migrate sets nothing up')

    const second = await runCli(['migrate'], { env, cwd: dir })
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stdout, /up to date/)
    assert.deepEqual(applied(), before)
  })
})

const postgres = ENGINES.find((e) => e.engine === 'postgres')

describe('docent on PostgreSQL', { skip: postgres?.skip ?? 'PostgreSQL not configured' }, () => {
  const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const schemas = [`docent_cli_${suffix}`, `docent_cli_${suffix}_b`]
  let dir: string
  before(() => {
    dir = tempDir()
  })
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
      }
    }
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    try {
      for (const schema of schemas) {
        await client.query(`drop schema if exists ${schema} cascade`)
      }
    } finally {
      await client.end()
    }
    rmSync(dir, { recursive: true, force: true })
  })

  test('serves on its own schema and exits 0 on SIGTERM', async () => {
    const server = await startServe({
      env: { DOCENT_DATABASE_URL: POSTGRES_URL, DOCENT_DATABASE_SCHEMA: schemas[0] as string },
      cwd: dir,
    })
    try {
      const key = (await waitForStdout(server, KEY_LINE))[1]
      assert.ok(key !== undefined, `no key printed: ${server.stdout()}`)
      assert.equal(readFileSync(join(dir, 'data', 'admin-api-key'), 'utf8').trim(), key)
      const response = await listDatabases(server.url, key)
      assert.equal(response.status, 200)
      assert.equal((await response.json()).count, 0)
      const health = await fetch(`${server.url}/healthcheck`)
      assert.deepEqual(await health.json(), { status: 'OK' })
    } finally {
      const exit = await stop(server, 'SIGTERM')
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr())
    }
  })

  test('creates the database of DOCENT_DATABASE_URL when it is missing, quoting its name, and says so once', async () => {
    const name = `Docent-Test ${suffix}`
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${encodeURIComponent(name)}`
    const env = { DOCENT_DATABASE_URL: url.toString() }
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    try {
      const first = await runCli(['migrate'], { env, cwd: dir })
      assert.equal(first.code, 0, first.stderr)
      assert.ok(first.stderr.includes(`docent: created the PostgreSQL database ${name}\n`), first.stderr)
      const found = await admin.query('select 1 from pg_database where datname = $1', [name])
      assert.equal(found.rowCount, 1)
      const again = await runCli(['migrate'], { env, cwd: dir })
      assert.equal(again.code, 0, again.stderr)
      assert.doesNotMatch(again.stderr, /created/)
    } finally {
      await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`)
      await admin.end()
    }
  })

  test('says what to run when the database is missing and the role may not create it', async () => {
    const role = `docent_nocreate_${suffix}`
    const name = `docent_missing_${suffix}`
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    try {
      await admin.query(`create role ${role} login`)
      const url = new URL(POSTGRES_URL)
      url.username = role
      url.pathname = `/${name}`
      const result = await runCli(['migrate'], { env: { DOCENT_DATABASE_URL: url.toString() }, cwd: dir })
      assertCleanFailure(result)
      assert.match(result.stderr, new RegExp(`database "${name}" .* does not exist and docent could not create it`))
      assert.ok(
        result.stderr.includes(`createdb -h ${url.hostname} -p ${url.port || 5432} -U postgres -O ${role} ${name}`),
      )
      assert.ok(result.stderr.includes(`CREATE DATABASE "${name}" OWNER "${role}";`), result.stderr)
      const found = await admin.query('select 1 from pg_database where datname = $1', [name])
      assert.equal(found.rowCount, 0)
    } finally {
      await admin.query(`drop role if exists ${role}`)
      await admin.end()
    }
  })

  test('says what to run when the role may not create the pg_trgm extension, and starts once it exists', async () => {
    const role = `docent_noext_${suffix}`
    const name = `docent_noext_${suffix}`
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${name}`
    const inDatabase = new pg.Client({ connectionString: url.toString() })
    try {
      await admin.query(`create role ${role} login`)
      await admin.query(`create database ${name}`)
      // The role owns docent's schema but may not create anything else in the database (no extension either).
      await inDatabase.connect()
      await inDatabase.query(`create schema docent authorization ${role}`)
      const asRole = new URL(url)
      asRole.username = role
      const env = { DOCENT_DATABASE_URL: asRole.toString(), DOCENT_DATABASE_SCHEMA: 'docent' }
      const refused = await runCli(['migrate'], { env, cwd: dir })
      assertCleanFailure(refused)
      assert.match(
        refused.stderr,
        /migration 20261204-0005-search failed: docent's search needs the PostgreSQL extension pg_trgm/,
      )
      assert.ok(refused.stderr.includes('CREATE EXTENSION pg_trgm SCHEMA public;'), refused.stderr)
      // Nothing of the failed run is left: not even the tables of the earlier migrations of that run.
      const tables = await inDatabase.query(`select 1 from pg_tables where schemaname = 'docent'`)
      assert.equal(tables.rowCount, 0)
      await inDatabase.query('create extension pg_trgm schema public')
      const migrated = await runCli(['migrate'], { env, cwd: dir })
      assert.equal(migrated.code, 0, migrated.stderr)
    } finally {
      await inDatabase.end().catch(() => {})
      await admin.query(`drop database if exists ${name} with (force)`)
      await admin.query(`drop role if exists ${role}`)
      await admin.end()
    }
  })

  test('migrates a second schema of the same database beside a docent already there', async () => {
    for (const schema of schemas) {
      const result = await runCli(['migrate'], {
        env: { DOCENT_DATABASE_URL: POSTGRES_URL, DOCENT_DATABASE_SCHEMA: schema },
        cwd: dir,
      })
      assert.equal(result.code, 0, `${schema}: ${result.stderr}`)
      assert.match(result.stdout, /up to date/)
    }
  })
})
