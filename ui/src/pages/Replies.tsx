import { Alert, Badge, Button, Group, Loader, Paper, Stack, Text, Textarea, Title } from '@mantine/core'
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ApiFailure, api, catalogPath, type Page, type Resource } from '../api.ts'
import { useUnsavedGuard } from '../drafts.ts'
import { Pages } from './Pages.tsx'

const REPLY_PAGE = 20

/** A reply's title: its first line, cut at a word near 80 characters (the whole text is its description). */
function titleOf(text: string): string {
  const line = text.trim().split('\n')[0] ?? ''
  if (line.length <= 80) return line
  const cut = line.slice(0, 80)
  const space = cut.lastIndexOf(' ')
  return `${space > 40 ? cut.slice(0, space) : cut}…`
}

/**
 * A question's replies, oldest first, the accepted one marked (CONTRACT §9): whoever may write a reply accepts it
 * (the question becomes ANSWERED) or takes the acceptance back; whoever may write the question replies to it.
 */
export function Replies({ question }: { question: Resource }) {
  const client = useQueryClient()
  const [page, setPage] = useState(1)
  const [text, setText] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  useUnsavedGuard(text.trim() !== '')
  const replies = useQuery({
    queryKey: ['replies', question.id, page],
    queryFn: () =>
      api<Page<Resource>>(
        catalogPath({
          filter: { operator: 'exact', field: 'parent_id', value: question.id },
          sort: { field: 'created_at', order: 'asc' },
          page,
          pageSize: REPLY_PAGE,
        }),
      ),
    placeholderData: keepPreviousData,
  })
  // The question's status and answerer follow its replies: read again with them.
  const changed = () =>
    Promise.all([
      client.invalidateQueries({ queryKey: ['replies', question.id] }),
      client.invalidateQueries({ queryKey: ['resource', question.id] }),
    ])
  const act = async (write: () => Promise<unknown>) => {
    setBusy(true)
    setError(undefined)
    try {
      await write()
      await changed()
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.detail : 'That failed: try again.')
    } finally {
      setBusy(false)
    }
  }
  const accept = (reply: Resource, accepted: boolean) =>
    act(() => api(`/question/replies/${reply.id}`, { method: 'PATCH', body: { accepted } }))
  const post = async (event: FormEvent) => {
    event.preventDefault()
    const body = text.trim()
    if (body === '') return
    // The form is cleared once the reply is stored, before the list shows it: never a posted reply still in the form.
    await act(async () => {
      await api('/question/replies', {
        method: 'POST',
        body: { title: titleOf(body), description: body, parent: question.id, integration: question.integration },
      })
      setText('')
    })
  }
  return (
    <Stack gap="xs">
      <Title order={2} size="h4">
        Replies
        {replies.data !== undefined && (
          <Text span c="dimmed" size="sm">
            {' '}
            ({replies.data.data.count.toLocaleString('en')})
          </Text>
        )}
      </Title>
      {replies.isPending && <Loader role="status" aria-label="Loading replies" />}
      {replies.isError && (
        <Alert color="red" role="alert">
          {(replies.error as Error).message}
        </Alert>
      )}
      {replies.data?.data.count === 0 && <Text c="dimmed">No replies yet.</Text>}
      {replies.data?.data.results.map((reply) => (
        <Paper
          key={reply.id}
          withBorder
          p="sm"
          data-testid="reply"
          style={reply.accepted ? { borderColor: 'var(--mantine-color-green-8)', borderWidth: 2 } : undefined}
        >
          <Stack gap={6}>
            <Text style={{ whiteSpace: 'pre-wrap' }}>{reply.description || reply.title}</Text>
            <Group gap="xs" justify="space-between">
              <Group gap="xs">
                {reply.accepted && <Badge color="#1b5e20">accepted answer</Badge>}
                <Text size="xs" c="dimmed">
                  {new Date(reply.updated_at).toLocaleString('en')}
                </Text>
              </Group>
              {reply.current_user_permissions.write && (
                <Button
                  size="xs"
                  variant={reply.accepted ? 'subtle' : 'light'}
                  disabled={busy}
                  onClick={() => void accept(reply, !reply.accepted)}
                >
                  {reply.accepted ? 'Take back acceptance' : 'Accept this answer'}
                </Button>
              )}
            </Group>
          </Stack>
        </Paper>
      ))}
      {replies.data !== undefined && replies.data.data.total_pages > 1 && (
        <Pages total={replies.data.data.total_pages} value={page} onChange={setPage} />
      )}
      {error !== undefined && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      {question.current_user_permissions.write && (
        <form onSubmit={post}>
          <Stack gap="xs">
            <Textarea
              label="Your reply"
              autosize
              minRows={3}
              value={text}
              onChange={(event) => setText(event.currentTarget.value)}
            />
            <Group>
              <Button type="submit" disabled={busy || text.trim() === ''}>
                Post reply
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Stack>
  )
}
