/**
 * The words of catalog text that a misspelt search word is corrected to (CONTRACT §12): runs of letters and digits,
 * folded to lower case, of MIN_WORD_LENGTH characters or more and holding at least one letter. Shorter words and
 * numbers are not corrected: one edit turns `user` into `used` and `2024` into `2025`.
 */
export const MIN_WORD_LENGTH = 4
/** Longer runs are identifiers or encoded data, not words a person types. */
export const MAX_WORD_LENGTH = 40

const SEPARATORS = /[^\p{L}\p{N}]+/u
const LETTER = /\p{L}/u

/** The distinct correctable words of `text` (already folded or not), in order of first appearance. */
export function wordsOf(text: string): string[] {
  const words = new Set<string>()
  for (const part of text.toLowerCase().split(SEPARATORS)) {
    const length = [...part].length
    if (length >= MIN_WORD_LENGTH && length <= MAX_WORD_LENGTH && LETTER.test(part)) words.add(part)
  }
  return [...words]
}

/** The characters a misspelling is corrected with, besides those of the word itself. */
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789']

/**
 * Every correctable word one edit away from `word`: a character left out, two neighbours swapped, a character
 * changed or added, where the characters changed or added are ASCII letters and digits or characters of the word
 * itself (so `ecole` is not corrected to `école`, but `ecolé` is). About 75 words per character of `word`.
 */
export function neighboursOf(word: string): string[] {
  const chars = [...word]
  const alphabet = [...new Set([...ALPHABET, ...chars])]
  const near = new Set<string>()
  const add = (parts: string[]) => {
    const length = parts.length
    const text = parts.join('')
    if (length >= MIN_WORD_LENGTH && length <= MAX_WORD_LENGTH && text !== word && LETTER.test(text)) near.add(text)
  }
  for (let i = 0; i < chars.length; i++) {
    add([...chars.slice(0, i), ...chars.slice(i + 1)])
    if (i + 1 < chars.length)
      add([...chars.slice(0, i), chars[i + 1] as string, chars[i] as string, ...chars.slice(i + 2)])
    for (const c of alphabet) add([...chars.slice(0, i), c, ...chars.slice(i + 1)])
  }
  for (let i = 0; i <= chars.length; i++) {
    for (const c of alphabet) add([...chars.slice(0, i), c, ...chars.slice(i)])
  }
  return [...near]
}

/**
 * Whether `a` and `b` are exactly one edit apart: one character added, left out or changed, or two neighbouring
 * characters swapped.
 */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b) return false
  const x = [...a]
  const y = [...b]
  if (Math.abs(x.length - y.length) > 1) return false
  let start = 0
  while (start < x.length && start < y.length && x[start] === y[start]) start++
  let endX = x.length
  let endY = y.length
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--
    endY--
  }
  const restX = endX - start
  const restY = endY - start
  if (restX <= 1 && restY <= 1) return true
  // A swap of neighbours: `ab` against `ba`, with everything around them equal.
  return restX === 2 && restY === 2 && x[start] === y[start + 1] && x[start + 1] === y[start]
}
