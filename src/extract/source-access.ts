import type { Stats } from 'node:fs'
import { realpathSync } from 'node:fs'
import { lstat, realpath, stat } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { sql } from 'kysely'
import type { Store } from '../db/types.ts'
import { ExtractError } from './source.ts'

/** What the operator lets syncs read (CONTRACT §7). */
export interface SourceRules {
  /** Folders a `sqlite` source must be inside; undefined: any folder (`docent sync` without DOCENT_SYNC_SQLITE_DIRS). */
  readonly sqliteDirs: readonly string[] | undefined
  /** Hosts a `postgres` or `mysql` source may be at, lower case; undefined: any host. */
  readonly allowedHosts: readonly string[] | undefined
}

/** The rules, and the store they never let a sync read. */
export interface SourceAccess extends SourceRules {
  /** The store's SQLite file. */
  readonly storeFile: string | undefined
  /** The store's PostgreSQL cluster and database as IDENTITY_SQL spells them. */
  readonly storeDatabase: (() => Promise<string>) | undefined
}

/**
 * One message for every SQLite path a sync will not read, whether it is missing, unreadable, not a database,
 * outside the allowed folders or the store itself: an answer must not tell which, nor whether the path exists.
 */
export const SQLITE_REFUSED =
  'cannot read that SQLite file: it is missing, unreadable, not a SQLite database, or not inside a folder ' +
  'this server may read (DOCENT_SYNC_SQLITE_DIRS)'

const NO_SQLITE_DIRS =
  'this server reads no SQLite files for syncs started over HTTP: its operator has not set ' +
  'DOCENT_SYNC_SQLITE_DIRS (`docent sync <integration id>` on the server can read them)'

export const POSTGRES_STORE_REFUSED =
  "that PostgreSQL database holds docent's own store, which a sync never reads: sync another database"

/** Cluster and database of the connection, from catalog functions every role may call. */
export const IDENTITY_SQL =
  "select (select system_identifier from pg_control_system())::text || '/' || d.oid::text as id " +
  'from pg_database d where d.datname = current_database()'

/** The files SQLite keeps beside a database. */
const COMPANIONS = ['-wal', '-shm', '-journal']

export function sourceAccess(store: Store | undefined, rules: SourceRules): SourceAccess {
  let identity: Promise<string> | undefined
  return Object.freeze({
    sqliteDirs: rules.sqliteDirs,
    allowedHosts: rules.allowedHosts,
    storeFile: store?.file,
    storeDatabase:
      store?.engine === 'postgres'
        ? () => {
            identity ??= sql<{ id: string }>`${sql.raw(IDENTITY_SQL)}`
              .execute(store.db)
              .then((result) => String(result.rows[0]?.id))
              .catch((error: unknown) => {
                identity = undefined
                throw error
              })
            return identity
          }
        : undefined,
  })
}

const inside = (folder: string, path: string) => {
  const rest = relative(folder, path)
  return rest !== '' && rest !== '..' && !rest.startsWith(`..${sep}`) && !isAbsolute(rest)
}

/** The allowed folders as configured and with their symbolic links resolved. */
function folderForms(dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) => {
    try {
      return [dir, realpathSync(dir)]
    } catch {
      return [dir]
    }
  })
}

/** A host name as compared with the allow-list: lower case, without IPv6 brackets or a final dot. */
export function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
}

/**
 * What the operator's rules refuse in well-shaped credentials, judged from the credentials alone (no file is
 * looked at, so the answer tells nothing about the server's files): a SQLite path outside the allowed folders, a
 * host not on the list. Undefined when nothing is refused; the sync checks again, and more, when it runs.
 */
export function accessProblem(type: string, credentials: unknown, access: SourceRules): string | undefined {
  const fields = credentials as Record<string, unknown>
  if (type === 'sqlite') {
    const dirs = access.sqliteDirs
    if (dirs === undefined || dirs.length === 0) return undefined
    const path = resolve(String(fields.path))
    if (folderForms(dirs).some((dir) => inside(dir, path))) return undefined
    return 'the SQLite file must be inside a folder this server may read; ask its operator which (DOCENT_SYNC_SQLITE_DIRS)'
  }
  if ((type === 'postgres' || type === 'mysql') && access.allowedHosts !== undefined) {
    const host = normalHost(new URL(String(fields.url)).hostname)
    if (!access.allowedHosts.includes(host)) {
      return `the host ${host} is not one this server may sync from; ask its operator (DOCENT_SYNC_ALLOWED_HOSTS)`
    }
  }
  return undefined
}

/**
 * The real path of a SQLite source the rules let a sync open, or ExtractError(SQLITE_REFUSED). Symbolic links and
 * `..` are resolved before the folders are compared; the store's file, its -wal, -shm and -journal files are
 * refused by name and by inode, so neither a link nor a hard link to them gets through.
 */
export async function allowedSqliteFile(path: string, access: SourceAccess): Promise<{ path: string; stats: Stats }> {
  if (access.sqliteDirs !== undefined && access.sqliteDirs.length === 0) throw new ExtractError(NO_SQLITE_DIRS)
  let real: string
  let stats: Stats
  try {
    real = await realpath(path)
    stats = await stat(real)
  } catch {
    throw new ExtractError(SQLITE_REFUSED)
  }
  if (!stats.isFile()) throw new ExtractError(SQLITE_REFUSED)
  if (access.sqliteDirs !== undefined && !folderForms(access.sqliteDirs).some((dir) => inside(dir, real))) {
    throw new ExtractError(SQLITE_REFUSED)
  }
  if (access.storeFile !== undefined && (await isStoreFile(real, stats, access.storeFile))) {
    throw new ExtractError(SQLITE_REFUSED)
  }
  // SQLite also reads the file's -wal (and a hot -journal) beside it: a link there would splice in another file.
  for (const suffix of COMPANIONS) {
    const companion = await lstat(`${real}${suffix}`).catch(() => undefined)
    if (companion === undefined) continue
    if (!companion.isFile()) throw new ExtractError(SQLITE_REFUSED)
    if (access.storeFile !== undefined && (await isStoreFile(`${real}${suffix}`, companion, access.storeFile))) {
      throw new ExtractError(SQLITE_REFUSED)
    }
  }
  return { path: real, stats }
}

async function isStoreFile(real: string, stats: Stats, storeFile: string): Promise<boolean> {
  for (const suffix of ['', ...COMPANIONS]) {
    const name = `${storeFile}${suffix}`
    if (real === name) return true
    try {
      const [other, otherReal] = await Promise.all([stat(name), realpath(name)])
      if (otherReal === real || (other.dev === stats.dev && other.ino === stats.ino)) return true
    } catch {
      // That file does not exist now, so the source is not it.
    }
  }
  return false
}

/** Whether a file is still the one `allowedSqliteFile` checked (nothing replaced it in between). */
export async function sameFile(path: string, checked: Stats): Promise<boolean> {
  try {
    const now = await stat(path)
    return now.dev === checked.dev && now.ino === checked.ino
  } catch {
    return false
  }
}
