/** Where each entity type may sit (CONTRACT §6). */
interface Placement {
  /** Types its parent may have. */
  parents: string[]
  /** It may also sit at the top, with no parent. */
  top: boolean
  /** It belongs to an integration: its own when at the top, else its parent's. */
  integrated: boolean
  /** At the top it may also belong to none (CONTRACT §9: a dashboard; its charts then have none either). */
  optionalAtTop?: true
}

export const HIERARCHY: Record<string, Placement> = {
  database: { parents: [], top: true, integrated: true },
  schema: { parents: ['database'], top: false, integrated: true },
  table: { parents: ['schema'], top: false, integrated: true },
  column: { parents: ['table', 'column'], top: false, integrated: true },
  dashboard_group: { parents: [], top: true, integrated: true },
  dashboard: { parents: ['dashboard_group'], top: true, integrated: true, optionalAtTop: true },
  chart: { parents: ['dashboard'], top: false, integrated: true },
  collection: { parents: ['collection'], top: true, integrated: false },
  document: { parents: ['document'], top: true, integrated: false },
  glossary: { parents: ['glossary'], top: true, integrated: false },
  question: { parents: [], top: true, integrated: false },
  question_reply: { parents: ['question'], top: false, integrated: false },
}

export const ENTITY_TYPES = Object.keys(HIERARCHY)

const ARTICLE = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`)
const label = (type: string) => type.replace('_', ' ')

/** An entity type as a message names it: `a question reply`, `an integration`. */
export const typeWithArticle = (type: string) => ARTICLE(label(type))

function either(types: string[]): string {
  const words = types.map(typeWithArticle)
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
}

/** Why `entityType` cannot sit under a parent of `parentType` (undefined: at the top), or undefined if it can. */
export function placementProblem(entityType: string, parentType: string | undefined): string | undefined {
  const placement = HIERARCHY[entityType]
  if (placement === undefined) {
    return `unknown entity type '${entityType}'`
  }
  const own = label(entityType)
  if (parentType === undefined) {
    return placement.top ? undefined : `is required: ${ARTICLE(own)}'s parent must be ${either(placement.parents)}`
  }
  if (placement.parents.includes(parentType)) {
    return undefined
  }
  if (placement.parents.length === 0) {
    return `must be null or absent: ${ARTICLE(own)} sits at the top of its hierarchy and has no parent`
  }
  return `${ARTICLE(own)}'s parent must be ${either(placement.parents)}, not ${typeWithArticle(parentType)}`
}
