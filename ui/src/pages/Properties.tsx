import { Alert, Anchor, Badge, Group, MultiSelect, Stack, Text, Title } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Link } from 'wouter'
import { type Answer, ApiFailure, api, catalogPath, type Page, patchResource, type Resource } from '../api.ts'

interface Named {
  id: string
  name?: string
  email?: string
  title?: string
}

/** The workspace's users, tags, teams or collections, by id, for showing names (each list read once a page). */
function useNames(path: string) {
  return useQuery({
    queryKey: ['named', path],
    queryFn: () => api<Page<Named>>(`${path}?page_size=100`),
    staleTime: 60_000,
  })
}

type ListField = 'owners' | 'tags' | 'teams' | 'collections'

/** What each list of a resource holds ids of, and what it shows when empty. */
const LISTS: { field: ListField; label: string; path: string; empty: string; variant: 'outline' | 'light' }[] = [
  { field: 'owners', label: 'Owners', path: '/user', empty: 'Nobody yet', variant: 'outline' },
  { field: 'tags', label: 'Tags', path: '/tag', empty: 'None', variant: 'light' },
  { field: 'teams', label: 'Teams', path: '/auth/teams', empty: 'None', variant: 'outline' },
  { field: 'collections', label: 'Collections', path: '/collection/collections', empty: 'None', variant: 'light' },
]

const nameOf = (item: Named) => item.name ?? item.title ?? item.email ?? item.id

/**
 * Owners, tags, teams and collections (editable by writers, saved with If-Match) as lists of names; and the
 * documents and questions that name this resource among their sources.
 */
export function Properties({
  answer,
  onSaved,
}: {
  answer: Answer<Resource>
  onSaved: (next: Answer<Resource>) => void
}) {
  const resource = answer.data
  const named: Record<ListField, ReturnType<typeof useNames>> = {
    owners: useNames('/user'),
    tags: useNames('/tag'),
    teams: useNames('/auth/teams'),
    collections: useNames('/collection/collections'),
  }
  const [notice, setNotice] = useState<string | undefined>(undefined)
  // One save at a time: a second choice made while the first is saved would start from the old list.
  const [saving, setSaving] = useState(false)
  const save = async (field: ListField, value: string[]) => {
    setNotice(undefined)
    setSaving(true)
    try {
      const outcome = await patchResource(resource.id, { [field]: value }, answer.etag)
      if ('saved' in outcome) onSaved(outcome.saved)
      else {
        onSaved(outcome.conflict)
        setNotice('This resource changed meanwhile: nothing was saved, and the page now shows what it holds.')
      }
    } catch (failure) {
      setNotice(failure instanceof ApiFailure ? failure.detail : 'Saving failed: try again.')
    } finally {
      setSaving(false)
    }
  }
  const options = (field: ListField, current: string[]) => {
    const known = (named[field].data?.data.results ?? [])
      // A collection is not in itself.
      .filter((item) => item.id !== resource.id)
      .map((item) => ({ value: item.id, label: nameOf(item) }))
    // Ids the page cannot name (a list longer than a page) still show, by id.
    const missing = current.filter((id) => !known.some((k) => k.value === id)).map((id) => ({ value: id, label: id }))
    return [...known, ...missing]
  }
  const label = (field: ListField, id: string) => {
    const found = named[field].data?.data.results.find((item) => item.id === id)
    return found === undefined ? id : nameOf(found)
  }
  const writable = resource.current_user_permissions.write
  return (
    <Stack gap="xs">
      <Group align="start" gap="xl" wrap="wrap">
        {LISTS.map(({ field, label: title, empty, variant }) =>
          writable ? (
            <MultiSelect
              key={field}
              label={title}
              placeholder={resource[field].length === 0 ? empty : undefined}
              data={options(field, resource[field])}
              value={resource[field]}
              onChange={(value) => void save(field, value)}
              searchable
              disabled={saving}
              w={260}
            />
          ) : (
            <Stack gap={4} key={field}>
              <Text size="sm" fw={500}>
                {title}
              </Text>
              <Group gap={4}>
                {resource[field].length === 0 ? (
                  <Text size="sm" c="dimmed">
                    {empty}
                  </Text>
                ) : (
                  resource[field].map((id) => (
                    <Badge key={id} variant={variant} color={field === 'teams' ? 'gray' : undefined}>
                      {label(field, id)}
                    </Badge>
                  ))
                )}
              </Group>
            </Stack>
          ),
        )}
      </Group>
      {notice !== undefined && (
        <Alert color="yellow" role="alert">
          {notice}
        </Alert>
      )}
    </Stack>
  )
}

/** Documents, questions and glossary terms that name this resource among their sources. */
export function Related({ resource }: { resource: Resource }) {
  const related = useQuery({
    queryKey: ['related', resource.id],
    queryFn: () =>
      api<Page<Resource>>(
        catalogPath({ filter: { operator: 'in', field: 'sources', value: [resource.id] }, pageSize: 20 }),
      ),
  })
  const results = related.data?.data.results ?? []
  if (results.length === 0) return null
  return (
    <Stack gap="xs">
      <Title order={2} size="h4">
        Written about it
      </Title>
      {results.map((item) => (
        <Group key={item.id} gap="xs">
          <Anchor component={Link} href={`/r/${item.id}`}>
            {item.title}
          </Anchor>
          <Badge size="sm" variant="light">
            {item.entity_type}
          </Badge>
        </Group>
      ))}
    </Stack>
  )
}
