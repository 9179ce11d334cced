import { availableParallelism } from 'node:os'
import { delimiter, resolve } from 'node:path'
import { normalHost } from './extract/source-access.ts'

export interface Config {
  readonly port: number
  readonly host: string
  /** `sqlite:<path>` or `postgres://…` */
  readonly databaseUrl: string
  /** PostgreSQL schema to use instead of the connection's default (`search_path`). */
  readonly databaseSchema: string | undefined
  /** PostgreSQL: connections each instance keeps open at most. */
  readonly databasePoolSize: number
  /** Folder for the first-start admin key file (and the default SQLite file). */
  readonly dataDir: string
  readonly adminApiKey: string | undefined
  readonly trustProxy: boolean
  readonly logLevel: string
  /** Writes a minute per API key; 0 turns the limit off. */
  readonly writeRateLimit: number
  /** Folders a `sqlite` source may be inside (absolute); empty: none for syncs started over HTTP. */
  readonly syncSqliteDirs: readonly string[]
  /** Hosts a `postgres` or `mysql` source may be at, lower case; undefined: any. */
  readonly syncAllowedHosts: readonly string[] | undefined
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') {
    return 8080
  }
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be an integer from 0 to 65535, not '${value}'`)
  }
  return port
}

function parseCount(name: string, value: string | undefined): number {
  if (value === undefined || value === '') {
    return 0
  }
  const count = Number(value)
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(count)) {
    throw new ConfigError(`${name} must be a whole number (0 turns it off), not '${value}'`)
  }
  return count
}

/**
 * PostgreSQL connections an instance opens at most: by default twice the processors docent may use, from 2 to 10.
 * One Node.js process cannot keep more busy, and on a machine PostgreSQL shares, more connections only contend for
 * its processors (DEVELOPERS.md, "PostgreSQL connections").
 */
function parsePoolSize(value: string | undefined): number {
  if (value === undefined || value === '') {
    return Math.min(10, Math.max(2, 2 * availableParallelism()))
  }
  const size = Number(value)
  // One connection serializes every statement behind the slowest write: the suite's concurrent-write tests time out.
  if (!/^[0-9]+$/.test(value) || size < 2 || size > 100) {
    throw new ConfigError(`DOCENT_DATABASE_POOL_SIZE must be a whole number from 2 to 100, not '${value}'`)
  }
  return size
}

function parseBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') {
    return false
  }
  if (value === '1' || value === 'true') {
    return true
  }
  throw new ConfigError(`${name} must be true or false, not '${value}'`)
}

/** A list of folders separated like PATH (`:` on Unix), each made absolute. */
function parseFolders(value: string | undefined): string[] {
  return (value ?? '')
    .split(delimiter)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => resolve(entry))
}

/** Comma-separated host names or IP addresses; unset or empty means any host. */
function parseHosts(name: string, value: string | undefined): string[] | undefined {
  const hosts = (value ?? '')
    .split(',')
    .map((entry) => normalHost(entry.trim()))
    .filter((entry) => entry !== '')
  if (hosts.length === 0) {
    return undefined
  }
  const bad = hosts.find((host) => !/^[a-z0-9._:-]+$/.test(host))
  if (bad !== undefined) {
    throw new ConfigError(`${name} must list host names or IP addresses separated by commas, not '${bad}'`)
  }
  return hosts
}

/** Reads every setting from an environment once; the result is frozen and passed down. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const dataDir = resolve(env.DOCENT_DATA_DIR || './data')
  const adminApiKey = env.DOCENT_ADMIN_API_KEY || undefined
  if (adminApiKey !== undefined && adminApiKey.length < 32) {
    throw new ConfigError('DOCENT_ADMIN_API_KEY must be at least 32 characters long')
  }
  const logLevel = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not '${logLevel}'`)
  }
  return Object.freeze({
    port: parsePort(env.PORT),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DOCENT_DATABASE_URL || `sqlite:${resolve(dataDir, 'docent.db')}`,
    databaseSchema: env.DOCENT_DATABASE_SCHEMA || undefined,
    databasePoolSize: parsePoolSize(env.DOCENT_DATABASE_POOL_SIZE),
    dataDir,
    adminApiKey,
    trustProxy: parseBoolean('DOCENT_TRUST_PROXY', env.DOCENT_TRUST_PROXY),
    logLevel,
    writeRateLimit: parseCount('DOCENT_WRITE_RATE_LIMIT', env.DOCENT_WRITE_RATE_LIMIT),
    syncSqliteDirs: Object.freeze(parseFolders(env.DOCENT_SYNC_SQLITE_DIRS)),
    syncAllowedHosts: Object.freeze(parseHosts('DOCENT_SYNC_ALLOWED_HOSTS', env.DOCENT_SYNC_ALLOWED_HOSTS)),
  })
}
