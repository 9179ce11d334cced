import {
  Alert,
  Button,
  Group,
  Loader,
  MultiSelect,
  NumberInput,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { type Answer, ApiFailure, api, patchResource, type Resource } from '../api.ts'

interface Definition {
  id: string
  name: string
  entity_types: string[]
  value_type: 'string' | 'number' | 'boolean' | 'date' | 'select' | 'user' | 'resource'
  options: { id: string; name: string }[]
}

const applies = (definition: Definition, type: string) =>
  definition.entity_types.length === 0 ||
  definition.entity_types.includes('all') ||
  definition.entity_types.includes(type)

/** A value as text a person reads: option names for a select, ids otherwise. */
function shown(definition: Definition | undefined, value: unknown): string {
  if (value === null || value === undefined) return ''
  if (Array.isArray(value)) {
    return value.map((id) => definition?.options.find((o) => o.id === id)?.name ?? String(id)).join(', ')
  }
  return String(value)
}

/** One property's input, by its type; `onSave(null)` clears it. */
function ValueInput({
  definition,
  value,
  onSave,
  busy,
}: {
  definition: Definition
  value: unknown
  onSave: (value: unknown) => void
  busy: boolean
}) {
  const stored = value === undefined || value === null ? '' : Array.isArray(value) ? value.join(', ') : String(value)
  const [text, setText] = useState(stored)
  const [problem, setProblem] = useState<string | undefined>(undefined)
  // Only a change of this property's own value replaces what is typed (a save of another field does not).
  useEffect(() => setText(stored), [stored])
  const input = (() => {
    switch (definition.value_type) {
      case 'boolean':
        return (
          <Switch
            aria-label={definition.name}
            checked={value === true}
            disabled={busy}
            onChange={(event) => onSave(event.currentTarget.checked)}
          />
        )
      case 'select':
        return (
          <MultiSelect
            aria-label={definition.name}
            data={definition.options.map((o) => ({ value: o.id, label: o.name }))}
            value={Array.isArray(value) ? (value as string[]) : []}
            placeholder={Array.isArray(value) && value.length > 0 ? undefined : 'None'}
            onChange={(choices) => onSave(choices.length === 0 ? null : choices)}
            clearable
            disabled={busy}
            w={260}
          />
        )
      case 'number':
        return (
          <Group gap="xs">
            <NumberInput aria-label={definition.name} value={text} onChange={(v) => setText(String(v))} w={160} />
            <Button
              size="xs"
              variant="light"
              disabled={busy}
              onClick={() => {
                const trimmed = text.trim()
                if (trimmed === '') return onSave(null)
                const number = Number(trimmed)
                if (!Number.isFinite(number)) return setProblem(`“${trimmed}” is not a number`)
                setProblem(undefined)
                return onSave(number)
              }}
            >
              Save
            </Button>
          </Group>
        )
      default:
        // string, date (YYYY-MM-DD), and user or resource ids (comma-separated).
        return (
          <Group gap="xs">
            <TextInput
              aria-label={definition.name}
              value={text}
              onChange={(event) => setText(event.currentTarget.value)}
              placeholder={definition.value_type === 'date' ? 'YYYY-MM-DD' : undefined}
              w={260}
            />
            <Button
              size="xs"
              variant="light"
              disabled={busy}
              onClick={() => {
                const trimmed = text.trim()
                if (trimmed === '') return onSave(null)
                if (definition.value_type === 'user' || definition.value_type === 'resource') {
                  return onSave(
                    trimmed
                      .split(',')
                      .map((id) => id.trim())
                      .filter((id) => id !== ''),
                  )
                }
                return onSave(definition.value_type === 'date' ? trimmed : text)
              }}
            >
              Save
            </Button>
          </Group>
        )
    }
  })()
  return (
    <Stack gap={2}>
      {input}
      {problem !== undefined && (
        <Text size="xs" c="red" role="alert">
          {problem}
        </Text>
      )}
    </Stack>
  )
}

/**
 * The workspace's custom properties that apply to this kind of resource (CONTRACT §10): their values, and for
 * writers an input each, saved with If-Match; the server checks every value against its type.
 */
export function CustomProperties({
  answer,
  onSaved,
}: {
  answer: Answer<Resource>
  onSaved: (next: Answer<Resource>) => void
}) {
  const resource = answer.data
  const definitions = useQuery({
    queryKey: ['custom-properties'],
    queryFn: () => api<Definition[]>('/resource/all_v2/custom_properties'),
    staleTime: 60_000,
  })
  const [busy, setBusy] = useState(false)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const values = resource.custom_properties ?? {}
  const list = (definitions.data?.data ?? []).filter((d) => applies(d, resource.entity_type))
  if (definitions.isPending) return <Loader size="xs" role="status" aria-label="Loading properties" />
  if (definitions.isError) {
    return (
      <Alert color="red" role="alert">
        The custom properties could not be read: {(definitions.error as Error).message}
      </Alert>
    )
  }
  const writable = resource.current_user_permissions.write
  // Values of properties this page cannot list (none, usually) still show.
  const unlisted = Object.keys(values).filter((name) => !list.some((d) => d.name === name))
  if (list.length === 0 && unlisted.length === 0) return null
  const save = async (name: string, value: unknown) => {
    setBusy(true)
    setNotice(undefined)
    const before = JSON.stringify(values[name] ?? null)
    try {
      // Another field changed, not this property: saved again over the new version.
      const outcome = await patchResource(
        resource.id,
        { custom_properties: { [name]: value } },
        answer.etag,
        (current) => JSON.stringify(current.custom_properties?.[name] ?? null) === before,
      )
      if ('saved' in outcome) onSaved(outcome.saved)
      else {
        onSaved(outcome.conflict)
        setNotice(`Someone changed ${name} meanwhile: nothing was saved, and the page now shows its value.`)
      }
    } catch (failure) {
      setNotice(failure instanceof ApiFailure ? (failure.errors[0]?.message ?? failure.detail) : 'Saving failed.')
    } finally {
      setBusy(false)
    }
  }
  return (
    <Stack gap="xs">
      <Title order={2} size="h4">
        Properties
      </Title>
      <Table withTableBorder w="auto" maw={760}>
        <Table.Tbody>
          {list.map((definition) => (
            <Table.Tr key={definition.id}>
              <Table.Th scope="row">{definition.name}</Table.Th>
              <Table.Td>
                {writable ? (
                  <ValueInput
                    key={definition.id}
                    definition={definition}
                    value={values[definition.name]}
                    busy={busy}
                    onSave={(value) => void save(definition.name, value)}
                  />
                ) : (
                  <Text size="sm">{shown(definition, values[definition.name]) || '—'}</Text>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
          {unlisted.map((name) => (
            <Table.Tr key={name}>
              <Table.Th scope="row">{name}</Table.Th>
              <Table.Td>
                <Text size="sm">{shown(undefined, values[name])}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {notice !== undefined && (
        <Alert color="yellow" role="alert">
          {notice}
        </Alert>
      )}
    </Stack>
  )
}
