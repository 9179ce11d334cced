import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isStoreUnavailable } from '../db/driver-errors.ts'
import { ApiError, type ErrorCode, type FieldError, validationFailed } from '../errors.ts'

interface AjvError {
  instancePath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
}

/** `/owners/1` → `owners[1]`; a missing property is named by its own path. */
function fieldPath(error: AjvError, context: string | undefined): string {
  let path = error.instancePath
  if (error.keyword === 'required') {
    path += `/${String(error.params.missingProperty)}`
  }
  const name = path
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^[0-9]+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '')
  return name === '' ? (context ?? 'body') : name
}

function fieldMessage(error: AjvError, context: string | undefined): string {
  const p = error.params
  switch (error.keyword) {
    case 'required':
      return 'is required'
    case 'type': {
      const types = String(p.type).split(',')
      if (error.instancePath === '' && context === 'body') {
        return 'must be a JSON object'
      }
      return `must be ${types.map((t) => (t === 'null' ? 'null' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`)).join(' or ')}`
    }
    case 'format':
      if (p.format === 'uuid') return 'must be a UUID such as 3b2c7185-fb5d-4d94-89d4-3dae08e093a9'
      if (p.format === 'date-time') return 'must be an ISO 8601 date and time such as 2026-01-31T12:00:00Z'
      return p.format === 'email' ? 'must be an email address' : `must be a valid ${String(p.format)}`
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`
    case 'minimum':
      return `must be at least ${String(p.limit)}`
    case 'maximum':
      return `must be at most ${String(p.limit)}`
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    default:
      return error.message ?? 'is invalid'
  }
}

const PARSER_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'UNSUPPORTED_MEDIA_TYPE',
    'The body must be JSON: send Content-Type: application/json.',
  ],
  FST_ERR_CTP_INVALID_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'The body must be JSON: send Content-Type: application/json.'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The body is larger than the limit of 1 MiB.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['MALFORMED_JSON', 'The body is not valid JSON.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'The Content-Length header does not match the body.'],
  FST_ERR_BAD_URL: ['BAD_REQUEST', 'The URL is not valid: its %-escapes must spell UTF-8 text.'],
}

function toApiError(error: FastifyError): ApiError | undefined {
  if (error instanceof ApiError) {
    return error
  }
  if (error.validation !== undefined) {
    const context = error.validationContext
    const seen = new Set<string>()
    const errors: FieldError[] = []
    for (const e of error.validation as AjvError[]) {
      const field = fieldPath(e, context)
      // A nullable field that fails reports once per alternative; one line per field is enough.
      if (!seen.has(field)) {
        seen.add(field)
        errors.push({ field, message: fieldMessage(e, context) })
      }
    }
    return validationFailed(errors)
  }
  const known = error.code === undefined ? undefined : PARSER_ERRORS[error.code]
  if (known !== undefined) {
    return new ApiError(known[0], known[1])
  }
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new ApiError('MALFORMED_JSON', 'The body is not valid JSON.')
  }
  if (isStoreUnavailable(error)) {
    return new ApiError('UNAVAILABLE', 'The store is busy or cannot be reached: try again in a moment.')
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError('BAD_REQUEST', 'The request could not be understood.')
  }
  return undefined
}

/** The body of every non-2xx answer (CONTRACT §1). */
export function errorBody(error: ApiError): { detail: string; code: string; errors?: FieldError[] } {
  return error.errors === undefined
    ? { detail: error.detail, code: error.code }
    : { detail: error.detail, code: error.code, errors: error.errors }
}

/**
 * The one error handler; also Fastify's `frameworkErrors` option, so that what its router refuses before any
 * route or hook runs (a path whose %-escapes are broken) gets the same answer as an error thrown by a route.
 */
export function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const known = toApiError(error)
  if (known === undefined) {
    request.log.error({ err: error }, 'unexpected error')
    return reply.code(500).send({ detail: 'A server error occurred.', code: 'INTERNAL_ERROR' })
  }
  if (known.statusCode === 401) {
    reply.header('WWW-Authenticate', 'Bearer')
  }
  if (isStoreUnavailable(error)) {
    // What the store said is for the operator's log (never the answer); the client is told to come back.
    request.log.warn({ err: error }, 'store unavailable')
    reply.header('Retry-After', '1')
  }
  return reply.code(known.statusCode).send(errorBody(known))
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(answerError)
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not found.', code: 'NOT_FOUND' }))
}
