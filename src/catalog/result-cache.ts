import { LRUCache } from 'lru-cache'
import type { Resource } from './resource-schema.ts'

/** A page of resources, and once a route has serialized it, its JSON text. */
export interface CachedPage {
  resources: Resource[]
  json: string | undefined
}

interface Entry<T> {
  version: string
  value: T
}

/**
 * Recent List Resources answers, each with the data version it was read at: the ordered ids of a list, and the
 * hydrated resources of its recently read pages. An entry is used only while the store's version is unchanged,
 * so it never shows data that a commit has changed; every page and every repeat of a list is then cut from one
 * query instead of re-running filter and sort, and a page read again is not read again.
 */
export class CatalogResultCache {
  readonly #lists: LRUCache<string, Entry<string[]>>
  readonly #pages: LRUCache<string, Entry<CachedPage>>

  /**
   * `maxIds` bounds the memory of lists (about 100 bytes an id: 10 lists of 10,000), `maxResources` that of pages
   * (about 4 KB each with their JSON: 40 pages of 50). Together about 20 MB a process.
   */
  constructor(maxIds = 100_000, maxResources = 2_000) {
    this.#lists = new LRUCache({ maxSize: maxIds, sizeCalculation: (entry) => entry.value.length + 1 })
    this.#pages = new LRUCache({ maxSize: maxResources, sizeCalculation: (entry) => entry.value.resources.length + 1 })
  }

  getIds(key: string, version: string): string[] | undefined {
    const entry = this.#lists.get(key)
    return entry?.version === version ? entry.value : undefined
  }

  setIds(key: string, version: string, ids: string[]): void {
    this.#lists.set(key, { version, value: ids })
  }

  getPage(key: string, version: string): CachedPage | undefined {
    const entry = this.#pages.get(key)
    return entry?.version === version ? entry.value : undefined
  }

  setPage(key: string, version: string, page: CachedPage): void {
    this.#pages.set(key, { version, value: page })
  }
}
