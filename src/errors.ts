export interface FieldError {
  field: string
  message: string
}

const STATUS = {
  VALIDATION_ERROR: 400,
  BAD_REQUEST: 400,
  INVALID_FILTER: 400,
  INVALID_SORT: 400,
  MALFORMED_JSON: 400,
  NOT_AUTHENTICATED: 401,
  AUTHENTICATION_FAILED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  INVALID_PAGE: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  SHUTTING_DOWN: 503,
  UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof STATUS

/** A deliberate failure: its code decides the status; its detail is safe to show to the caller. */
export class ApiError extends Error {
  readonly statusCode: number

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** What went wrong underneath (a driver's error), for the log; never part of an answer. */
    cause?: unknown,
  ) {
    super(detail, cause === undefined ? undefined : { cause })
    this.statusCode = STATUS[code]
  }
}

export function notFound(): ApiError {
  return new ApiError('NOT_FOUND', 'Not found.')
}

export function validationFailed(errors: FieldError[]): ApiError {
  const first = errors[0]
  const detail =
    errors.length === 1 && first !== undefined
      ? `${first.field}: ${first.message}.`
      : `Invalid request: ${errors.length} fields are invalid (see errors).`
  return new ApiError('VALIDATION_ERROR', detail, errors)
}

export function fieldError(field: string, message: string): ApiError {
  return validationFailed([{ field, message }])
}
