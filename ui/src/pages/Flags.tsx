import { Alert, Group, Switch } from '@mantine/core'
import { useState } from 'react'
import { type Answer, ApiFailure, patchResource, type Resource } from '../api.ts'

const FLAGS = [
  { field: 'verified', label: 'Verified' },
  { field: 'pii', label: 'Holds PII' },
  { field: 'published', label: 'Published' },
] as const

/**
 * Verified, PII and published as switches for those who may write (saved at once, with If-Match: a switch flipped
 * on a resource someone changed meanwhile is not saved, and the page shows what it holds now).
 */
export function Flags({ answer, onSaved }: { answer: Answer<Resource>; onSaved: (next: Answer<Resource>) => void }) {
  const resource = answer.data
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState<string | undefined>(undefined)
  if (!resource.current_user_permissions.write) return null
  const flip = async (field: (typeof FLAGS)[number]['field'], value: boolean) => {
    setBusy(field)
    setNotice(undefined)
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
      setBusy(undefined)
    }
  }
  return (
    <>
      <Group>
        {FLAGS.map(({ field, label }) => (
          <Switch
            key={field}
            label={label}
            checked={resource[field]}
            disabled={busy !== undefined}
            onChange={(event) => void flip(field, event.currentTarget.checked)}
          />
        ))}
      </Group>
      {notice !== undefined && (
        <Alert color="yellow" role="alert">
          {notice}
        </Alert>
      )}
    </>
  )
}
