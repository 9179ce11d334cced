/**
 * Who is asking: the user an API key (or, later, a session) acts as. Every rule of what a caller may see and do
 * starts from a Principal; the narrower shapes queries need (a Scope, a visibility) are derived from it here and
 * in visibility.ts, never assembled by hand elsewhere.
 */

export const ROLES = ['admin', 'editor', 'viewer', 'guest'] as const
export type Role = (typeof ROLES)[number]

export interface Principal {
  keyId: string
  userId: string
  workspaceId: string
  role: Role
}

/** A principal as the key lookup reads it, with when its key was last noted as used. */
export type KeyOwner = Principal & { lastUsedAt: string | Date | null }

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

export function isAdmin(principal: Pick<Principal, 'role'>): boolean {
  return principal.role === 'admin'
}

/** Viewers and guests see only published resources; admins and editors see drafts too. */
export function seesDrafts(principal: Pick<Principal, 'role'>): boolean {
  return principal.role === 'admin' || principal.role === 'editor'
}

export interface Permissions {
  read: boolean
  write: boolean
  execute: boolean
}

/**
 * What the caller may do with a resource it can see: `write` is editing, `execute` is deleting and other
 * destructive or administrative actions. Team visibility is decided in SQL by the queries that find resources.
 */
export function permissionsFor(principal: Pick<Principal, 'role'>): Permissions {
  switch (principal.role) {
    case 'admin':
      return { read: true, write: true, execute: true }
    case 'editor':
      return { read: true, write: true, execute: false }
    default:
      return { read: true, write: false, execute: false }
  }
}
