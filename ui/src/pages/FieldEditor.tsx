import { Alert, Button, Group, Loader, Paper, SegmentedControl, Stack, Text, Textarea, Title } from '@mantine/core'
import { lazy, Suspense, useState } from 'react'
import { type Answer, ApiFailure, patchResource, type Resource } from '../api.ts'
import { useUnsavedGuard } from '../drafts.ts'

const Markdown = lazy(() => import('./Markdown.tsx'))

type Field = 'description' | 'definition'

function Shown({ text, markdown, testId }: { text: string; markdown: boolean; testId: string }) {
  if (!markdown) {
    return (
      <Text style={{ whiteSpace: 'pre-wrap' }} data-testid={testId}>
        {text}
      </Text>
    )
  }
  return (
    <Suspense fallback={<Loader size="xs" role="status" aria-label="Rendering" />}>
      <div data-testid={testId}>
        <Markdown text={text} />
      </div>
    </Suspense>
  )
}

/**
 * A text field of a resource edited in place (the description; the definition as Markdown, with a preview). The
 * save sends the ETag the editor started from (If-Match): when someone else saved meanwhile, the server answers
 * 412, nothing is overwritten, and the person sees the current text beside theirs and chooses.
 */
export function FieldEditor({
  answer,
  field,
  title,
  empty,
  markdown = false,
  onSaved,
}: {
  answer: Answer<Resource>
  field: Field
  title: string
  empty: string
  markdown?: boolean
  onSaved: (next: Answer<Resource>) => void
}) {
  const resource = answer.data
  const [draft, setDraft] = useState<string | undefined>(undefined)
  const [base, setBase] = useState<string | null>(null)
  // The field's text when editing started (or when the person last saw someone else's): only a change to it is
  // a conflict; a change to another field (a switch flipped, an owner added) is not.
  const [origin, setOrigin] = useState('')
  const [conflict, setConflict] = useState<Resource | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [saving, setSaving] = useState(false)
  const [mode, setMode] = useState('write')
  const testId = field === 'description' ? 'description' : 'definition'
  // Leaving the page with unsaved text asks first.
  const unsaved = draft !== undefined && draft !== origin
  useUnsavedGuard(unsaved)
  const save = async (etag: string | null, against = origin) => {
    setSaving(true)
    setError(undefined)
    try {
      // Something else changed, not this field: saved again over the new version.
      const outcome = await patchResource(
        resource.id,
        { [field]: draft },
        etag,
        (current) => current[field] === against,
      )
      if ('saved' in outcome) {
        setDraft(undefined)
        setConflict(undefined)
        onSaved(outcome.saved)
      } else {
        const current = outcome.conflict
        onSaved(current)
        setConflict(current.data)
        setBase(current.etag)
        setOrigin(current.data[field])
      }
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.detail : 'Saving failed: try again.')
    } finally {
      setSaving(false)
    }
  }
  const value = resource[field]
  if (draft === undefined) {
    return (
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={2} size="h4">
            {title}
          </Title>
          {resource.current_user_permissions.write && (
            <Button
              size="xs"
              variant="light"
              onClick={() => {
                setDraft(value)
                setBase(answer.etag)
                setOrigin(value)
                setMode('write')
              }}
            >
              Edit {title.toLowerCase()}
            </Button>
          )}
        </Group>
        {value === '' ? (
          <Text c="dimmed" data-testid={testId}>
            {empty}
          </Text>
        ) : (
          <Shown text={value} markdown={markdown} testId={testId} />
        )}
      </Stack>
    )
  }
  return (
    <Stack gap="xs" data-unsaved={unsaved ? 'true' : undefined}>
      <Group justify="space-between">
        <Title order={2} size="h4">
          {title}
        </Title>
        {markdown && (
          <SegmentedControl
            size="xs"
            aria-label="Write or preview"
            value={mode}
            onChange={setMode}
            data={[
              { label: 'Write', value: 'write' },
              { label: 'Preview', value: 'preview' },
            ]}
          />
        )}
      </Group>
      {conflict !== undefined && (
        <Alert
          color="yellow"
          title="Someone else changed this while you were editing"
          role="alert"
          data-testid="conflict"
        >
          <Text size="sm">Nothing was overwritten. It now reads:</Text>
          <Paper withBorder p="xs" my="xs">
            <Text size="sm" style={{ whiteSpace: 'pre-wrap' }} data-testid={`their-${testId}`}>
              {conflict[field] === '' ? '(empty)' : conflict[field]}
            </Text>
          </Paper>
          <Text size="sm">Your text is kept below: save it over theirs, or discard it.</Text>
        </Alert>
      )}
      {mode === 'preview' && markdown ? (
        <Paper withBorder p="sm">
          <Shown text={draft === '' ? '_Nothing written yet._' : draft} markdown testId={`${testId}-preview`} />
        </Paper>
      ) : (
        <Textarea
          aria-label={title}
          value={draft}
          onChange={(event) => setDraft(event.currentTarget.value)}
          autosize
          minRows={markdown ? 6 : 3}
          styles={markdown ? { input: { fontFamily: 'monospace' } } : undefined}
        />
      )}
      {error !== undefined && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      <Group>
        <Button size="xs" loading={saving} onClick={() => void save(base)}>
          {conflict === undefined ? 'Save' : 'Save mine over theirs'}
        </Button>
        <Button
          size="xs"
          variant="default"
          onClick={() => {
            setDraft(undefined)
            setConflict(undefined)
          }}
        >
          {conflict === undefined ? 'Cancel' : 'Discard mine'}
        </Button>
      </Group>
    </Stack>
  )
}
