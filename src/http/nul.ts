import type { FastifyInstance } from 'fastify'
import { ApiError, validationFailed } from '../errors.ts'

/** The path of the first string holding a NUL character, e.g. `owners[2]` or `credentials.password`. */
function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') {
    return value.includes('\u0000') ? path : undefined
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findNul(key, path) ?? findNul(item, path === '' ? key : `${path}.${key}`)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/**
 * PostgreSQL text cannot hold NUL characters and SQLite cuts LIKE patterns at one, so both engines would
 * disagree on them: every body and query string that holds one is refused with 400 before it reaches a store.
 */
export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const inQuery = findNul(request.query, '')
    if (inQuery !== undefined) {
      throw new ApiError(
        'BAD_REQUEST',
        `The query parameter ${inQuery} holds a NUL character, which docent does not store.`,
      )
    }
    const inBody = findNul(request.body, '')
    if (inBody !== undefined) {
      throw validationFailed([{ field: inBody || 'body', message: 'must not contain NUL characters' }])
    }
  })
}
