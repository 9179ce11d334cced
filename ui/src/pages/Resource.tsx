import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Breadcrumbs,
  Button,
  Group,
  Loader,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core'
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { lazy, Suspense, useEffect, useRef, useState } from 'react'
import { Link } from 'wouter'
import { type Answer, ApiFailure, api, catalogPath, type Page, patchResource, type Resource } from '../api.ts'
import { LEAVE_QUESTION, mayLeave, useUnsavedGuard } from '../drafts.ts'
import { CustomProperties } from './CustomProperties.tsx'
import { FieldEditor } from './FieldEditor.tsx'
import { Flags } from './Flags.tsx'
import { Pages } from './Pages.tsx'
import { Properties, Related } from './Properties.tsx'
import { Replies } from './Replies.tsx'
import { Sources } from './Sources.tsx'

const Lineage = lazy(() => import('./Lineage.tsx'))

const CHILD_PAGE = 50
/** The typed lists count every child (List Resources stops counting at 10,000, CONTRACT §5). */
const TYPED_CHILDREN: Record<string, string> = {
  database: '/database/schemas',
  schema: '/table/tables',
  table: '/table/columns',
}

/** The resources above this one, top first: each a GET by id (a path is at most a few levels deep). */
function useAncestors(resource: Resource | undefined) {
  return useQuery({
    queryKey: ['ancestors', resource?.id],
    enabled: resource !== undefined && resource.parent !== null,
    queryFn: async () => {
      const chain: Resource[] = []
      let next = resource?.parent ?? null
      while (next !== null && chain.length < 10) {
        const { data } = await api<Resource>(`/resource/all/${next}`)
        chain.unshift(data)
        next = data.parent
      }
      return chain
    },
  })
}

/**
 * A child's description in its row, edited in place by writers: the child is read when editing starts, and the
 * save carries its ETag, so a change made meanwhile by someone else is shown, never overwritten.
 */
function InlineDescription({ resource, onSaved }: { resource: Resource; onSaved: () => void }) {
  const [editing, setEditing] = useState<{ etag: string | null; origin: string } | undefined>(undefined)
  const [draft, setDraft] = useState('')
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const changed = editing !== undefined && draft !== editing.origin
  const release = useUnsavedGuard(changed)
  const button = useRef<HTMLButtonElement>(null)
  // Closing the editor puts the keyboard back on its button, once the button is there again.
  const [refocus, setRefocus] = useState(false)
  useEffect(() => {
    if (refocus && editing === undefined) {
      button.current?.focus()
      setRefocus(false)
    }
  }, [refocus, editing])
  const close = () => {
    release()
    setEditing(undefined)
    setNotice(undefined)
    setRefocus(true)
  }
  const start = async () => {
    setBusy(true)
    setNotice(undefined)
    try {
      const current = await api<Resource>(`/resource/all/${resource.id}`)
      setEditing({ etag: current.etag, origin: current.data.description })
      setDraft(current.data.description)
    } catch (failure) {
      setNotice(failure instanceof ApiFailure ? failure.detail : 'Could not load it: try again.')
    } finally {
      setBusy(false)
    }
  }
  const save = async () => {
    if (editing === undefined) return
    setBusy(true)
    setNotice(undefined)
    try {
      const origin = editing.origin
      const outcome = await patchResource(
        resource.id,
        { description: draft },
        editing.etag,
        (current) => current.description === origin,
      )
      if ('saved' in outcome) {
        close()
        onSaved()
      } else {
        const current = outcome.conflict
        setEditing({ etag: current.etag, origin: current.data.description })
        setNotice(`Changed meanwhile to “${current.data.description}”. Save again to put yours over it.`)
      }
    } catch (failure) {
      setNotice(failure instanceof ApiFailure ? failure.detail : 'Saving failed: try again.')
    } finally {
      setBusy(false)
    }
  }
  if (editing === undefined) {
    return (
      <Group gap={4} wrap="nowrap" justify="space-between">
        <Text size="sm" lineClamp={2}>
          {resource.description}
        </Text>
        {resource.current_user_permissions.write && (
          <ActionIcon
            ref={button}
            variant="subtle"
            size="sm"
            aria-label={`Edit the description of ${resource.title}`}
            loading={busy}
            onClick={() => void start()}
          >
            ✎
          </ActionIcon>
        )}
        {notice !== undefined && (
          <Text size="xs" c="red.8" role="alert">
            {notice}
          </Text>
        )}
      </Group>
    )
  }
  return (
    <Stack gap={4}>
      <Textarea
        aria-label={`Description of ${resource.title}`}
        autosize
        minRows={1}
        value={draft}
        onChange={(event) => setDraft(event.currentTarget.value)}
        onKeyDown={(event) => {
          // Escape drops the text, asking first when there is some to lose.
          if (event.key === 'Escape' && (!changed || window.confirm(LEAVE_QUESTION))) close()
        }}
        autoFocus
      />
      {notice !== undefined && (
        <Text size="xs" c="orange.9" role="alert">
          {notice}
        </Text>
      )}
      <Group gap={4}>
        <Button size="compact-xs" onClick={() => void save()} loading={busy}>
          Save
        </Button>
        <Button size="compact-xs" variant="subtle" onClick={close} disabled={busy}>
          Cancel
        </Button>
      </Group>
    </Stack>
  )
}

/** What is under a resource, a page at a time: a table of 30,000 columns opens with its first 50. */
function Children({ parent }: { parent: Resource }) {
  const [page, setPage] = useState(1)
  const children = useQuery({
    queryKey: ['children', parent.id, page],
    queryFn: () => {
      const typed = TYPED_CHILDREN[parent.entity_type]
      return api<Page<Resource>>(
        typed === undefined
          ? catalogPath({
              filter: { operator: 'exact', field: 'parent_id', value: parent.id },
              page,
              pageSize: CHILD_PAGE,
            })
          : `${typed}?parent_id=${parent.id}&page_size=${CHILD_PAGE}${page > 1 ? `&page=${page}` : ''}`,
      )
    },
    placeholderData: keepPreviousData,
  })
  if (children.isPending) return <Loader role="status" aria-label="Loading what is under it" />
  if (children.isError) {
    return (
      <Alert color="red" role="alert">
        {(children.error as Error).message}
      </Alert>
    )
  }
  const { count, total_pages, results } = children.data.data
  if (count === 0) return null
  const columns = parent.entity_type === 'table'
  return (
    <Stack gap="xs">
      <Title order={2} size="h4">
        {columns ? 'Columns' : 'Contents'}{' '}
        <Text span c="dimmed" size="sm" data-testid="children-count">
          ({count.toLocaleString('en')}
          {count === 10_000 && TYPED_CHILDREN[parent.entity_type] === undefined ? '+' : ''})
        </Text>
      </Title>
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>{columns ? 'Type' : 'Kind'}</Table.Th>
            <Table.Th>Description</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {results.map((child) => (
            <Table.Tr key={child.id}>
              <Table.Td>
                <Anchor component={Link} href={`/r/${child.id}`}>
                  {child.title}
                </Anchor>
              </Table.Td>
              <Table.Td>{columns ? (child.type ?? child.native_type ?? '') : child.entity_type}</Table.Td>
              <Table.Td>
                <InlineDescription resource={child} onSaved={() => void children.refetch()} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {total_pages > 1 && <Pages total={total_pages} value={page} onChange={(next) => mayLeave() && setPage(next)} />}
    </Stack>
  )
}

export function ResourcePage({ id }: { id: string }) {
  const client = useQueryClient()
  const found = useQuery({ queryKey: ['resource', id], queryFn: () => api<Resource>(`/resource/all/${id}`) })
  const ancestors = useAncestors(found.data?.data)
  if (found.isPending) return <Loader role="status" aria-label="Loading" />
  if (found.isError) {
    const failure = found.error
    return (
      <Alert
        color="red"
        role="alert"
        title={failure instanceof ApiFailure && failure.status === 404 ? 'Not found' : 'Could not load'}
      >
        {failure instanceof ApiFailure && failure.status === 404
          ? 'There is no such resource, or you may not see it.'
          : (failure as Error).message}
      </Alert>
    )
  }
  const resource = found.data.data
  const saved = (next: Answer<Resource>) => client.setQueryData(['resource', id], next)
  return (
    <Stack maw={1100}>
      <nav aria-label="Path">
        <Breadcrumbs>
          <Anchor component={Link} href="/">
            Catalog
          </Anchor>
          {(ancestors.data ?? []).map((ancestor) => (
            <Anchor component={Link} href={`/r/${ancestor.id}`} key={ancestor.id}>
              {ancestor.title}
            </Anchor>
          ))}
          <Text span>{resource.title}</Text>
        </Breadcrumbs>
      </nav>
      <Group gap="xs">
        <Title order={1} size="h2">
          {resource.title}
        </Title>
        <Badge variant="light">{resource.entity_type}</Badge>
        {resource.native_type !== null && resource.native_type !== '' && (
          <Badge variant="outline" color="gray">
            {resource.native_type}
          </Badge>
        )}
        {resource.verified && <Badge color="#1b5e20">verified</Badge>}
        {resource.pii && <Badge color="orange">PII</Badge>}
        {!resource.published && <Badge color="gray">unpublished</Badge>}
        {resource.entity_type === 'question' && (
          <>
            <Badge color={resource.question_status === 'ANSWERED' ? '#1b5e20' : 'blue.8'} data-testid="question-status">
              {(resource.question_status ?? 'OPEN').toLowerCase()}
            </Badge>
            <Badge variant="outline">{(resource.question_priority ?? 'MEDIUM').toLowerCase()} priority</Badge>
          </>
        )}
      </Group>
      <Text size="sm" c="dimmed">
        {resource.title_full}
      </Text>
      <Flags key={`flags ${resource.id}`} answer={found.data} onSaved={saved} />
      <Properties key={`properties ${resource.id}`} answer={found.data} onSaved={saved} />
      <CustomProperties key={`custom ${resource.id}`} answer={found.data} onSaved={saved} />
      <FieldEditor
        key={`description ${resource.id}`}
        answer={found.data}
        field="description"
        title="Description"
        empty="No description yet."
        onSaved={saved}
      />
      <FieldEditor
        key={`definition ${resource.id}`}
        answer={found.data}
        field="definition"
        title="Documentation"
        empty="No documentation yet."
        markdown
        onSaved={saved}
      />
      {resource.entity_type === 'question' ? (
        <Replies key={`replies ${resource.id}`} question={resource} />
      ) : (
        <Children key={`children ${resource.id}`} parent={resource} />
      )}
      <Sources key={`sources ${resource.id}`} answer={found.data} onSaved={saved} />
      <Related resource={resource} />
      <Suspense fallback={<Loader role="status" aria-label="Loading lineage" />}>
        <Lineage key={`lineage ${resource.id}`} resource={resource} />
      </Suspense>
    </Stack>
  )
}
