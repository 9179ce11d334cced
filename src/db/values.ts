/** The one timestamp format on every engine: ISO 8601, UTC, millisecond precision, `Z`. */
export function nowIso(): string {
  return new Date().toISOString()
}

export function toIso(value: string | Date): string
export function toIso(value: string | Date | null): string | null
export function toIso(value: string | Date | null): string | null {
  if (value === null) {
    return null
  }
  return value instanceof Date ? value.toISOString() : value
}

/** `count(*)` arrives as a string from pg and as a number from SQLite. */
export function toCount(value: string | number | bigint | undefined): number {
  return value === undefined ? 0 : Number(value)
}

/** Years 1 to 9999: what both engines store and ISO 8601 writes with four digits (PostgreSQL has no year 0). */
function isStorableTime(time: number): boolean {
  if (Number.isNaN(time)) {
    return false
  }
  const year = new Date(time).getUTCFullYear()
  return year >= 1 && year <= 9999
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0
}

/**
 * An ISO 8601 date, or date and time, in the stored form (`2026-01-31T12:00:00.000Z`); undefined when it names
 * no day of the calendar or no year both engines store. Date.parse alone takes 2026-02-30 for March 2.
 */
export function parseTimestamp(text: string): string | undefined {
  const date = ISO_DATE.exec(text)
  const time = Date.parse(text)
  if (date === null || !isStorableTime(time)) {
    return undefined
  }
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined
  }
  return new Date(time).toISOString()
}
