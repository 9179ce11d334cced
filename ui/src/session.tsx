import { useQueryClient } from '@tanstack/react-query'
import { createContext, type ReactNode, useCallback, useContext, useEffect, useRef, useState } from 'react'
import { ApiFailure, api, type SessionUser, setCsrfToken } from './api.ts'

interface SessionAnswer {
  user: SessionUser
  csrf_token: string
  expires_at: string
}

interface SessionState {
  /** undefined while the page asks who is signed in; null when nobody is. */
  user: SessionUser | null | undefined
  /**
   * The session ended under an open page (a 401: expired, or its key revoked). The page stays as it is, drafts
   * included, and asks the person to sign in again over it.
   */
  expired: boolean
  signIn(apiKey: string): Promise<void>
  signOut(): Promise<void>
  ended(): void
}

const SessionContext = createContext<SessionState | undefined>(undefined)

export function SessionProvider({ children }: { children: ReactNode }) {
  const queries = useQueryClient()
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined)
  const [expired, setExpired] = useState(false)
  // Who the cached answers belong to: another person signing in on this tab must never see them.
  const owner = useRef<string | undefined>(undefined)
  const become = useCallback(
    (next: SessionUser | null) => {
      if (next === null || next.id !== owner.current) queries.clear()
      owner.current = next?.id
      setUser(next)
    },
    [queries],
  )
  useEffect(() => {
    api<SessionAnswer>('/auth/session')
      .then(({ data }) => {
        setCsrfToken(data.csrf_token)
        become(data.user)
      })
      .catch(() => become(null))
  }, [become])
  const signIn = useCallback(
    async (apiKey: string) => {
      const { data } = await api<SessionAnswer>('/auth/session', { method: 'POST', body: { api_key: apiKey } })
      setCsrfToken(data.csrf_token)
      setExpired(false)
      become(data.user)
      // What failed while signed out is asked again.
      void queries.invalidateQueries()
    },
    [become, queries],
  )
  const signOut = useCallback(async () => {
    try {
      await api('/auth/session', { method: 'DELETE' })
    } catch (error) {
      if (!(error instanceof ApiFailure) || error.status !== 401) throw error
    }
    setCsrfToken(undefined)
    setExpired(false)
    become(null)
  }, [become])
  const ended = useCallback(() => {
    setCsrfToken(undefined)
    setExpired(true)
  }, [])
  return <SessionContext.Provider value={{ user, expired, signIn, signOut, ended }}>{children}</SessionContext.Provider>
}

export function useSession(): SessionState {
  const session = useContext(SessionContext)
  if (session === undefined) throw new Error('useSession outside SessionProvider')
  return session
}
