import { notFound } from '../errors.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID.test(value)
}

/** A path id: a malformed one is simply not found (CONTRACT §1); a well-formed one, lower-cased. */
export function pathId(id: string): string {
  if (!isUuid(id)) {
    throw notFound()
  }
  return id.toLowerCase()
}
