import '@mantine/core/styles.css'
import { type CSSVariablesResolver, createTheme, MantineProvider } from '@mantine/core'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { Router } from 'wouter'
import { App } from './App.tsx'
import { ApiFailure } from './api.ts'
import { useGuardedLocation } from './drafts.ts'
import { SessionProvider } from './session.tsx'

/** Colours dark enough to read (WCAG AA contrast, checked by the axe scan in test/ui). */
const theme = createTheme({ primaryShade: { light: 8, dark: 5 } })
const readable: CSSVariablesResolver = (current) => ({
  variables: {},
  light: { '--mantine-color-dimmed': current.colors.gray[7] as string },
  dark: {},
})

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      retry: (count, error) => !(error instanceof ApiFailure && error.status < 500) && count < 2,
    },
  },
})

const root = document.getElementById('root')
if (root === null) throw new Error('no #root element')
createRoot(root).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={readable}>
      <QueryClientProvider client={queries}>
        <SessionProvider>
          <Router base="/ui" hook={useGuardedLocation}>
            <App />
          </Router>
        </SessionProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
)
