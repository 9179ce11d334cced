import type { FastifyRequest } from 'fastify'
import { ApiError, fieldError } from '../errors.ts'

export const DEFAULT_PAGE_SIZE = 50
/** Secoda's own scripts ask for 1,000 (CONTRACT §8). */
export const MAX_PAGE_SIZE = 1000

export interface PageRequest {
  page: number
  pageSize: number
  offset: number
  limit: number
}

export interface Envelope<T> {
  links: { next: string | null; previous: string | null }
  meta: { page: number; previous_page: number | null; next_page: number | null }
  count: number
  total_pages: number
  results: T[]
}

function invalidPage(): ApiError {
  return new ApiError('INVALID_PAGE', 'Invalid page.')
}

/** `page` as Django REST Framework reads it (anything but a whole number from 1 is 404); `page_size` 1–1,000. */
export function parsePageRequest(query: { page?: string | undefined; page_size?: string | undefined }): PageRequest {
  let page = 1
  if (query.page !== undefined) {
    page = /^[0-9]{1,9}$/.test(query.page) ? Number(query.page) : 0
    if (page < 1) {
      throw invalidPage()
    }
  }
  let pageSize = DEFAULT_PAGE_SIZE
  if (query.page_size !== undefined) {
    pageSize = /^[0-9]{1,4}$/.test(query.page_size) ? Number(query.page_size) : 0
    if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw fieldError('page_size', `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    }
  }
  return { page, pageSize, offset: (page - 1) * pageSize, limit: pageSize }
}

/** The list envelope of CONTRACT §2; a page past the last is 404 `Invalid page.` */
export function envelope<T>(
  request: FastifyRequest,
  pageRequest: PageRequest,
  count: number,
  results: T[],
): Envelope<T> {
  const totalPages = Math.max(1, Math.ceil(count / pageRequest.pageSize))
  const { page } = pageRequest
  if (page > totalPages) {
    throw invalidPage()
  }
  const previous = page > 1 ? page - 1 : null
  const next = page < totalPages ? page + 1 : null
  return {
    links: { next: pageLink(request, next), previous: pageLink(request, previous) },
    meta: { page, previous_page: previous, next_page: next },
    count,
    total_pages: totalPages,
    results,
  }
}

/** The URL the client called, absolute, with only `page` changed; the other parameters keep their own encoding. */
function pageLink(request: FastifyRequest, page: number | null): string | null {
  if (page === null) {
    return null
  }
  const url = request.originalUrl
  const queryStart = url.indexOf('?')
  const path = queryStart === -1 ? url : url.slice(0, queryStart)
  const kept =
    queryStart === -1
      ? []
      : url
          .slice(queryStart + 1)
          .split('&')
          .filter((part) => part !== '' && part.split('=')[0] !== 'page')
  kept.push(`page=${page}`)
  return `${request.protocol}://${request.host}${path}?${kept.join('&')}`
}
