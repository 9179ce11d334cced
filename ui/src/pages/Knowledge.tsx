import { Alert, Loader, Stack, Tabs, Text, Title } from '@mantine/core'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { api, catalogPath, type Page, type Resource } from '../api.ts'
import { Pages } from './Pages.tsx'
import { ResultList } from './ResultList.tsx'

const KINDS = [
  { value: 'glossary', label: 'Glossary', empty: 'No glossary terms yet.' },
  { value: 'document', label: 'Documents', empty: 'No documents yet.' },
  { value: 'question', label: 'Questions', empty: 'No questions yet.' },
  { value: 'dashboard', label: 'Dashboards', empty: 'No dashboards yet.' },
]

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

/** What the team wrote down: glossary terms, documents, questions (each opens on its own page), dashboards. */
export default function KnowledgePage() {
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
            <KindList kind={kind.value} empty={kind.empty} />
          </Tabs.Panel>
        ))}
      </Tabs>
    </Stack>
  )
}
