import { Alert, Button, Group, Loader, Stack, Tabs, Text, TextInput, Title } from '@mantine/core'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { useLocation } from 'wouter'
import { ApiFailure, api, catalogPath, type Page, type Resource } from '../api.ts'
import { useUnsavedGuard } from '../drafts.ts'
import { useSession } from '../session.tsx'
import { Pages } from './Pages.tsx'
import { ResultList } from './ResultList.tsx'

const KINDS = [
  {
    value: 'glossary',
    label: 'Glossary',
    empty: 'No glossary terms yet.',
    noun: 'glossary term',
    route: '/dictionary/terms',
  },
  { value: 'document', label: 'Documents', empty: 'No documents yet.', noun: 'document', route: '/document/documents' },
  { value: 'question', label: 'Questions', empty: 'No questions yet.', noun: 'question', route: '/question/questions' },
  {
    value: 'collection',
    label: 'Collections',
    empty: 'No collections yet.',
    noun: 'collection',
    route: '/collection/collections',
  },
  { value: 'dashboard', label: 'Dashboards', empty: 'No dashboards yet.', noun: undefined, route: undefined },
]

/** A new glossary term, document, question or collection: a title and a description, then its own page. */
function Create({ noun, route }: { noun: string; route: string }) {
  const [, navigate] = useLocation()
  const [title, setTitle] = useState('')
  const [description, setDescription] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const release = useUnsavedGuard(title.trim() !== '' || description.trim() !== '')
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const { data } = await api<Resource>(route, { method: 'POST', body: { title: title.trim(), description } })
      release()
      navigate(`/r/${data.id}`)
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.detail : 'Creating it failed: try again.')
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={create} aria-label={`New ${noun}`}>
      <Stack gap="xs">
        <Group align="end" wrap="wrap">
          <TextInput
            label={noun === 'question' ? 'Your question' : `New ${noun}`}
            required
            value={title}
            onChange={(event) => setTitle(event.currentTarget.value)}
            w={320}
          />
          <TextInput
            label={noun === 'question' ? 'More detail' : 'Description'}
            value={description}
            onChange={(event) => setDescription(event.currentTarget.value)}
            w={400}
          />
          <Button type="submit" loading={busy} disabled={title.trim() === ''}>
            {noun === 'question' ? 'Ask' : 'Create'}
          </Button>
        </Group>
        {error !== undefined && (
          <Alert color="red" role="alert">
            {error}
          </Alert>
        )}
      </Stack>
    </form>
  )
}

function KindList({ kind, empty }: { kind: string; empty: string }) {
  const [page, setPage] = useState(1)
  const list = useQuery({
    queryKey: ['knowledge', kind, page],
    queryFn: () => api<Page<Resource>>(catalogPath({ entityType: kind, page, pageSize: 25 })),
    placeholderData: keepPreviousData,
  })
  if (list.isPending) return <Loader role="status" aria-label="Loading" />
  if (list.isError) {
    return (
      <Alert color="red" role="alert">
        {(list.error as Error).message}
      </Alert>
    )
  }
  if (list.data.data.count === 0) return <Text c="dimmed">{empty}</Text>
  return (
    <Stack>
      <ResultList resources={list.data.data.results} />
      {list.data.data.total_pages > 1 && <Pages total={list.data.data.total_pages} value={page} onChange={setPage} />}
    </Stack>
  )
}

/**
 * What the team wrote down: glossary terms, documents, questions and collections (each opens on its own page, and
 * writers add new ones here), and dashboards.
 */
export default function KnowledgePage() {
  // Viewers and guests write nothing (CONTRACT §7): they are not offered the forms.
  const { user } = useSession()
  const writer = user?.role === 'admin' || user?.role === 'editor'
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        Knowledge
      </Title>
      <Tabs defaultValue="glossary" keepMounted={false}>
        <Tabs.List>
          {KINDS.map((kind) => (
            <Tabs.Tab key={kind.value} value={kind.value}>
              {kind.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {KINDS.map((kind) => (
          <Tabs.Panel key={kind.value} value={kind.value} pt="md">
            <Stack>
              {writer && kind.noun !== undefined && kind.route !== undefined && (
                <Create noun={kind.noun} route={kind.route} />
              )}
              <KindList kind={kind.value} empty={kind.empty} />
            </Stack>
          </Tabs.Panel>
        ))}
      </Tabs>
    </Stack>
  )
}
