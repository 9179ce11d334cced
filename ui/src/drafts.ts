// Unsaved text is never lost without asking: closing or reloading the tab asks through the browser's own prompt
// (beforeunload), going elsewhere inside the catalog (a link, the menu, the search box) asks through confirm().
// The browser's Back button is not asked about: the History API gives no way to hold it.
import { useCallback, useEffect, useRef } from 'react'
import { type BrowserLocationHook, navigate, useBrowserLocation } from 'wouter/use-browser-location'

const unsaved = new Set<symbol>()

export const LEAVE_QUESTION = 'You have unsaved text on this page. Leave it and lose what you wrote?'

/**
 * While `dirty`, this component holds text that leaving the page would lose. Answers `release`, to call when the
 * text was just saved and the page moves on before the component has seen it is no longer dirty.
 */
export function useUnsavedGuard(dirty: boolean): () => void {
  const held = useRef<symbol | undefined>(undefined)
  useEffect(() => {
    if (!dirty) return
    const mark = Symbol('draft')
    held.current = mark
    unsaved.add(mark)
    const ask = (event: BeforeUnloadEvent) => {
      event.preventDefault()
      // Older browsers ask only when returnValue is set.
      event.returnValue = ''
    }
    window.addEventListener('beforeunload', ask)
    return () => {
      unsaved.delete(mark)
      window.removeEventListener('beforeunload', ask)
    }
  }, [dirty])
  return useCallback(() => {
    if (held.current !== undefined) unsaved.delete(held.current)
  }, [])
}

/** The answer given to a question asked for a navigation that has not happened yet (see `mayLeave`). */
let answered = false

/**
 * Whether the person lets the page go: yes when nothing is unsaved, else their answer to the question. A yes
 * stands for the navigation that follows at once (it is not asked again); the drafts stay protected until their
 * editors close, so a navigation that leaves an editor on the page (to the page itself) asks again next time.
 */
export function mayLeave(): boolean {
  if (unsaved.size === 0) return true
  if (!window.confirm(LEAVE_QUESTION)) return false
  answered = true
  queueMicrotask(() => {
    answered = false
  })
  return true
}

/** Navigation inside the catalog, asking first while any text is unsaved. */
const guardedNavigate: typeof navigate = (to, options) => {
  if (answered || mayLeave()) {
    answered = false
    navigate(to, options)
  }
}

/** wouter's browser location, with every in-app navigation going through the unsaved-text question. */
export const useGuardedLocation: BrowserLocationHook = (options) => {
  const [location] = useBrowserLocation(options)
  return [location, guardedNavigate]
}
