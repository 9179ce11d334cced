import { Alert, Anchor, Badge, Group, MultiSelect, Stack, Text, Title } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Link } from 'wouter'
import { type Answer, ApiFailure, api, catalogPath, type Page, patchResource, type Resource } from '../api.ts'

interface Named {
  id: string
  name?: string
  email?: string
}

/** The workspace's users, tags and teams, by id, for showing names (each list read once a page). */
function useNames(path: string) {
  return useQuery({
    queryKey: ['named', path],
    queryFn: () => api<Page<Named>>(`${path}?page_size=100`),
    staleTime: 60_000,
  })
}

/**
 * Owners and tags (editable by writers, saved with If-Match), teams and custom properties; and the documents and
 * questions that name this resource among their sources.
 */
export function Properties({
  answer,
  onSaved,
}: {
  answer: Answer<Resource>
  onSaved: (next: Answer<Resource>) => void
}) {
  const resource = answer.data
  const users = useNames('/user')
  const tags = useNames('/tag')
  const teams = useNames('/auth/teams')
  const [notice, setNotice] = useState<string | undefined>(undefined)
  // One save at a time: a second choice made while the first is saved would start from the old list.
  const [saving, setSaving] = useState(false)
  const label = (list: ReturnType<typeof useNames>, id: string) => {
    const found = list.data?.data.results.find((item) => item.id === id)
    return found?.name ?? found?.email ?? id
  }
  const save = async (field: 'owners' | 'tags', value: string[]) => {
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
  const options = (list: ReturnType<typeof useNames>, current: string[]) => {
    const known = (list.data?.data.results ?? []).map((item) => ({
      value: item.id,
      label: item.name ?? item.email ?? item.id,
    }))
    // Ids the page cannot name (a list longer than a page) still show, by id.
    const missing = current.filter((id) => !known.some((k) => k.value === id)).map((id) => ({ value: id, label: id }))
    return [...known, ...missing]
  }
  const writable = resource.current_user_permissions.write
  return (
    <Stack gap="xs">
      <Group align="start" gap="xl" wrap="wrap">
        {writable ? (
          <>
            <MultiSelect
              label="Owners"
              placeholder={resource.owners.length === 0 ? 'Nobody yet' : undefined}
              data={options(users, resource.owners)}
              value={resource.owners}
              onChange={(value) => void save('owners', value)}
              searchable
              disabled={saving}
              w={300}
            />
            <MultiSelect
              label="Tags"
              placeholder={resource.tags.length === 0 ? 'None' : undefined}
              data={options(tags, resource.tags)}
              value={resource.tags}
              onChange={(value) => void save('tags', value)}
              searchable
              disabled={saving}
              w={300}
            />
          </>
        ) : (
          <>
            <Stack gap={4}>
              <Text size="sm" fw={500}>
                Owners
              </Text>
              <Group gap={4}>
                {resource.owners.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    Nobody yet
                  </Text>
                ) : (
                  resource.owners.map((id) => (
                    <Badge key={id} variant="outline">
                      {label(users, id)}
                    </Badge>
                  ))
                )}
              </Group>
            </Stack>
            <Stack gap={4}>
              <Text size="sm" fw={500}>
                Tags
              </Text>
              <Group gap={4}>
                {resource.tags.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    None
                  </Text>
                ) : (
                  resource.tags.map((id) => (
                    <Badge key={id} variant="light">
                      {label(tags, id)}
                    </Badge>
                  ))
                )}
              </Group>
            </Stack>
          </>
        )}
        <Stack gap={4}>
          <Text size="sm" fw={500}>
            Teams
          </Text>
          <Group gap={4}>
            {resource.teams.map((id) => (
              <Badge key={id} variant="outline" color="gray">
                {label(teams, id)}
              </Badge>
            ))}
          </Group>
        </Stack>
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
