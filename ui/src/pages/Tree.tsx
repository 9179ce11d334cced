import { ActionIcon, Anchor, Box, Button, Group, Loader, Text } from '@mantine/core'
import { useInfiniteQuery } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { Link, useLocation } from 'wouter'
import { api, catalogPath, type Page, type Resource } from '../api.ts'

const PAGE = 50
/** What is under each kind, by the typed list that counts it all; a table's columns are shown on its page. */
const UNDER: Record<string, string> = { database: '/database/schemas', schema: '/table/tables' }

/** One level of the tree: the first 50 children, then 50 more at a time on request (already shown ones stay). */
function Level({ parent, id }: { parent: Resource | undefined; id?: string }) {
  const list = useInfiniteQuery({
    queryKey: ['tree', parent?.id ?? 'top'],
    initialPageParam: 1,
    queryFn: ({ pageParam }) =>
      parent === undefined
        ? api<Page<Resource>>(catalogPath({ entityType: 'database', page: pageParam, pageSize: PAGE }))
        : api<Page<Resource>>(
            `${UNDER[parent.entity_type]}?parent_id=${parent.id}&page_size=${PAGE}${pageParam > 1 ? `&page=${pageParam}` : ''}`,
          ),
    getNextPageParam: (last, pages) => (pages.length < last.data.total_pages ? pages.length + 1 : undefined),
  })
  if (list.isPending) return <Loader size="xs" m="xs" role="status" aria-label="Loading" />
  if (list.isError) {
    return (
      <Text size="xs" c="red" m="xs">
        Could not load this level.
      </Text>
    )
  }
  const results = list.data.pages.flatMap((page) => page.data.results)
  const count = list.data.pages[0]?.data.count ?? 0
  if (results.length === 0) {
    return (
      <Text size="xs" c="dimmed" ml="md">
        Empty
      </Text>
    )
  }
  return (
    <Box component="ul" id={id} p={0} m={0} style={{ listStyle: 'none' }}>
      {results.map((child) => (
        <Node key={child.id} resource={child} />
      ))}
      {list.hasNextPage && (
        <li>
          <Button
            variant="subtle"
            size="compact-xs"
            ml="md"
            loading={list.isFetchingNextPage}
            onClick={() => void list.fetchNextPage()}
          >
            {(count - results.length).toLocaleString('en')} more…
          </Button>
        </li>
      )}
    </Box>
  )
}

/** A resource of the tree: a link to its page, and (for a branch) a button that opens what is under it. */
function Node({ resource }: { resource: Resource }) {
  const [location] = useLocation()
  const [open, setOpen] = useState(false)
  const children = useId()
  const branch = UNDER[resource.entity_type] !== undefined
  const href = `/r/${resource.id}`
  return (
    <li>
      <Group gap={2} wrap="nowrap">
        {branch ? (
          <ActionIcon
            variant="subtle"
            size="sm"
            aria-expanded={open}
            aria-controls={children}
            aria-label={`${open ? 'Close' : 'Open'} ${resource.title}`}
            onClick={() => setOpen(!open)}
          >
            {open ? '▾' : '▸'}
          </ActionIcon>
        ) : (
          <Box w={22} />
        )}
        <Anchor
          component={Link}
          href={href}
          size="sm"
          fw={location === href ? 700 : undefined}
          aria-current={location === href ? 'page' : undefined}
          style={{ whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' }}
        >
          {resource.title}
        </Anchor>
      </Group>
      {branch && open && (
        <Box pl="sm">
          <Level parent={resource} id={children} />
        </Box>
      )}
    </li>
  )
}

/** The catalog as a tree: databases, their schemas, their tables, each level loaded when opened. */
export default function Tree() {
  return (
    <nav aria-label="Catalog tree">
      <Level parent={undefined} />
    </nav>
  )
}
