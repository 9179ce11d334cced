/** A unique constraint refused the write, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** A foreign key refused the write: something it referenced was deleted by a concurrent request. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
}

/**
 * PostgreSQL gave up the transaction because of another: a deadlock it broke (40P01) or a serialization failure
 * (40001). Nothing of it was written, and running it again is safe.
 */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '40P01' || code === '40001'
}

/** Error codes of a store that cannot take the statement now: refused, cut or shutting down, or out of slots. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
])

/**
 * The store could not be reached, or had no connection free in time: no free connection of the pool within its
 * wait (pg-pool's own message), a connection refused or cut, or PostgreSQL shutting down or out of connections.
 * The statement did not run; trying again later is the fix.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    error.message === 'timeout exceeded when trying to connect' ||
    error.message === 'Connection terminated due to connection timeout'
  )
}
