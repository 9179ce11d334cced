/** `Sample Table` → `sampleTable`; `customer_orders` → `customerOrders`. */
export function titleCased(title: string): string {
  const words = title.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '')
  return words
    .map((word, i) => {
      const lower = word.toLowerCase()
      return i === 0 ? lower : lower.charAt(0).toUpperCase() + lower.slice(1)
    })
    .join('')
}

export interface HierarchyPlace {
  title_full: string
  search_database: string | null
  search_schema: string | null
}

/** Where a resource titled `title` of type `entityType` sits under `parent` (or at the top). */
export function placeUnder(
  parent: (HierarchyPlace & { entity_type: string; title: string }) | undefined,
  entityType: string,
  title: string,
): HierarchyPlace {
  return {
    title_full: parent === undefined ? title : `${parent.title_full}.${title}`,
    search_database: entityType === 'database' ? title : (parent?.search_database ?? null),
    search_schema: entityType === 'schema' ? title : (parent?.search_schema ?? null),
  }
}
