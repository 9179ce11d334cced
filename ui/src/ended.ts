import { ApiFailure } from './api.ts'

/** A session that ended under the page (an answer of 401) sends the person back to the sign-in page. */
let onSessionEnded = () => {}

export function whenSessionEnds(callback: () => void): void {
  onSessionEnded = callback
}

export function noteFailure(error: unknown): void {
  if (error instanceof ApiFailure && error.status === 401) onSessionEnded()
}
