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

/**
 * Codes that arrive only before a statement is sent: the server refused the connection, is starting up or shutting
 * down to new sessions (57P03), or has no connection slot left (53300). Errors that can cut a statement already under
 * way (a reset, a timeout, a terminated session) are not here: its outcome is unknown, and they stay 500s.
 */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', '57P03', '53300'])

/**
 * The store could not be reached, or had no connection free in time: no free connection of the pool within its
 * wait (pg-pool's own message), a new connection not made within it, or one of UNAVAILABLE_CODES. No statement of
 * the request ran; trying again later is the fix. An error the HTTP layer already classed (a `statusCode`: a client
 * that hung up mid-body, say) is never this.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || (error as { statusCode?: unknown }).statusCode !== undefined) return false
  const code = (error as { code?: unknown }).code
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    error.message === 'timeout exceeded when trying to connect' ||
    error.message === 'Connection terminated due to connection timeout'
  )
}
