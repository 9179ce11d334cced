import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError, type ErrorCode, validationFailed } from '../errors.ts'

/** Far deeper than any body or filter docent takes (a bulk update is four levels), far shallower than a stack. */
export const MAX_JSON_DEPTH = 64

export interface JsonProblem {
  /** Where the value sits, as error answers name fields: `owners[1]`, `[3].data.title`; '' for the whole value. */
  path: string
  message: string
}

export interface JsonCheckOptions {
  maxDepth?: number
  /** What the path is relative to when the whole value is at fault: `body` (the default), `filter`, ... */
  root?: string
  /** VALIDATION_ERROR (the default) answers with `errors`; any other code puts the path in `detail`. */
  code?: ErrorCode
}

const TOO_DEEP = (maxDepth: number) => `nests arrays and objects deeper than ${maxDepth} levels`
// JSON.parse turns 1e309 into Infinity and rounds 2^53 + 1; no engine would store what the client sent.
const OUT_OF_RANGE = `must be a number from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`
const LONE_SURROGATE = 'holds a lone UTF-16 surrogate such as \\ud800, which is not a character'
const SURROGATE = /\p{Surrogate}/u

const member = (path: string, key: string) => (path === '' ? key : `${path}.${key}`)
const element = (path: string, index: number) => `${path}[${index}]`

interface Visit {
  value: unknown
  depth: number
  parent: Visit | undefined
  key: string | number
}

/** The path of a visited value, built only for the one reported. */
function pathOf(visit: Visit): string {
  const keys: (string | number)[] = []
  for (let at: Visit | undefined = visit; at?.parent !== undefined; at = at.parent) {
    keys.push(at.key)
  }
  let path = ''
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i] as string | number
    path = typeof key === 'number' ? element(path, key) : member(path, key)
  }
  return path
}

// Most strings hold no surrogate at all; only those that do need the slower Unicode-aware test.
const ANY_SURROGATE = /[\uD800-\uDFFF]/
const isLoneSurrogate = (text: string) => ANY_SURROGATE.test(text) && SURROGATE.test(text)

/**
 * The first value, in document order, that docent would not store exactly as sent: nesting deeper than
 * `maxDepth`, a number JSON.parse rounded or made infinite, a string or key that is not valid Unicode.
 * Iterative, so no depth of input can overflow the stack.
 */
export function findJsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  const stack: Visit[] = [{ value, depth: 0, parent: undefined, key: '' }]
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const { value, depth, key } = visit
    if (typeof key === 'string' && isLoneSurrogate(key)) {
      return { path: pathOf(visit), message: LONE_SURROGATE }
    }
    if (typeof value === 'string') {
      if (isLoneSurrogate(value)) return { path: pathOf(visit), message: LONE_SURROGATE }
    } else if (typeof value === 'number') {
      if (!(Math.abs(value) <= Number.MAX_SAFE_INTEGER)) return { path: pathOf(visit), message: OUT_OF_RANGE }
    } else if (value !== null && typeof value === 'object') {
      if (depth === maxDepth) return { path: pathOf(visit), message: TOO_DEEP(maxDepth) }
      // Pushed last to first, so that the first problem in the text is the one reported.
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          stack.push({ value: value[i], depth: depth + 1, parent: visit, key: i })
        }
      } else {
        const keys = Object.keys(value)
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i] as string
          stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, parent: visit, key })
        }
      }
    }
  }
  return undefined
}

/**
 * Nesting deeper than `maxDepth` in JSON text, found before JSON.parse builds it (a megabyte of `[` costs
 * JSON.parse fifteen times what a flat megabyte does). One pass, no recursion; the text need not be valid JSON.
 * Returns the path of the first array or object too deep, as findJsonProblem names it.
 */
export function findTooDeepText(text: string, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  // Per open level: array or object, the index of the current element, or where the current key is.
  const isArray = new Uint8Array(maxDepth + 1)
  const index = new Uint32Array(maxDepth + 1)
  const keyStart = new Uint32Array(maxDepth + 1)
  const keyEnd = new Uint32Array(maxDepth + 1)
  let depth = 0
  let expectKey = false
  const structure = /["[\]{},]/g
  for (let match = structure.exec(text); match !== null; match = structure.exec(text)) {
    const i = match.index
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const end = stringEnd(text, i)
      if (end < 0) {
        return undefined
      }
      if (expectKey) {
        keyStart[depth] = i
        keyEnd[depth] = end + 1
        expectKey = false
      }
      structure.lastIndex = end + 1
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === maxDepth) {
        return { path: textPath(text, depth, isArray, index, keyStart, keyEnd), message: TOO_DEEP(maxDepth) }
      }
      depth++
      isArray[depth] = c === 0x5b ? 1 : 0
      index[depth] = 0
      expectKey = c === 0x7b
    } else if (depth === 0) {
      // A stray closing bracket or comma: not JSON, which JSON.parse says.
    } else if (c === 0x2c) {
      if (isArray[depth] === 1) {
        index[depth] = (index[depth] as number) + 1
      } else {
        expectKey = true
      }
    } else {
      depth--
      expectKey = false
    }
  }
  return undefined
}

/** Where the string that opens at `start` closes: the next quote not escaped by an odd run of backslashes. */
function stringEnd(text: string, start: number): number {
  let end = start
  for (;;) {
    end = text.indexOf('"', end + 1)
    if (end < 0) return end
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return end
  }
}

function textPath(
  text: string,
  depth: number,
  isArray: Uint8Array,
  index: Uint32Array,
  keyStart: Uint32Array,
  keyEnd: Uint32Array,
): string {
  let path = ''
  for (let level = 1; level <= depth; level++) {
    if (isArray[level] === 1) {
      path = element(path, index[level] as number)
    } else {
      const raw = text.slice(keyStart[level], keyEnd[level])
      let key: string
      try {
        key = JSON.parse(raw)
      } catch {
        key = raw
      }
      path = member(path, key)
    }
  }
  return path
}

function toError(problem: JsonProblem, options: JsonCheckOptions): ApiError {
  const field = problem.path === '' ? (options.root ?? 'body') : problem.path
  const code = options.code ?? 'VALIDATION_ERROR'
  if (code === 'VALIDATION_ERROR') {
    return validationFailed([{ field, message: problem.message }])
  }
  const where = options.root === undefined || problem.path === '' ? field : `${options.root}: ${field}`
  return new ApiError(code, `${where} ${problem.message}.`)
}

/** Throws the ApiError that findJsonProblem's first problem calls for (400 VALIDATION_ERROR unless told). */
export function checkJsonValue(value: unknown, options: JsonCheckOptions = {}): void {
  const problem = findJsonProblem(value, options.maxDepth)
  if (problem !== undefined) {
    throw toError(problem, options)
  }
}

/**
 * JSON text to a value docent can store exactly, or an ApiError: the depth is checked on the text first, so
 * JSON.parse never builds a deep structure. Unparsable text is MALFORMED_JSON (or `options.code`).
 */
export function parseJson(text: string, options: JsonCheckOptions = {}): unknown {
  const tooDeep = findTooDeepText(text, options.maxDepth)
  if (tooDeep !== undefined) {
    throw toError(tooDeep, options)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    const code = options.code ?? 'VALIDATION_ERROR'
    throw new ApiError(
      code === 'VALIDATION_ERROR' ? 'MALFORMED_JSON' : code,
      `${options.root === undefined ? 'The body' : options.root} is not valid JSON.`,
    )
  }
  checkJsonValue(value, options)
  return value
}

function takesObject(request: FastifyRequest): boolean {
  const body = request.routeOptions.schema?.body as { type?: unknown } | undefined
  return body?.type === 'object'
}

/**
 * JSON bodies only, checked as parseJson checks them, with Fastify's own parser in between (it refuses
 * `__proto__` keys). An empty body is no body whatever its Content-Type says (CONTRACT §8: Python's `requests`
 * sends `Content-Type: application/json` with nothing on a DELETE), and a route that takes an object reads no
 * body as `{}`, as Django REST Framework does: a missing required field is then named.
 */
export function installJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    if (text === '') {
      done(null, undefined)
      return
    }
    const tooDeep = findTooDeepText(text as string)
    if (tooDeep !== undefined) {
      done(toError(tooDeep, {}), undefined)
      return
    }
    parse(request, text as string, (error, value) => {
      if (error) {
        done(error, undefined)
        return
      }
      const problem = findJsonProblem(value)
      done(problem === undefined ? null : toError(problem, {}), problem === undefined ? value : undefined)
    })
  })
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') {
      done(null, undefined)
    } else {
      done(new ApiError('UNSUPPORTED_MEDIA_TYPE', 'The body must be JSON: send Content-Type: application/json.'))
    }
  })
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && takesObject(request)) {
      request.body = {}
    }
    done()
  })
}
