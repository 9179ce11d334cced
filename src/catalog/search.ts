import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely'
import { engineOf, foldCase, inList } from '../db/dialect.ts'
import type { DB, Engine } from '../db/types.ts'
import { fieldError } from '../errors.ts'
import { neighboursOf, oneEditApart, wordsOf } from '../search/words.ts'
import { likePattern, MAX_CONTAINS_LENGTH, type Searchable, textIndexed } from './filter.ts'

/**
 * `search_term` (CONTRACT §12): every word of the term, as typed or one edit away, in the resource's path
 * (`title_full`, which holds its title), description or definition; ordered by relevance unless a sort is given.
 */

export const MAX_SEARCH_WORDS = 10
/** The forms of one misspelt word that are searched for besides the word itself. */
const MAX_VARIANTS = 8

export interface SearchWord {
  /** The word as typed, folded to lower case. */
  text: string
  /** The word with one of its parts replaced by a word of the catalog one edit away from that part. */
  variants: string[]
}

export interface Search {
  /** The whole term, folded, its words joined by single spaces. */
  term: string
  words: SearchWord[]
}

/** The words of a `search_term`, folded; 400 INVALID_SEARCH for a term that cannot be searched. */
export function parseSearchTerm(text: string): string[] {
  if (text.includes('\u0000')) throw fieldError('search_term', 'must not contain NUL characters')
  const words = text
    .toLowerCase()
    .split(/\s+/u)
    .filter((word) => word !== '')
  if (words.join(' ').length > MAX_CONTAINS_LENGTH) {
    throw fieldError(
      'search_term',
      `takes at most ${MAX_CONTAINS_LENGTH} characters; search for fewer or shorter words`,
    )
  }
  if (words.length > MAX_SEARCH_WORDS) {
    throw fieldError(
      'search_term',
      `takes at most ${MAX_SEARCH_WORDS} words, not ${words.length}; leave out the least telling ones`,
    )
  }
  return words
}

/** How many parts of a term are corrected: the longest, since a long word is the likeliest to be misspelt. */
const MAX_CORRECTED = 4

/**
 * The search for `words` in a workspace: each word with the forms one edit away that the workspace's text holds
 * (src/search/words.ts), found by one indexed lookup of every form one edit away from each of its parts.
 */
export async function planSearch(db: Kysely<DB>, workspaceId: string, words: string[]): Promise<Search> {
  const parts = [...new Set(words.flatMap(wordsOf))]
    .sort((a, b) => [...b].length - [...a].length)
    .slice(0, MAX_CORRECTED)
  const candidates = [...new Set(parts.flatMap(neighboursOf))]
  const near = new Map<string, string[]>()
  if (candidates.length > 0) {
    const rows = await db
      .selectFrom('search_words')
      .select('word')
      .where('workspace_id', '=', workspaceId)
      .where((eb) => inList(engineOf(db), eb.ref('word'), candidates))
      .execute()
    const known = rows.map((row) => row.word).sort()
    for (const part of parts)
      near.set(
        part,
        known.filter((word) => oneEditApart(part, word)),
      )
  }
  return {
    term: words.join(' '),
    words: words.map((text) => ({ text, variants: variantsOf(text, near) })),
  }
}

/** `word` with one of its parts replaced by a near word: one edit in all. */
function variantsOf(word: string, near: Map<string, string[]>): string[] {
  const variants = new Set<string>()
  for (const part of wordsOf(word)) {
    for (const replacement of near.get(part) ?? []) {
      // Every place the part stands as a whole run of letters and digits.
      const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(part)}(?![\\p{L}\\p{N}])`, 'gu')
      for (const match of word.matchAll(pattern)) {
        const at = match.index ?? 0
        variants.add(word.slice(0, at) + replacement + word.slice(at + part.length))
        if (variants.size >= MAX_VARIANTS) return [...variants]
      }
    }
  }
  variants.delete(word)
  return [...variants]
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

type Builder = ExpressionBuilder<DB, 'resources'>

/** The fields a word is looked for in; `title_full` holds the title. */
const WHERE: Searchable[] = ['title_full', 'description', 'definition']

function holds(eb: Builder, engine: Engine, field: Searchable, text: string): Expression<SqlBool> {
  return sql<SqlBool>`${foldCase(engine, eb.ref(`resources.${field}`))} like ${likePattern(text)} escape '\\'`
}

/** Any of `texts` in any of `fields`. */
function anyIn(eb: Builder, engine: Engine, fields: Searchable[], texts: string[]): Expression<SqlBool> {
  return eb.or(fields.flatMap((field) => texts.map((text) => holds(eb, engine, field, text))))
}

/**
 * The resources the search finds: each word, or one of its variants, in the path, description or definition. On
 * SQLite each word's candidates come from the trigram tables (unless another condition `narrowed` the rows
 * already, see filter.ts `narrows`); on PostgreSQL the planner uses the trigram indexes.
 */
export function searchCondition(eb: Builder, engine: Engine, search: Search, narrowed = false): Expression<SqlBool> {
  return eb.and(
    search.words.map((word) => {
      const texts = [word.text, ...word.variants]
      const exact = anyIn(eb, engine, WHERE, texts)
      const indexed = narrowed ? undefined : textIndexed(eb, engine, WHERE, texts)
      return indexed === undefined ? exact : eb.and([indexed, exact])
    }),
  )
}

/**
 * The relevance rank of a found resource, 1 (best) to 12 (CONTRACT §12): the exact title, a title that begins
 * with the term, every word in the title, in the path, in the path or description, anywhere; then the same six
 * for resources found only through a word one edit away (the term with one word replaced by one of its variants).
 */
function rank(eb: Builder, engine: Engine, search: Search): Expression<number> {
  const title = foldCase(engine, eb.ref('resources.title'))
  const every = (fields: Searchable[], typo: boolean) =>
    eb.and(search.words.map((word) => anyIn(eb, engine, fields, typo ? [word.text, ...word.variants] : [word.text])))
  const corrected = correctedTerms(search)
  const none = sql<SqlBool>`1 = 0`
  const titleIs = (terms: string[]) => (terms.length === 0 ? none : inList(engine, title, terms))
  const titleStarts = (terms: string[]) =>
    terms.length === 0
      ? none
      : eb.or(terms.map((term) => sql<SqlBool>`${title} like ${prefixPattern(term)} escape '\\'`))
  return eb
    .case()
    .when(titleIs([search.term]))
    .then(1)
    .when(titleStarts([search.term]))
    .then(2)
    .when(every(['title'], false))
    .then(3)
    .when(every(['title_full'], false))
    .then(4)
    .when(every(['title_full', 'description'], false))
    .then(5)
    .when(every(WHERE, false))
    .then(6)
    .when(titleIs(corrected))
    .then(7)
    .when(titleStarts(corrected))
    .then(8)
    .when(every(['title'], true))
    .then(9)
    .when(every(['title_full'], true))
    .then(10)
    .when(every(['title_full', 'description'], true))
    .then(11)
    .else(12)
    .end()
}

function prefixPattern(term: string): string {
  return `${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** Orders found resources by relevance: rank, then verified first, then external usage, then id. */
export function orderByRelevance<O>(
  query: SelectQueryBuilder<DB, 'resources', O>,
  engine: Engine,
  search: Search,
): SelectQueryBuilder<DB, 'resources', O> {
  return query
    .orderBy((eb) => rank(eb as Builder, engine, search))
    .orderBy('resources.verified', 'desc')
    .orderBy('resources.external_usage', 'desc')
    .orderBy('resources.id')
}

export interface SearchStage {
  /** The resources of this stage, and of no earlier one. */
  where: (eb: Builder) => Expression<SqlBool>
  /** Their order: rank within the stage, verified first, external usage, id. */
  order: <O>(query: SelectQueryBuilder<DB, 'resources', O>) => SelectQueryBuilder<DB, 'resources', O>
}

/**
 * The search as stages in relevance order (CONTRACT §12), each a query of its own: every word in the title (the
 * exact title first, then titles that begin with the term), then in the path, in the path or description, or
 * anywhere; then the same two stages for the words one edit away. List Resources reads stage after stage until
 * the list's cap is reached, so a common word is ranked among the titles that hold it without reading every path
 * that does. On SQLite each stage starts from the trigram index of its fields, for the longest word only (the
 * others are checked on the rows it finds): a long word is the rarest, and every word costs a pass over its
 * trigrams' lists.
 */
export function searchStages(engine: Engine, search: Search, narrowed = false): SearchStage[] {
  const typo = search.words.some((word) => word.variants.length > 0)
  const textsOf = (word: SearchWord, withVariants: boolean) =>
    withVariants ? [word.text, ...word.variants] : [word.text]
  const every = (eb: Builder, fields: Searchable[], withVariants: boolean) =>
    eb.and(search.words.map((word) => anyIn(eb, engine, fields, textsOf(word, withVariants))))
  const longest = search.words.reduce((a, b) => (shortest(b) > shortest(a) ? b : a))
  const found = (eb: Builder, fields: Searchable[], withVariants: boolean) => {
    const indexed = narrowed ? undefined : textIndexed(eb, engine, fields, textsOf(longest, withVariants))
    const all = every(eb, fields, withVariants)
    return indexed === undefined ? all : eb.and([indexed, all])
  }
  const stages: SearchStage[] = []
  for (const withVariants of typo ? [false, true] : [false]) {
    const terms = withVariants ? correctedTerms(search) : [search.term]
    // Rows holding every word some way, but not the exact words anywhere: those were found by the exact stages.
    const notExact = (eb: Builder) => (withVariants ? [eb.not(every(eb, WHERE, false))] : [])
    stages.push({
      where: (eb) => eb.and([found(eb, ['title'], withVariants), ...notExact(eb)]),
      order: (query) => byVerifiedAndUsage(query.orderBy((eb) => titleRank(eb as Builder, engine, terms))),
    })
    stages.push({
      where: (eb) =>
        eb.and([found(eb, WHERE, withVariants), eb.not(every(eb, ['title'], withVariants)), ...notExact(eb)]),
      order: (query) =>
        byVerifiedAndUsage(
          query.orderBy((eb) =>
            (eb as Builder)
              .case()
              .when(every(eb as Builder, ['title_full'], withVariants))
              .then(4)
              .when(every(eb as Builder, ['title_full', 'description'], withVariants))
              .then(5)
              .else(6)
              .end(),
          ),
        ),
    })
  }
  return stages
}

/** How long the shortest form of a word is. */
const shortest = (word: SearchWord) => Math.min(...[word.text, ...word.variants].map((text) => [...text].length))

function byVerifiedAndUsage<O>(query: SelectQueryBuilder<DB, 'resources', O>): SelectQueryBuilder<DB, 'resources', O> {
  return query.orderBy('resources.verified', 'desc').orderBy('resources.external_usage', 'desc').orderBy('resources.id')
}

/** The term with one word replaced by one of its variants, for each word and variant. */
function correctedTerms(search: Search): string[] {
  return search.words.flatMap((word, i) =>
    word.variants.map((variant) => search.words.map((w, j) => (i === j ? variant : w.text)).join(' ')),
  )
}

/** 1 for a title that is one of `terms`, 2 for one that begins with one, 3 for the others. */
function titleRank(eb: Builder, engine: Engine, terms: string[]): Expression<number> {
  const title = foldCase(engine, eb.ref('resources.title'))
  if (terms.length === 0) return sql<number>`3`
  return eb
    .case()
    .when(inList(engine, title, terms))
    .then(1)
    .when(eb.or(terms.map((term) => sql<SqlBool>`${title} like ${prefixPattern(term)} escape '\\'`)))
    .then(2)
    .else(3)
    .end()
}
