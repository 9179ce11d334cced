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
export function isStorableTime(time: number): boolean {
  if (Number.isNaN(time)) {
    return false
  }
  const year = new Date(time).getUTCFullYear()
  return year >= 1 && year <= 9999
}
