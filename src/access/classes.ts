import { createHash } from 'node:crypto'

/**
 * A visibility class: the team sets of a resource and of each of its ancestors, as clauses. A user sees the
 * resources of a class (published ones, for viewers and guests) when every clause names one of the user's teams.
 * In canonical form each clause is sorted, no clause contains another (the larger one holds whenever the smaller
 * does), and clauses are sorted, so that every chain of team sets with the same meaning has the same class.
 */
export type Clauses = string[][]

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function canonicalClauses(clauses: readonly (readonly string[])[]): Clauses {
  const sets = clauses.map((clause) => [...new Set(clause)].sort(byText))
  if (sets.some((set) => set.length === 0)) {
    // A resource without a team: nobody but an admin sees it, nor anything under it.
    return [[]]
  }
  sets.sort((a, b) => a.length - b.length || byText(a.join(','), b.join(',')))
  const kept: Clauses = []
  for (const set of sets) {
    if (!kept.some((smaller) => smaller.every((team) => set.includes(team)))) {
      kept.push(set)
    }
  }
  return kept.sort((a, b) => byText(a.join(','), b.join(',')))
}

/** A class's id, derived from its clauses, so an id always names the same clauses in every store and process. */
export function classIdOf(clauses: Clauses): string {
  return createHash('sha256').update(JSON.stringify(clauses)).digest('base64url').slice(0, 22)
}

/** The class of a resource with `teams` under a parent of class `parent` ([] for a resource at the top). */
export function childClauses(parent: Clauses, teams: readonly string[]): Clauses {
  return canonicalClauses([...parent, teams])
}
