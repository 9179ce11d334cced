import { Alert, Group, Loader, SegmentedControl, Stack, Text, Title } from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { useSearch } from 'wouter'
import { api, catalogPath, type Page, type Resource } from '../api.ts'
import { Pages } from './Pages.tsx'
import { ResultList } from './ResultList.tsx'

const TYPES = [
  { label: 'All', value: '' },
  { label: 'Tables', value: 'table' },
  { label: 'Columns', value: 'column' },
  { label: 'Schemas', value: 'schema' },
  { label: 'Databases', value: 'database' },
  { label: 'Glossary', value: 'glossary' },
  { label: 'Documents', value: 'document' },
]

/** Search as the person types (search_term), filtered by kind, best match first (CONTRACT §12). */
export function SearchPage() {
  const term = new URLSearchParams(useSearch()).get('q') ?? ''
  const [debounced] = useDebouncedValue(term.trim(), 150)
  const [type, setType] = useState('')
  const [page, setPage] = useState(1)
  const found = useQuery({
    queryKey: ['search', debounced, type, page],
    queryFn: () =>
      api<Page<Resource>>(catalogPath({ searchTerm: debounced, entityType: type || undefined, page, pageSize: 25 })),
    enabled: debounced !== '',
    placeholderData: keepPreviousData,
  })
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {debounced === '' ? 'Search' : `Results for “${debounced}”`}
      </Title>
      <SegmentedControl
        data={TYPES}
        value={type}
        onChange={(value) => {
          setType(value)
          setPage(1)
        }}
        aria-label="Kind of resource"
        style={{ alignSelf: 'flex-start' }}
      />
      {debounced === '' && (
        <Text c="dimmed">Type in the search box above: a table or column name, a word of a description.</Text>
      )}
      {found.isError && (
        <Alert color="red" role="alert" title="The search failed">
          {(found.error as Error).message}
        </Alert>
      )}
      {found.isFetching && found.data === undefined && <Loader role="status" aria-label="Searching" />}
      {found.data !== undefined && debounced !== '' && (
        <>
          <Group gap="xs" aria-live="polite">
            <Text size="sm" c="dimmed" data-testid="result-count">
              {found.data.data.count === 0
                ? 'Nothing matches. Check the spelling, or try a shorter word.'
                : `${found.data.data.count.toLocaleString('en')} found`}
            </Text>
            {found.isFetching && <Loader size="xs" role="status" aria-label="Updating" />}
          </Group>
          <ResultList resources={found.data.data.results} />
          {found.data.data.total_pages > 1 && (
            <Pages total={found.data.data.total_pages} value={page} onChange={setPage} />
          )}
        </>
      )}
    </Stack>
  )
}
