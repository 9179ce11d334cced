import { Alert, Button, Center, Code, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core'
import { type FormEvent, useState } from 'react'
import { ApiFailure } from '../api.ts'
import { useSession } from '../session.tsx'

/** The API key form: the server answers with a session cookie; the key itself is kept nowhere here. */
export function SignInForm({ intro }: { intro?: string }) {
  const session = useSession()
  const [key, setKey] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await session.signIn(key.trim())
      setKey('')
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.detail : 'Signing in failed: try again.')
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <Text size="sm">
          {intro ?? 'Use your API key.'} An admin can make one for you with{' '}
          <Code>docent keys create --email you@…</Code> or under Settings.
        </Text>
        <PasswordInput
          label="API key"
          value={key}
          onChange={(event) => setKey(event.currentTarget.value)}
          autoComplete="off"
          required
          data-autofocus
        />
        {error !== undefined && (
          <Alert color="red" title="Not signed in" role="alert">
            {error}
          </Alert>
        )}
        <Button type="submit" loading={busy} disabled={key.trim() === ''}>
          Sign in
        </Button>
      </Stack>
    </form>
  )
}

export function SignInPage() {
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={420} maw="100%" component="main">
        <Stack>
          <Title order={1} size="h2">
            Sign in to docent
          </Title>
          <SignInForm />
        </Stack>
      </Paper>
    </Center>
  )
}
