import '@xyflow/react/dist/style.css'
import { Alert, Anchor, Button, Group, List, Loader, SegmentedControl, Select, Stack, Text, Title } from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Background, Controls, type Edge, MarkerType, type Node, Position, ReactFlow } from '@xyflow/react'
import { useMemo, useState } from 'react'
import { Link, useLocation } from 'wouter'
import { ApiFailure, api, catalogPath, type Page, type Resource } from '../api.ts'

interface Graph {
  nodes: Resource[]
  edges: { from: string; to: string; is_manual: boolean }[]
  truncated: boolean
}

/**
 * Walks the edges from `center` one way (down: what it feeds; up: what feeds it), noting in `reached` each node
 * not yet there with its hops times `sign`; nodes already in `reached` are not walked through.
 */
function walk(
  edges: Graph['edges'],
  center: string,
  way: 'up' | 'down',
  reached: Map<string, number>,
  sign = 1,
  maxHops = Number.POSITIVE_INFINITY,
): void {
  let frontier = [center]
  for (let hop = 1; frontier.length > 0 && hop <= maxHops; hop++) {
    const next: string[] = []
    for (const edge of edges) {
      const [near, far] = way === 'down' ? [edge.from, edge.to] : [edge.to, edge.from]
      if (frontier.includes(near) && !reached.has(far)) {
        reached.set(far, sign * hop)
        next.push(far)
      }
    }
    frontier = next
  }
}

/**
 * Columns by hops: what feeds the resource to its left (one column a hop), what it feeds to its right. A node
 * reached both ways sits where it was reached first.
 */
function layout(center: string, graph: Graph): { nodes: Node[]; edges: Edge[] } {
  const level = new Map<string, number>([[center, 0]])
  walk(graph.edges, center, 'down', level, 1, 10)
  walk(graph.edges, center, 'up', level, -1, 10)
  const rows = new Map<number, number>()
  const nodes: Node[] = graph.nodes.map((resource) => {
    const column = level.get(resource.id) ?? 0
    const row = rows.get(column) ?? 0
    rows.set(column, row + 1)
    return {
      id: resource.id,
      position: { x: column * 240, y: row * 70 },
      data: { label: `${resource.title} · ${resource.entity_type}` },
      // Data flows left to right.
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      style: resource.id === center ? { fontWeight: 700, borderWidth: 2 } : undefined,
    }
  })
  const edges: Edge[] = graph.edges.map((edge) => ({
    id: `${edge.from}>${edge.to}`,
    source: edge.from,
    target: edge.to,
    markerEnd: { type: MarkerType.ArrowClosed },
    animated: !edge.is_manual,
  }))
  return { nodes, edges }
}

/**
 * The graph as lists, for the keyboard and screen readers (the drawing is for the eye): what feeds the resource
 * and what it feeds, nearest first, each a link to its page.
 */
function Neighbours({ center, graph }: { center: string; graph: Graph }) {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]))
  const ways = (['up', 'down'] as const).map((way) => {
    const hops = new Map<string, number>([[center, 0]])
    walk(graph.edges, center, way, hops)
    hops.delete(center)
    return {
      way,
      found: [...hops].flatMap(([id, hop]) => (byId.has(id) ? [{ node: byId.get(id) as Resource, hop }] : [])),
    }
  })
  return (
    <Group align="start" gap="xl" data-testid="lineage-lists">
      {ways.map(({ way, found }) => (
        <Stack gap={4} key={way} miw={240}>
          <Text size="sm" fw={500} id={`lineage-${way}`}>
            {way === 'up' ? 'Upstream (feeds this)' : 'Downstream (reads from this)'}
          </Text>
          {found.length === 0 ? (
            <Text size="sm" c="dimmed">
              Nothing
            </Text>
          ) : (
            <List size="sm" aria-labelledby={`lineage-${way}`}>
              {found.map(({ node, hop }) => (
                <List.Item key={node.id}>
                  <Anchor component={Link} href={`/r/${node.id}`}>
                    {node.title_full || node.title}
                  </Anchor>{' '}
                  <Text span size="xs" c="dimmed">
                    {node.entity_type} · {hop === 1 ? '1 hop' : `${hop} hops`}
                  </Text>
                </List.Item>
              ))}
            </List>
          )}
        </Stack>
      ))}
    </Group>
  )
}

/** Draw an edge by hand: this resource feeds another, or is fed by it; the other is found by search. */
function DrawEdge({ resource, onDrawn }: { resource: Resource; onDrawn: () => void }) {
  const [way, setWay] = useState<'DOWNSTREAM' | 'UPSTREAM'>('DOWNSTREAM')
  const [text, setText] = useState('')
  const [debounced] = useDebouncedValue(text.trim(), 150)
  const [other, setOther] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [saving, setSaving] = useState(false)
  const found = useQuery({
    queryKey: ['lineage-pick', debounced],
    queryFn: () => api<Page<Resource>>(catalogPath({ searchTerm: debounced, pageSize: 20 })),
    enabled: debounced.length > 0,
  })
  const options = (found.data?.data.results ?? [])
    .filter((r) => r.id !== resource.id)
    .map((r) => ({ value: r.id, label: `${r.title_full} (${r.entity_type})` }))
  const draw = async () => {
    if (other === null) return
    setSaving(true)
    setError(undefined)
    try {
      await api('/lineage/manual', {
        method: 'POST',
        body: { from_entity: resource.id, to_entity: other, direction: way },
      })
      setOther(null)
      setText('')
      onDrawn()
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.detail : 'Drawing the edge failed: try again.')
    } finally {
      setSaving(false)
    }
  }
  return (
    <Stack gap="xs">
      <Group align="end" wrap="wrap">
        <SegmentedControl
          aria-label="Direction"
          value={way}
          onChange={(value) => setWay(value as 'DOWNSTREAM' | 'UPSTREAM')}
          data={[
            { label: `${resource.title} feeds…`, value: 'DOWNSTREAM' },
            { label: `${resource.title} is fed by…`, value: 'UPSTREAM' },
          ]}
        />
        <Select
          label="Other resource"
          placeholder="Search by name"
          searchable
          searchValue={text}
          onSearchChange={setText}
          data={options}
          value={other}
          onChange={setOther}
          filter={({ options: all }) => all}
          nothingFoundMessage={debounced === '' ? 'Type a name' : 'Nothing found'}
          w={320}
        />
        <Button onClick={() => void draw()} disabled={other === null} loading={saving}>
          Draw edge
        </Button>
      </Group>
      {error !== undefined && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
    </Stack>
  )
}

/** The resource's lineage, upstream and downstream, a few hops (deeper on request); drawable by writers. */
export default function Lineage({ resource }: { resource: Resource }) {
  const client = useQueryClient()
  const [, navigate] = useLocation()
  const [depth, setDepth] = useState('2')
  const graph = useQuery({
    queryKey: ['lineage', resource.id, depth],
    queryFn: () => api<Graph>(`/lineage/graph/${resource.id}?direction=both&depth=${depth}`),
  })
  const drawn = useMemo(
    () => (graph.data === undefined ? undefined : layout(resource.id, graph.data.data)),
    [graph.data, resource.id],
  )
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Title order={2} size="h4">
          Lineage
        </Title>
        <SegmentedControl
          aria-label="Hops shown"
          size="xs"
          value={depth}
          onChange={setDepth}
          data={[
            { label: '1 hop', value: '1' },
            { label: '2 hops', value: '2' },
            { label: '4 hops', value: '4' },
          ]}
        />
      </Group>
      {graph.isPending && <Loader role="status" aria-label="Loading lineage" />}
      {graph.isError && (
        <Alert color="red" role="alert">
          {(graph.error as Error).message}
        </Alert>
      )}
      {drawn !== undefined &&
        (drawn.edges.length === 0 ? (
          <Text c="dimmed" data-testid="no-lineage">
            No lineage yet: nothing is known to feed this or to read from it.
          </Text>
        ) : (
          <div style={{ height: 320, border: '1px solid var(--mantine-color-gray-3)' }} data-testid="lineage-graph">
            <ReactFlow
              nodes={drawn.nodes}
              edges={drawn.edges}
              fitView
              nodesConnectable={false}
              onNodeClick={(_event, node) => navigate(`/r/${node.id}`)}
              // The lists below are the way through by keyboard: the drawing's nodes are not tab stops.
              nodesFocusable={false}
              edgesFocusable={false}
              proOptions={{ hideAttribution: true }}
            >
              <Background />
              <Controls showInteractive={false} />
            </ReactFlow>
          </div>
        ))}
      {drawn !== undefined && drawn.edges.length > 0 && graph.data !== undefined && (
        <Neighbours center={resource.id} graph={graph.data.data} />
      )}
      {graph.data?.data.truncated && <Text size="sm">Only the nearest 1,000 are shown.</Text>}
      {resource.current_user_permissions.write && (
        <DrawEdge
          resource={resource}
          onDrawn={() => void client.invalidateQueries({ queryKey: ['lineage', resource.id] })}
        />
      )}
    </Stack>
  )
}
