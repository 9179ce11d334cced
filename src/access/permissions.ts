import type { Principal } from '../directory/keys.ts'

export interface Permissions {
  read: boolean
  write: boolean
  execute: boolean
}

/**
 * What the caller may do with a resource it can see: `write` is editing, `execute` is deleting and other
 * destructive or administrative actions. Team visibility is decided in SQL by the queries that find resources.
 */
export function permissionsFor(principal: Principal): Permissions {
  switch (principal.role) {
    case 'admin':
      return { read: true, write: true, execute: true }
    case 'editor':
      return { read: true, write: true, execute: false }
    default:
      return { read: true, write: false, execute: false }
  }
}
