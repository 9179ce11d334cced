import { Alert, Chip, Group, Loader, MultiSelect, SegmentedControl, Select, Stack, Text, Title } from '@mantine/core'
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
  const [debounced] = useDebouncedValue(term.trim(), 100)
  const [type, setType] = useState('')
  const [page, setPage] = useState(1)
  const [flags, setFlags] = useState<string[]>([])
  const [tags, setTags] = useState<string[]>([])
  const [owners, setOwners] = useState<string[]>([])
  const [integration, setIntegration] = useState<string | null>(null)
  const tagList = useQuery({
    queryKey: ['named', '/tag'],
    queryFn: () => api<Page<{ id: string; name: string }>>('/tag?page_size=100'),
  })
  const users = useQuery({
    queryKey: ['named', '/user'],
    queryFn: () =>
      api<Page<{ id: string; email: string; first_name: string; last_name: string }>>('/user?page_size=100'),
  })
  const integrations = useQuery({
    queryKey: ['integrations'],
    queryFn: () => api<Page<{ id: string; name: string }>>('/integration/integrations?page_size=100'),
  })
  // The facets are List Resources filters (CONTRACT §5), joined to the search by `and`.
  const operands = [
    ...flags.map((field) => ({ operator: 'exact', field, value: true })),
    ...(tags.length > 0 ? [{ operator: 'in', field: 'tags', value: tags }] : []),
    ...(owners.length > 0 ? [{ operator: 'in', field: 'owners', value: owners }] : []),
    ...(integration === null ? [] : [{ operator: 'exact', field: 'integration_id', value: integration }]),
  ]
  const filter = operands.length === 0 ? undefined : { operator: 'and', operands }
  const found = useQuery({
    queryKey: ['search', debounced, type, page, filter],
    // A search the person has typed past is dropped (the signal closes its request; docent then skips it).
    queryFn: ({ signal }) =>
      api<Page<Resource>>(
        catalogPath({ searchTerm: debounced, entityType: type || undefined, filter, page, pageSize: 25 }),
        { signal },
      ),
    // One character matches nearly everything: a search starts at two.
    enabled: debounced.length >= 2,
    placeholderData: keepPreviousData,
  })
  const reset =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value)
      setPage(1)
    }
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {debounced === '' ? 'Search' : `Results for “${debounced}”`}
      </Title>
      <SegmentedControl
        data={TYPES}
        value={type}
        onChange={reset(setType)}
        aria-label="Kind of resource"
        style={{ alignSelf: 'flex-start' }}
      />
      <Group align="end" gap="md" wrap="wrap">
        <Chip.Group multiple value={flags} onChange={reset(setFlags)}>
          <Group gap="xs">
            <Chip value="verified">Verified</Chip>
            <Chip value="pii">PII</Chip>
          </Group>
        </Chip.Group>
        <MultiSelect
          label="Tags"
          placeholder="Any"
          data={(tagList.data?.data.results ?? []).map((t) => ({ value: t.id, label: t.name }))}
          value={tags}
          onChange={reset(setTags)}
          searchable
          clearable
          w={240}
        />
        <MultiSelect
          label="Owners"
          placeholder="Anyone"
          data={(users.data?.data.results ?? []).map((u) => ({
            value: u.id,
            label: `${u.first_name} ${u.last_name}`.trim() ? `${u.first_name} ${u.last_name} · ${u.email}` : u.email,
          }))}
          value={owners}
          onChange={reset(setOwners)}
          searchable
          clearable
          w={240}
        />
        <Select
          label="Integration"
          placeholder="Any"
          data={(integrations.data?.data.results ?? []).map((i) => ({ value: i.id, label: i.name }))}
          value={integration}
          onChange={reset(setIntegration)}
          clearable
          w={200}
        />
      </Group>
      {debounced.length < 2 && (
        <Text c="dimmed">
          Type two letters or more in the search box above: a table or column name, a word of a description.
        </Text>
      )}
      {found.isError && (
        <Alert color="red" role="alert" title="The search failed">
          {(found.error as Error).message}
        </Alert>
      )}
      {found.isFetching && found.data === undefined && <Loader role="status" aria-label="Searching" />}
      {found.data !== undefined && debounced.length >= 2 && (
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
