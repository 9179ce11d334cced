import { parse } from 'fast-querystring'
import { LRUCache } from 'lru-cache'

/**
 * Query strings as the router parses them (fast-querystring, Fastify's own parser), with the parses of recent long
 * ones kept: a crowd of identical lists whose filter names a thousand ids (30–40 KB of URL) then decodes it once,
 * not once a request, and each request holds only its URL while it waits. Every request gets an object of its own
 * (validation may change its properties); the strings in it are shared, as strings cannot change.
 */

/** Shorter query strings are parsed anew: parsing them costs about what keeping them would. */
const KEPT_FROM_LENGTH = 1024
/**
 * What the kept parses may take, in bytes as estimated: the query string's length twice (it and what it decodes
 * to), and 64 for each parameter and list element (the properties and strings that hold them).
 */
const KEPT_BYTES = 16 * 2 ** 20
const BYTES_PER_VALUE = 64

type Parsed = Record<string, string | string[]>

const kept = new LRUCache<string, Parsed>({
  maxSize: KEPT_BYTES,
  sizeCalculation: (parsed, key) => {
    let values = 0
    for (const name in parsed) {
      const value = parsed[name] as string | string[]
      values += 1 + (Array.isArray(value) ? value.length : 0)
    }
    return 2 * key.length + BYTES_PER_VALUE * values
  },
})

function copy(parsed: Parsed): Parsed {
  const result: Parsed = Object.create(null)
  for (const name in parsed) {
    const value = parsed[name] as string | string[]
    result[name] = Array.isArray(value) ? [...value] : value
  }
  return result
}

export function parseQueryString(text: string): Parsed {
  if (text.length < KEPT_FROM_LENGTH) return parse(text)
  let parsed = kept.get(text)
  if (parsed === undefined) {
    parsed = parse(text) as Parsed
    kept.set(text, parsed)
  }
  return copy(parsed)
}
