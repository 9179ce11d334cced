import type { Kysely } from 'kysely'
import { ROLES, type Role } from '../access/principal.ts'
import type { DB, Store } from '../db/types.ts'
import { nowIso, toIso } from '../db/values.ts'
import { generateApiKey, insertApiKey } from './keys/repository.ts'
import { insertUser } from './users/repository.ts'
import { createWorkspace } from './workspaces/repository.ts'

/** A failure of an operator's command that says what to do instead. */
export class TaskError extends Error {}

/** The workspace a command means: by id or name, or the only one there is. */
export async function resolveWorkspace(db: Kysely<DB>, selector: string | undefined): Promise<string> {
  const workspaces = await db.selectFrom('workspaces').select(['id', 'name']).orderBy('created_at').execute()
  if (selector === undefined) {
    const [only, ...others] = workspaces
    if (only === undefined) {
      throw new TaskError(
        'the store has no workspace yet: start the server once, or run `docent workspaces create <name>`',
      )
    }
    if (others.length > 0) {
      throw new TaskError(
        `the store has ${workspaces.length} workspaces: choose one with --workspace <id or name> (${workspaces.map((w) => w.name).join(', ')})`,
      )
    }
    return only.id
  }
  const matches = workspaces.filter((w) => w.id === selector || w.name === selector)
  const [match] = matches
  if (match === undefined) {
    throw new TaskError(`no workspace has the id or name '${selector}'`)
  }
  if (matches.length > 1) {
    throw new TaskError(`several workspaces are named '${selector}': use its id`)
  }
  return match.id
}

/** A new workspace with its default team and an admin; returns the admin's new key. */
export async function createWorkspaceWithAdmin(
  store: Store,
  name: string,
  adminEmail: string,
): Promise<{ workspaceId: string; key: string }> {
  const key = generateApiKey()
  return store.write(async (trx) => {
    // A store that has a workspace is set up: the server's first start must not add one of its own.
    await trx
      .insertInto('docent_meta')
      .values({ key: 'initialized', value: nowIso() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute()
    const { workspaceId } = await createWorkspace(trx, { name, adminEmail: adminEmail.toLowerCase(), adminKey: key })
    return { workspaceId, key }
  })
}

export function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new TaskError(`--role must be one of ${ROLES.join(', ')}, not '${value}'`)
  }
  return value as Role
}

/**
 * A new key for the user with this email, made (with `role`) when there is none yet. An existing user keeps
 * the role it has; `roleIgnored` says when that differs from the one asked for.
 */
export async function createKeyForEmail(
  store: Store,
  input: { workspaceId: string; email: string; role: Role; description: string },
): Promise<{ key: string; keyId: string; userId: string; createdUser: boolean; roleIgnored: string | undefined }> {
  return store.write(async (trx) => {
    const email = input.email.toLowerCase()
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) {
      throw new TaskError(`--email must be an email address, not '${input.email}'`)
    }
    const existing = await trx
      .selectFrom('users')
      .select(['id', 'role'])
      .where('workspace_id', '=', input.workspaceId)
      .where('email', '=', email)
      .executeTakeFirst()
    if (existing === undefined && input.role === 'guest') {
      throw new TaskError('a guest must belong to a team: create the guest through the API (POST /user with teams)')
    }
    const userId = existing?.id ?? (await insertUser(trx, { workspaceId: input.workspaceId, email, role: input.role }))
    const key = generateApiKey()
    const keyId = await insertApiKey(trx, {
      workspaceId: input.workspaceId,
      userId,
      key,
      description: input.description,
    })
    return {
      key,
      keyId,
      userId,
      createdUser: existing === undefined,
      roleIgnored: existing !== undefined && existing.role !== input.role ? existing.role : undefined,
    }
  })
}

export async function listKeysWithEmails(db: Kysely<DB>, workspaceId: string) {
  const rows = await db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([
      'api_keys.id',
      'users.email',
      'users.role',
      'api_keys.description',
      'api_keys.created_at',
      'api_keys.last_used_at',
    ])
    .where('api_keys.workspace_id', '=', workspaceId)
    .where('api_keys.revoked_at', 'is', null)
    .orderBy('api_keys.created_at')
    .orderBy('api_keys.id')
    .execute()
  return rows.map((r) => ({ ...r, created_at: toIso(r.created_at), last_used_at: toIso(r.last_used_at) }))
}
