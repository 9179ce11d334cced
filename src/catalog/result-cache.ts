import { LRUCache } from 'lru-cache'

interface Entry {
  version: string
  ids: string[]
}

/**
 * The ordered ids of recent List Resources queries, each with the data version it was read at. An entry is used
 * only while the store's version is unchanged, so it can never show data that a commit has changed; every page
 * of a list (and every repeat of it) is then cut from one query instead of re-running filter and sort.
 */
export class CatalogResultCache {
  readonly #entries: LRUCache<string, Entry>

  /** `maxIds` bounds the memory: about 100 bytes per id held. */
  constructor(maxIds = 200_000) {
    this.#entries = new LRUCache<string, Entry>({ maxSize: maxIds, sizeCalculation: (entry) => entry.ids.length + 1 })
  }

  get(key: string, version: string): string[] | undefined {
    const entry = this.#entries.get(key)
    return entry?.version === version ? entry.ids : undefined
  }

  set(key: string, version: string, ids: string[]): void {
    this.#entries.set(key, { version, ids })
  }
}
