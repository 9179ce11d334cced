import { LRUCache } from 'lru-cache'

interface Entry {
  version: number
  value: string[] | string | Buffer
}

/** What a list's ids cost in memory, each: a 36-character one-byte string and its slot in the array. */
const BYTES_PER_ID = 72

/** Memory of a string: V8 stores one byte a character when every character fits in Latin-1, else two. */
function stringBytes(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the whole of Latin-1, controls included.
  return /[^\u0000-\u00ff]/.test(text) ? text.length * 2 : text.length
}

function entryBytes(key: string, entry: Entry): number {
  const { value: kept } = entry
  const value =
    typeof kept === 'string' ? stringBytes(kept) : Buffer.isBuffer(kept) ? kept.length : kept.length * BYTES_PER_ID
  return 64 + stringBytes(key) + value
}

/**
 * Recent List Resources answers, each labelled with the data version (`readChangeVersion`) read before it was
 * computed: the ordered ids of a list, and the JSON of its recently read pages. Every page and every repeat of a
 * list is then cut from one query instead of re-running filter and sort, and a page read again is neither read
 * nor serialized again.
 *
 * Memory is bounded in bytes (least recently used answers go first). A miss is computed once: requests for the
 * same key and version that arrive while it runs wait for it instead of running it again; misses of other keys
 * run side by side.
 */
export class CatalogResultCache {
  readonly #entries: LRUCache<string, Entry>
  readonly #loading = new Map<string, Promise<Entry>>()

  /** `maxBytes` bounds the memory of the kept answers (32 MB: some 40 lists of 10,000 ids and 400 pages of 50). */
  constructor(maxBytes = 32 * 2 ** 20) {
    this.#entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (entry, key) => entryBytes(key, entry) })
  }

  /** What the kept answers take, by the estimate that bounds them. */
  get bytes(): number {
    return this.#entries.calculatedSize
  }

  /**
   * The ids of a list as of `version` or later. An answer computed at a later version is as good: its data is
   * newer than what this request's version promised, never older.
   */
  async ids(key: string, version: number, load: () => Promise<string[]>): Promise<{ version: number; ids: string[] }> {
    const entry = await this.#get(`i\u0000${key}`, version, false, load)
    return { version: entry.version, ids: entry.value as string[] }
  }

  /** A page's JSON, cut from the ids of the list at exactly `version`, so that it agrees with their count. */
  async page(key: string, version: number, load: () => Promise<string>): Promise<string> {
    return (await this.#get(`p\u0000${key}`, version, true, load)).value as string
  }

  /**
   * A whole answer's bytes as of `version` or later, for a request that repeats one exactly (its URL, host and
   * caller's visibility, all in `key`): sent again with no list, page or envelope to build, and no string to
   * encode, which is what a crowd of identical lists costs once their data is cached.
   */
  async answer(key: string, version: number, load: () => Promise<Buffer>): Promise<Buffer> {
    return (await this.#get(`a\u0000${key}`, version, false, load)).value as Buffer
  }

  async #get(
    key: string,
    version: number,
    exact: boolean,
    load: () => Promise<string[] | string | Buffer>,
  ): Promise<Entry> {
    const kept = this.#entries.get(key)
    if (kept !== undefined && (exact ? kept.version === version : kept.version >= version)) {
      return kept
    }
    const flight = `${key}\u0000${version}`
    let loading = this.#loading.get(flight)
    if (loading === undefined) {
      loading = Promise.resolve()
        .then(load)
        .then((value) => {
          const entry = { version, value }
          // A slower load of an older version never replaces a newer answer.
          const current = this.#entries.peek(key)
          if (current === undefined || current.version <= version) this.#entries.set(key, entry)
          return entry
        })
        .finally(() => this.#loading.delete(flight))
      this.#loading.set(flight, loading)
    }
    return loading
  }
}
