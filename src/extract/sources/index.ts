import { isAbsolute } from 'node:path'
import { ExtractError, type SourceReader } from '../source.ts'
import { accessProblem, type SourceAccess } from '../source-access.ts'
import { mysqlSource } from './mysql.ts'
import { postgresSource } from './postgres.ts'
import { sqliteSource } from './sqlite.ts'

const SHAPES: Record<string, string> = {
  postgres: '{"url": "postgres://user:password@host:5432/database"}',
  mysql: '{"url": "mysql://user:password@host:3306/database"} (the database is optional)',
  sqlite: '{"path": "/absolute/path/to/file.db"}',
}

/**
 * URL parameters a source may carry. Drivers take others that read a local file (`sslcert`, `sslrootcert`, …) or
 * reach another host or socket (`host`, `socketPath`) than the one the URL names, which a sync must not.
 */
const PARAMETERS: Record<string, string[]> = {
  postgres: ['sslmode', 'ssl', 'application_name', 'options'],
  mysql: ['ssl', 'charset', 'timezone'],
}

/**
 * A reader for an integration of type `postgres`, `mysql` or `sqlite` that reads only what `access` allows;
 * ExtractError says what to fix otherwise.
 */
export function openSource(type: string, credentials: unknown, access: SourceAccess): SourceReader {
  if (SHAPES[type] === undefined) {
    throw new ExtractError(`integrations of type '${type}' cannot be synced: docent reads postgres, mysql and sqlite`)
  }
  // A SQLite path is judged when it is read, with one message for every refusal (allowedSqliteFile).
  const problem =
    checkCredentials(type, credentials) ?? (type === 'sqlite' ? undefined : accessProblem(type, credentials, access))
  if (problem !== undefined) {
    throw new ExtractError(problem)
  }
  switch (type) {
    case 'postgres':
      return postgresSource(credentials as { url: string }, access)
    case 'mysql':
      return mysqlSource(credentials as { url: string })
    default:
      return sqliteSource(credentials as { path: string }, access)
  }
}

/**
 * What is wrong with the credentials of a `postgres`, `mysql` or `sqlite` integration, as a sentence that never
 * repeats a URL (it may hold a password); undefined when they are fine or the type reads no source.
 */
export function checkCredentials(type: string, credentials: unknown): string | undefined {
  const shape = SHAPES[type]
  if (shape === undefined) return undefined
  const fields =
    typeof credentials === 'object' && credentials !== null && !Array.isArray(credentials)
      ? (credentials as Record<string, unknown>)
      : undefined
  if (type === 'sqlite') {
    const path = fields?.path
    if (typeof path !== 'string' || path === '') return `${type} credentials must be ${shape}`
    if (!isAbsolute(path)) return `the SQLite path must be absolute, e.g. /data/app.db; got ${JSON.stringify(path)}`
    return undefined
  }
  const url = fields?.url
  if (typeof url !== 'string' || url === '') return `${type} credentials must be ${shape}`
  const schemes = type === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:']
  let parsed: URL
  try {
    parsed = new URL(url)
    decodeURIComponent(parsed.username)
    decodeURIComponent(parsed.password)
  } catch {
    return `the ${type} url is not a valid URL: it must look like ${shape}`
  }
  if (!schemes.includes(parsed.protocol)) {
    return `the ${type} url must start with ${schemes.map((s) => `${s}//`).join(' or ')}`
  }
  if (parsed.hostname === '' || parsed.hostname.includes('%')) {
    return `the ${type} url must name the server's host, e.g. ${shape}; docent does not connect through local sockets`
  }
  const allowed = PARAMETERS[type] ?? []
  const other = [...parsed.searchParams.keys()].find((key) => !allowed.includes(key))
  if (other !== undefined) {
    return `the ${type} url may carry only the parameters ${allowed.join(', ')}, not '${other}'`
  }
  return undefined
}
