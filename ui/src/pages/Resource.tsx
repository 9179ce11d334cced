import { Alert, Anchor, Badge, Breadcrumbs, Group, Loader, Stack, Table, Text, Title } from '@mantine/core'
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { lazy, Suspense, useState } from 'react'
import { Link } from 'wouter'
import { type Answer, ApiFailure, api, catalogPath, type Page, type Resource } from '../api.ts'
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
                <Text size="sm" lineClamp={2}>
                  {child.description}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {total_pages > 1 && <Pages total={total_pages} value={page} onChange={setPage} />}
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
      {resource.entity_type === 'question' ? <Replies question={resource} /> : <Children parent={resource} />}
      <Sources key={`sources ${resource.id}`} answer={found.data} onSaved={saved} />
      <Related resource={resource} />
      <Suspense fallback={<Loader role="status" aria-label="Loading lineage" />}>
        <Lineage key={`lineage ${resource.id}`} resource={resource} />
      </Suspense>
    </Stack>
  )
}
