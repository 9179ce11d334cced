import { ActionIcon, Alert, Anchor, Badge, Button, Group, Select, Stack, Text, Title } from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Link } from 'wouter'
import { type Answer, ApiFailure, api, catalogPath, type Page, patchResource, type Resource } from '../api.ts'

/** Kinds of resource that are written about others: their page offers `sources` whether or not any is set. */
const WRITTEN = ['document', 'glossary', 'question', 'collection', 'dashboard', 'chart']

/** The sources named on the page (a longer list says how many more). */
const SHOWN = 100

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((id, i) => id === b[i])

/**
 * What a document, term or question is about (`sources`, CONTRACT §9): each a link to its page; writers add one
 * found by search and take one away, saved with If-Match like every edit.
 */
export function Sources({ answer, onSaved }: { answer: Answer<Resource>; onSaved: (next: Answer<Resource>) => void }) {
  const resource = answer.data
  const [text, setText] = useState('')
  const [debounced] = useDebouncedValue(text.trim(), 150)
  const [picked, setPicked] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [saving, setSaving] = useState(false)
  const listed = useQuery({
    queryKey: ['sources', resource.id, resource.sources],
    enabled: resource.sources.length > 0,
    queryFn: () =>
      api<Page<Resource>>(
        catalogPath({
          filter: { operator: 'in', field: 'id', value: resource.sources.slice(0, SHOWN) },
          pageSize: SHOWN,
        }),
      ),
  })
  const found = useQuery({
    queryKey: ['sources-pick', debounced],
    queryFn: () => api<Page<Resource>>(catalogPath({ searchTerm: debounced, pageSize: 20 })),
    enabled: debounced.length > 1,
  })
  const writable = resource.current_user_permissions.write
  if (!WRITTEN.includes(resource.entity_type) && resource.sources.length === 0) return null
  const save = async (sources: string[]) => {
    setSaving(true)
    setError(undefined)
    try {
      const before = resource.sources
      // Another field changed meanwhile: saved again over it; this list changed: the person sees it first.
      const outcome = await patchResource(resource.id, { sources }, answer.etag, (current) =>
        sameList(current.sources, before),
      )
      if ('saved' in outcome) {
        onSaved(outcome.saved)
        setPicked(null)
        setText('')
      } else {
        onSaved(outcome.conflict)
        setError('What this is about changed meanwhile: nothing was saved, and the list now shows what it holds.')
      }
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.detail : 'Saving failed: try again.')
    } finally {
      setSaving(false)
    }
  }
  // Ids not answered are resources the caller may not see (or gone): they are kept, unnamed.
  const shown = listed.data?.data.results ?? []
  const hidden = Math.min(resource.sources.length, SHOWN) - shown.length
  const more = resource.sources.length - Math.min(resource.sources.length, SHOWN)
  const options = (found.data?.data.results ?? [])
    .filter((r) => r.id !== resource.id && !resource.sources.includes(r.id))
    .map((r) => ({ value: r.id, label: `${r.title_full} (${r.entity_type})` }))
  return (
    <Stack gap="xs">
      <Title order={2} size="h4">
        About
      </Title>
      {resource.sources.length === 0 && <Text c="dimmed">Not linked to any resource yet.</Text>}
      <Stack gap={4} data-testid="sources">
        {shown.map((source) => (
          <Group key={source.id} gap="xs">
            <Anchor component={Link} href={`/r/${source.id}`}>
              {source.title_full || source.title}
            </Anchor>
            <Badge size="sm" variant="light">
              {source.entity_type}
            </Badge>
            {writable && (
              <ActionIcon
                variant="subtle"
                color="gray"
                size="sm"
                aria-label={`Remove ${source.title_full || source.title}`}
                disabled={saving}
                onClick={() => void save(resource.sources.filter((id) => id !== source.id))}
              >
                ×
              </ActionIcon>
            )}
          </Group>
        ))}
        {listed.data !== undefined && hidden > 0 && (
          <Text size="sm" c="dimmed">
            and {hidden} you may not see
          </Text>
        )}
        {more > 0 && (
          <Text size="sm" c="dimmed">
            and {more.toLocaleString('en')} more
          </Text>
        )}
      </Stack>
      {writable && (
        <Group align="end" wrap="wrap">
          <Select
            label="Link a resource"
            placeholder="Search by name"
            searchable
            searchValue={text}
            onSearchChange={setText}
            data={options}
            value={picked}
            onChange={setPicked}
            filter={({ options: all }) => all}
            nothingFoundMessage={debounced.length < 2 ? 'Type a name' : 'Nothing found'}
            w={360}
          />
          <Button
            onClick={() => picked !== null && void save([...resource.sources, picked])}
            disabled={picked === null}
            loading={saving}
          >
            Link
          </Button>
        </Group>
      )}
      {error !== undefined && (
        <Alert color="yellow" role="alert">
          {error}
        </Alert>
      )}
    </Stack>
  )
}
