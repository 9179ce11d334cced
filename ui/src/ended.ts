/** A session that ended under the page (an answer of 401) asks the person to sign in again, over the page. */
let onSessionEnded = () => {}

export function whenSessionEnds(callback: () => void): void {
  onSessionEnded = callback
}

export function sessionEnded(): void {
  onSessionEnded()
}
