import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react'
import { ApiFailure, api, type SessionUser, setCsrfToken } from './api.ts'

interface SessionAnswer {
  user: SessionUser
  csrf_token: string
  expires_at: string
}

interface SessionState {
  /** undefined while the page asks who is signed in; null when nobody is. */
  user: SessionUser | null | undefined
  signIn(apiKey: string): Promise<void>
  signOut(): Promise<void>
  /** The session ended under the page (a 401): show the sign-in page. */
  ended(): void
}

const SessionContext = createContext<SessionState | undefined>(undefined)

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined)
  useEffect(() => {
    api<SessionAnswer>('/auth/session')
      .then(({ data }) => {
        setCsrfToken(data.csrf_token)
        setUser(data.user)
      })
      .catch(() => setUser(null))
  }, [])
  const signIn = useCallback(async (apiKey: string) => {
    const { data } = await api<SessionAnswer>('/auth/session', { method: 'POST', body: { api_key: apiKey } })
    setCsrfToken(data.csrf_token)
    setUser(data.user)
  }, [])
  const signOut = useCallback(async () => {
    try {
      await api('/auth/session', { method: 'DELETE' })
    } catch (error) {
      if (!(error instanceof ApiFailure) || error.status !== 401) throw error
    }
    setCsrfToken(undefined)
    setUser(null)
  }, [])
  const ended = useCallback(() => {
    setCsrfToken(undefined)
    setUser(null)
  }, [])
  return <SessionContext.Provider value={{ user, signIn, signOut, ended }}>{children}</SessionContext.Provider>
}

export function useSession(): SessionState {
  const session = useContext(SessionContext)
  if (session === undefined) throw new Error('useSession outside SessionProvider')
  return session
}
