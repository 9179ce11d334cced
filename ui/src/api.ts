// The web catalog talks to the same HTTP API as every other client, signed in by the session cookie: reads send
// the cookie alone, writes also the session's CSRF token, which is kept in memory only (never in storage).

export interface FieldError {
  field: string
  message: string
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail)
  }
}

import { sessionEnded } from './ended.ts'

let csrfToken: string | undefined
/** Which sign-in the page is in: an answer to a request sent before the latest sign-in says nothing of it. */
let generation = 0

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token
  generation++
}

export interface Answer<T> {
  data: T
  etag: string | null
}

export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Answer<T>> {
  const method = options.method ?? 'GET'
  const sentIn = generation
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken
  let response: Response
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      signal: options.signal,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw new ApiFailure(0, 'NETWORK', 'docent cannot be reached: check that the server is running.')
  }
  const text = await response.text()
  const json = text === '' ? null : safeJson(text)
  // Any answer of 401 but the sign-in's own: the session ended (expired, signed out elsewhere, key revoked).
  // (A request sent before the person signed in again may still come back 401: that is old news.)
  if (response.status === 401 && path !== '/auth/session' && sentIn === generation) sessionEnded()
  if (!response.ok) {
    const body = (json ?? {}) as { code?: string; detail?: string; errors?: FieldError[] }
    throw new ApiFailure(
      response.status,
      body.code ?? 'ERROR',
      body.detail ?? `The server answered ${response.status}.`,
      body.errors ?? [],
    )
  }
  return { data: json as T, etag: response.headers.get('etag') }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** The fields of a resource the pages show (the API sends more). */
export interface Resource {
  id: string
  entity_type: string
  native_type: string | null
  title: string
  title_full: string
  description: string
  definition: string
  parent: string | null
  integration: string | null
  verified: boolean
  pii: boolean
  published: boolean
  owners: string[]
  tags: string[]
  teams: string[]
  collections: string[]
  sources: string[]
  custom_properties: Record<string, unknown>
  /** A question's (CONTRACT §9). */
  question_status?: string | null
  question_priority?: string | null
  /** A reply's: whether it is its question's accepted answer. */
  accepted?: boolean
  /** A column's data type, as extraction read it. */
  type?: string | null
  updated_at: string
  current_user_permissions: { read: boolean; write: boolean; execute: boolean }
}

export interface Page<T> {
  count: number
  total_pages: number
  results: T[]
}

export interface SessionUser {
  id: string
  email: string
  first_name: string
  last_name: string
  role: string
}

/** A List Resources URL: `/resource/catalog` with its filter, search term and page. */
export function catalogPath(options: {
  filter?: unknown
  sort?: { field: string; order: 'asc' | 'desc' }
  searchTerm?: string
  entityType?: string
  page?: number
  pageSize?: number
}): string {
  const query = new URLSearchParams()
  if (options.filter !== undefined) query.set('filter', JSON.stringify(options.filter))
  if (options.sort !== undefined) query.set('sort', JSON.stringify(options.sort))
  if (options.searchTerm) query.set('search_term', options.searchTerm)
  if (options.entityType) query.set('entity_type', options.entityType)
  if (options.page !== undefined && options.page > 1) query.set('page', String(options.page))
  if (options.pageSize !== undefined) query.set('page_size', String(options.pageSize))
  const text = query.toString()
  return `/resource/catalog${text === '' ? '' : `?${text}`}`
}

/**
 * A PATCH of one resource sent with `If-Match: etag` (no lost updates). On 412 the resource is read again; when
 * `unchanged(current)` says the part being saved is still as the person saw it (someone changed another field),
 * the PATCH goes again over the new version, at most three times; otherwise the answer is the conflict, with the
 * resource as it is now.
 */
export async function patchResource(
  id: string,
  body: Record<string, unknown>,
  etag: string | null,
  unchanged: (current: Resource) => boolean = () => false,
): Promise<{ saved: Answer<Resource> } | { conflict: Answer<Resource> }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const saved = await api<Resource>(`/resource/all/${id}`, {
        method: 'PATCH',
        body,
        headers: etag === null ? {} : { 'if-match': etag },
      })
      return { saved }
    } catch (failure) {
      if (!(failure instanceof ApiFailure) || failure.status !== 412) throw failure
      const current = await api<Resource>(`/resource/all/${id}`)
      if (!unchanged(current.data) || attempt >= 3) return { conflict: current }
      etag = current.etag
    }
  }
}
