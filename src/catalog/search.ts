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
import { foldedHolds, foldedStarts, MAX_CONTAINS_LENGTH, type Searchable, textIndexed } from './filter.ts'

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

/** A word as typed, and with its variants. */
const textsOf = (word: SearchWord, withVariants: boolean) =>
  withVariants ? [word.text, ...word.variants] : [word.text]

/** Every word (or, `withVariants`, one of its forms) in one of `fields`. */
function every(eb: Builder, engine: Engine, search: Search, fields: Searchable[], withVariants: boolean) {
  return eb.and(
    search.words.map((word) =>
      eb.or(
        fields.flatMap((field) =>
          textsOf(word, withVariants).map((text) => foldedHolds(engine, eb.ref(`resources.${field}`), text)),
        ),
      ),
    ),
  )
}

/**
 * `every`, found through the search index (filter.ts `textIndexed`) for the longest word only, unless another
 * condition `narrowed` the rows already (filter.ts `narrows`): a long word is the rarest, and on SQLite every word
 * costs a pass over its trigrams' lists; the other words are checked on the rows it finds.
 */
function found(
  eb: Builder,
  engine: Engine,
  search: Search,
  fields: Searchable[],
  withVariants: boolean,
  narrowed: boolean,
): Expression<SqlBool> {
  const longest = search.words.reduce((a, b) => (shortest(b) > shortest(a) ? b : a))
  // PostgreSQL intersects the trigram indexes of every word by itself; the row addresses of one word's paths
  // (filter.ts) would start from that word alone, and a common one (`column_10`: 50,000 titles) took 1.5 s where
  // the intersection took 0.2.
  const planned = engine === 'postgres' && search.words.length > 1
  const indexed = narrowed || planned ? undefined : textIndexed(eb, engine, fields, textsOf(longest, withVariants))
  const all = every(eb, engine, search, fields, withVariants)
  return indexed === undefined ? all : eb.and([indexed, all])
}

/** How long the shortest form of a word is. */
const shortest = (word: SearchWord) => Math.min(...textsOf(word, true).map((text) => [...text].length))

/** The resources the search finds: each word, or one of its variants, in the path, description or definition. */
export function searchCondition(eb: Builder, engine: Engine, search: Search, narrowed = false): Expression<SqlBool> {
  return found(eb, engine, search, WHERE, true, narrowed)
}

/** The term with one word replaced by one of its variants, for each word and variant. */
function correctedTerms(search: Search): string[] {
  return search.words.flatMap((word, i) =>
    word.variants.map((variant) => search.words.map((w, j) => (i === j ? variant : w.text)).join(' ')),
  )
}

/**
 * Among resources holding every word in the title: 1 for a title that is one of `terms`, 2 for one that begins
 * with one, 3 for the others.
 */
function titleRank(eb: Builder, engine: Engine, terms: string[]): Expression<number> {
  if (terms.length === 0) return sql<number>`3`
  const title = eb.ref('resources.title')
  return eb
    .case()
    .when(inList(engine, foldCase(engine, title), terms))
    .then(1)
    .when(eb.or(terms.map((term) => foldedStarts(engine, title, term))))
    .then(2)
    .else(3)
    .end()
}

/** Among the others: 4 for every word in the path, 5 in the path or description, 6 anywhere. */
function textRank(eb: Builder, engine: Engine, search: Search, withVariants: boolean): Expression<number> {
  return eb
    .case()
    .when(every(eb, engine, search, ['title_full'], withVariants))
    .then(4)
    .when(every(eb, engine, search, ['title_full', 'description'], withVariants))
    .then(5)
    .else(6)
    .end()
}

function byVerifiedAndUsage<O>(query: SelectQueryBuilder<DB, 'resources', O>): SelectQueryBuilder<DB, 'resources', O> {
  return query.orderBy('resources.verified', 'desc').orderBy('resources.external_usage', 'desc').orderBy('resources.id')
}

/**
 * Orders found resources by relevance (CONTRACT §12), in one statement: rank 1–6 for the exact words (titleRank
 * where every word is in the title, else textRank), 7–12 the same for resources found only through a word one
 * edit away; then verified first, external usage, id.
 */
export function orderByRelevance<O>(
  query: SelectQueryBuilder<DB, 'resources', O>,
  engine: Engine,
  search: Search,
): SelectQueryBuilder<DB, 'resources', O> {
  return byVerifiedAndUsage(
    query.orderBy((qb) => {
      const eb = qb as Builder
      return eb
        .case()
        .when(every(eb, engine, search, ['title'], false))
        .then(titleRank(eb, engine, [search.term]))
        .when(every(eb, engine, search, WHERE, false))
        .then(textRank(eb, engine, search, false))
        .when(every(eb, engine, search, ['title'], true))
        .then(sql<number>`6 + ${titleRank(eb, engine, correctedTerms(search))}`)
        .else(sql<number>`6 + ${textRank(eb, engine, search, true)}`)
        .end()
    }),
  )
}

export interface SearchStage {
  /** The resources of this stage, and of no earlier one. */
  where: (eb: Builder) => Expression<SqlBool>
  /** Their order: rank within the stage, verified first, external usage, id. */
  order: <O>(query: SelectQueryBuilder<DB, 'resources', O>) => SelectQueryBuilder<DB, 'resources', O>
}

/**
 * The search as stages in the order of `orderByRelevance`, each a query of its own: every word in the title, then
 * the other exact matches; then the same two stages for the words one edit away. List Resources reads stage after
 * stage until the list's cap is reached, so a common word is ranked among the titles that hold it without reading
 * every path that does; each stage starts from the search index of its own fields.
 */
export function searchStages(engine: Engine, search: Search, narrowed = false): SearchStage[] {
  const typo = search.words.some((word) => word.variants.length > 0)
  const stages: SearchStage[] = []
  for (const withVariants of typo ? [false, true] : [false]) {
    const terms = withVariants ? correctedTerms(search) : [search.term]
    // Rows holding every word some way, but not the exact words anywhere: those were found by the exact stages.
    const notExact = (eb: Builder) => (withVariants ? [eb.not(every(eb, engine, search, WHERE, false))] : [])
    stages.push({
      where: (eb) => eb.and([found(eb, engine, search, ['title'], withVariants, narrowed), ...notExact(eb)]),
      order: (query) => byVerifiedAndUsage(query.orderBy((eb) => titleRank(eb as Builder, engine, terms))),
    })
    stages.push({
      where: (eb) =>
        eb.and([
          found(eb, engine, search, WHERE, withVariants, narrowed),
          eb.not(every(eb, engine, search, ['title'], withVariants)),
          ...notExact(eb),
        ]),
      order: (query) =>
        byVerifiedAndUsage(query.orderBy((eb) => textRank(eb as Builder, engine, search, withVariants))),
    })
  }
  return stages
}
