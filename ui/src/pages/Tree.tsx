import { Button, Loader, NavLink, Text } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Link, useLocation } from 'wouter'
import { api, catalogPath, type Page, type Resource } from '../api.ts'

const PAGE = 50
/** What is under each kind, by the typed list that counts it all; a table's columns are shown on its page. */
const UNDER: Record<string, string> = { database: '/database/schemas', schema: '/table/tables' }

/** One level of the tree: the first 50 children, then 50 more at a time on request. */
function Level({ parent }: { parent: Resource | undefined }) {
  const [pages, setPages] = useState(1)
  const list = useQuery({
    queryKey: ['tree', parent?.id ?? 'top', pages],
    queryFn: () => {
      if (parent === undefined) {
        return api<Page<Resource>>(catalogPath({ entityType: 'database', pageSize: PAGE * pages }))
      }
      return api<Page<Resource>>(`${UNDER[parent.entity_type]}?parent_id=${parent.id}&page_size=${PAGE * pages}`)
    },
  })
  if (list.isPending) return <Loader size="xs" m="xs" role="status" aria-label="Loading" />
  if (list.isError) {
    return (
      <Text size="xs" c="red" m="xs">
        Could not load this level.
      </Text>
    )
  }
  const { results, count } = list.data.data
  if (results.length === 0) {
    return (
      <Text size="xs" c="dimmed" ml="md">
        Empty
      </Text>
    )
  }
  return (
    <>
      {results.map((child) => (
        <Node key={child.id} resource={child} />
      ))}
      {results.length < count && (
        <Button variant="subtle" size="compact-xs" ml="md" onClick={() => setPages(pages + 1)}>
          {(count - results.length).toLocaleString('en')} more…
        </Button>
      )}
    </>
  )
}

function Node({ resource }: { resource: Resource }) {
  const [location] = useLocation()
  const [open, setOpen] = useState(false)
  const branch = UNDER[resource.entity_type] !== undefined
  const href = `/r/${resource.id}`
  if (!branch) {
    return <NavLink component={Link} href={href} label={resource.title} active={location === href} py={4} />
  }
  // Opening a branch also opens its page: one click, one place.
  return (
    <NavLink
      component={Link}
      href={href}
      label={resource.title}
      description={resource.entity_type}
      opened={open}
      onClick={() => setOpen(!open)}
      active={location === href}
      childrenOffset="sm"
      py={4}
    >
      {open && <Level parent={resource} />}
    </NavLink>
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
