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

/**
 * The first value, in document order, that docent would not store exactly as sent: nesting deeper than
 * `maxDepth`, a number JSON.parse rounded or made infinite, a string or key that is not valid Unicode.
 * Iterative, so no depth of input can overflow the stack.
 */
export function findJsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }]
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path, depth } = item
    if (typeof value === 'string') {
      if (SURROGATE.test(value)) return { path, message: LONE_SURROGATE }
    } else if (typeof value === 'number') {
      if (!(Math.abs(value) <= Number.MAX_SAFE_INTEGER)) return { path, message: OUT_OF_RANGE }
    } else if (value !== null && typeof value === 'object') {
      if (depth === maxDepth) return { path, message: TOO_DEEP(maxDepth) }
      // Pushed last to first, so that the first problem in the text is the one reported.
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          stack.push({ value: value[i], path: element(path, i), depth: depth + 1 })
        }
      } else {
        const keys = Object.keys(value)
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i] as string
          if (SURROGATE.test(key)) return { path: member(path, key), message: LONE_SURROGATE }
          stack.push({ value: (value as Record<string, unknown>)[key], path: member(path, key), depth: depth + 1 })
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
  let inString = false
  let stringStart = 0
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) {
        i++
      } else if (c === 0x22) {
        inString = false
        if (expectKey) {
          keyStart[depth] = stringStart
          keyEnd[depth] = i + 1
          expectKey = false
        }
      }
      continue
    }
    if (c === 0x22) {
      inString = true
      stringStart = i
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === maxDepth) {
        return { path: textPath(text, depth, isArray, index, keyStart, keyEnd), message: TOO_DEEP(maxDepth) }
      }
      depth++
      isArray[depth] = c === 0x5b ? 1 : 0
      index[depth] = 0
      expectKey = c === 0x7b
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--
      expectKey = false
    } else if (c === 0x2c && depth > 0) {
      if (isArray[depth] === 1) {
        index[depth] = (index[depth] as number) + 1
      } else {
        expectKey = true
      }
    }
  }
  return undefined
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
