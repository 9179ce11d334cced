import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Loader,
  Modal,
  MultiSelect,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ApiFailure, api, type Page } from '../api.ts'
import { useSession } from '../session.tsx'

interface Key {
  id: string
  user: string
  description: string
  created_at: string
  last_used_at: string | null
}
interface User {
  id: string
  email: string
  first_name: string
  last_name: string
  role: string
  teams: string[]
}
interface Named {
  id: string
  name: string
}
interface UserGroup extends Named {
  users: string[]
}

const ROLES = ['admin', 'editor', 'viewer', 'guest']
interface Integration {
  id: string
  name: string
  type: string
}
interface Run {
  id: string
  status: string
  started_at: string | null
  finished_at: string | null
  counts: { created: number; updated: number; unchanged: number; staled: number }
  error: string | null
}

const failureText = (error: unknown) => (error instanceof ApiFailure ? error.detail : 'Something failed: try again.')

function Failure({ error }: { error: unknown }) {
  return (
    <Alert color="red" role="alert">
      {failureText(error)}
    </Alert>
  )
}

/** API keys: the caller's (an admin sees every key); a new key is shown once, then only its description. */
function Keys() {
  const client = useQueryClient()
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => api<Page<Key>>('/auth/api_keys?page_size=100') })
  const users = useQuery({ queryKey: ['users'], queryFn: () => api<Page<User>>('/user?page_size=100') })
  const [description, setDescription] = useState('')
  const [owner, setOwner] = useState<string | null>(null)
  const [made, setMade] = useState<string | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const email = (id: string) => users.data?.data.results.find((u) => u.id === id)?.email ?? id
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    try {
      const { data } = await api<{ key: string }>('/auth/api_keys', {
        method: 'POST',
        body: { description, ...(owner === null ? {} : { user: owner }) },
      })
      setMade(data.key)
      setDescription('')
      void client.invalidateQueries({ queryKey: ['keys'] })
    } catch (failure) {
      setError(failure)
    }
  }
  const revoke = async (id: string) => {
    setError(undefined)
    try {
      await api(`/auth/api_keys/${id}`, { method: 'DELETE' })
      void client.invalidateQueries({ queryKey: ['keys'] })
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <Stack>
      <form onSubmit={create}>
        <Group align="end">
          <TextInput label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
          <Select
            label="For"
            placeholder="Myself"
            clearable
            data={(users.data?.data.results ?? []).map((u) => ({ value: u.id, label: u.email }))}
            value={owner}
            onChange={setOwner}
          />
          <Button type="submit">Create key</Button>
        </Group>
      </form>
      {error !== undefined && <Failure error={error} />}
      <Modal
        opened={made !== undefined}
        onClose={() => setMade(undefined)}
        title="The new API key"
        closeButtonProps={{ 'aria-label': 'Close' }}
      >
        <Stack>
          <Text size="sm">Copy it now: it is shown this once, and docent keeps only its hash.</Text>
          <Code block data-testid="new-key">
            {made}
          </Code>
          <CopyButton value={made ?? ''}>
            {({ copied, copy }) => <Button onClick={copy}>{copied ? 'Copied' : 'Copy'}</Button>}
          </CopyButton>
        </Stack>
      </Modal>
      {keys.isPending ? (
        <Loader role="status" aria-label="Loading keys" />
      ) : keys.isError ? (
        <Failure error={keys.error} />
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Description</Table.Th>
              <Table.Th>User</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>Last used</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {keys.data.data.results.map((key) => (
              <Table.Tr key={key.id}>
                <Table.Td>{key.description || <Text c="dimmed">(none)</Text>}</Table.Td>
                <Table.Td>{email(key.user)}</Table.Td>
                <Table.Td>{key.created_at.slice(0, 16).replace('T', ' ')}</Table.Td>
                <Table.Td>{key.last_used_at?.slice(0, 16).replace('T', ' ') ?? 'never'}</Table.Td>
                <Table.Td>
                  <Button size="xs" color="red" variant="light" onClick={() => void revoke(key.id)}>
                    Revoke
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  )
}

function Users() {
  const client = useQueryClient()
  const users = useQuery({ queryKey: ['users'], queryFn: () => api<Page<User>>('/user?page_size=100') })
  const teams = useQuery({
    queryKey: ['named', '/auth/teams'],
    queryFn: () => api<Page<Named>>('/auth/teams?page_size=100'),
  })
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<string | null>('viewer')
  const [error, setError] = useState<unknown>(undefined)
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    try {
      await api('/user', { method: 'POST', body: { email, role } })
      setEmail('')
      void client.invalidateQueries({ queryKey: ['users'] })
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <Stack>
      <form onSubmit={create}>
        <Group align="end">
          <TextInput
            label="Email"
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
          />
          <Select label="Role" data={ROLES} value={role} onChange={setRole} allowDeselect={false} />
          <Button type="submit">Add user</Button>
        </Group>
      </form>
      {error !== undefined && <Failure error={error} />}
      {users.isPending ? (
        <Loader role="status" aria-label="Loading users" />
      ) : users.isError ? (
        <Failure error={users.error} />
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Teams</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.data.data.results.map((user) => (
              <UserRow key={user.id} user={user} teams={teams.data?.data.results ?? []} />
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  )
}

/**
 * One user: role and teams changed in place (PATCH /user/{id}); what the server refuses (the last admin made a
 * viewer, say) is said beside it and the row shows what is stored.
 */
function UserRow({ user, teams }: { user: User; teams: Named[] }) {
  const client = useQueryClient()
  const { user: me } = useSession()
  const [error, setError] = useState<unknown>(undefined)
  const [saving, setSaving] = useState(false)
  const save = async (body: Partial<User>) => {
    setError(undefined)
    setSaving(true)
    try {
      await api(`/user/${user.id}`, { method: 'PATCH', body })
    } catch (failure) {
      setError(failure)
    } finally {
      setSaving(false)
      void client.invalidateQueries({ queryKey: ['users'] })
    }
  }
  const name = `${user.first_name} ${user.last_name}`.trim()
  return (
    <Table.Tr>
      <Table.Td>{user.email}</Table.Td>
      <Table.Td>{name}</Table.Td>
      <Table.Td>
        <Select
          aria-label={`Role of ${user.email}`}
          data={ROLES}
          value={user.role}
          allowDeselect={false}
          // Taking away one's own admin role from here would lock the person out of this page.
          disabled={saving || user.id === me?.id}
          onChange={(role) => role !== null && role !== user.role && void save({ role })}
          w={120}
        />
        {error !== undefined && <Failure error={error} />}
      </Table.Td>
      <Table.Td>
        <MultiSelect
          aria-label={`Teams of ${user.email}`}
          data={[
            ...teams.map((team) => ({ value: team.id, label: team.name })),
            ...user.teams.filter((id) => !teams.some((t) => t.id === id)).map((id) => ({ value: id, label: id })),
          ]}
          value={user.teams}
          disabled={saving}
          onChange={(value) => void save({ teams: value })}
          placeholder={user.teams.length === 0 ? 'None' : undefined}
          w={260}
        />
      </Table.Td>
    </Table.Tr>
  )
}

/** Groups: each with its members, changed in place (PATCH /auth/group/{id} `users`). */
function Groups() {
  const client = useQueryClient()
  const groups = useQuery({
    queryKey: ['named', '/auth/group'],
    queryFn: () => api<Page<UserGroup>>('/auth/group?page_size=100'),
  })
  const users = useQuery({ queryKey: ['users'], queryFn: () => api<Page<User>>('/user?page_size=100') })
  const [error, setError] = useState<unknown>(undefined)
  const [saving, setSaving] = useState(false)
  const save = async (group: UserGroup, members: string[]) => {
    setError(undefined)
    setSaving(true)
    try {
      await api(`/auth/group/${group.id}`, { method: 'PATCH', body: { users: members } })
    } catch (failure) {
      setError(failure)
    } finally {
      setSaving(false)
      void client.invalidateQueries({ queryKey: ['named', '/auth/group'] })
    }
  }
  const people = users.data?.data.results ?? []
  return (
    <Stack>
      <NamedList path="/auth/group" noun="group" showList={false} />
      {error !== undefined && <Failure error={error} />}
      {groups.isPending ? (
        <Loader role="status" aria-label="Loading groups" />
      ) : groups.isError ? (
        <Failure error={groups.error} />
      ) : groups.data.data.count === 0 ? (
        <Text c="dimmed">None yet.</Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Group</Table.Th>
              <Table.Th>Members</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {groups.data.data.results.map((group) => (
              <Table.Tr key={group.id}>
                <Table.Td>{group.name}</Table.Td>
                <Table.Td>
                  <MultiSelect
                    aria-label={`Members of ${group.name}`}
                    data={[
                      ...people.map((person) => ({ value: person.id, label: person.email })),
                      ...group.users
                        .filter((id) => !people.some((p) => p.id === id))
                        .map((id) => ({ value: id, label: id })),
                    ]}
                    value={group.users}
                    disabled={saving}
                    searchable
                    onChange={(value) => void save(group, value)}
                    placeholder={group.users.length === 0 ? 'Nobody' : undefined}
                    w={420}
                  />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  )
}

/** Teams, groups and tags: a name each, listed and added the same way. */
function NamedList({ path, noun, showList = true }: { path: string; noun: string; showList?: boolean }) {
  const client = useQueryClient()
  const list = useQuery({ queryKey: ['named', path], queryFn: () => api<Page<Named>>(`${path}?page_size=100`) })
  const [name, setName] = useState('')
  const [error, setError] = useState<unknown>(undefined)
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    try {
      await api(path, { method: 'POST', body: { name } })
      setName('')
      void client.invalidateQueries({ queryKey: ['named', path] })
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <Stack>
      <form onSubmit={create}>
        <Group align="end">
          <TextInput label={`New ${noun}`} required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Button type="submit">Add {noun}</Button>
        </Group>
      </form>
      {error !== undefined && <Failure error={error} />}
      {!showList ? null : list.isPending ? (
        <Loader role="status" aria-label={`Loading ${noun}s`} />
      ) : list.isError ? (
        <Failure error={list.error} />
      ) : list.data.data.count === 0 ? (
        <Text c="dimmed">None yet.</Text>
      ) : (
        <Group gap="xs">
          {list.data.data.results.map((item) => (
            <Badge key={item.id} variant="outline" size="lg">
              {item.name}
            </Badge>
          ))}
        </Group>
      )}
    </Stack>
  )
}

/** One integration: its last runs, and a sync started from here whose progress is followed until it ends. */
function IntegrationRow({ integration }: { integration: Integration }) {
  const client = useQueryClient()
  const [error, setError] = useState<unknown>(undefined)
  const runs = useQuery({
    queryKey: ['runs', integration.id],
    queryFn: () => api<Page<Run>>(`/integration/integrations/${integration.id}/runs?page_size=1`),
    refetchInterval: (query) => {
      const last = query.state.data?.data.results[0]
      return last !== undefined && (last.status === 'queued' || last.status === 'running') ? 1000 : false
    },
  })
  const last = runs.data?.data.results[0]
  const sync = async () => {
    setError(undefined)
    try {
      await api(`/integration/integrations/${integration.id}/sync`, { method: 'POST' })
      void client.invalidateQueries({ queryKey: ['runs', integration.id] })
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <Table.Tr>
      <Table.Td>{integration.name}</Table.Td>
      <Table.Td>{integration.type}</Table.Td>
      <Table.Td data-testid={`run-${integration.name}`}>
        {last === undefined ? (
          <Text c="dimmed" size="sm">
            never synced
          </Text>
        ) : (
          <Text size="sm">
            {last.status}
            {last.status === 'succeeded' &&
              ` · ${last.counts.created} created, ${last.counts.updated} updated, ${last.counts.staled} gone`}
            {last.error !== null && ` · ${last.error}`}
          </Text>
        )}
        {error !== undefined && <Failure error={error} />}
      </Table.Td>
      <Table.Td>
        <Button size="xs" variant="light" onClick={() => void sync()}>
          Sync now
        </Button>
      </Table.Td>
    </Table.Tr>
  )
}

function Integrations() {
  const list = useQuery({
    queryKey: ['integrations'],
    queryFn: () => api<Page<Integration>>('/integration/integrations?page_size=100'),
  })
  if (list.isPending) return <Loader role="status" aria-label="Loading integrations" />
  if (list.isError) return <Failure error={list.error} />
  if (list.data.data.count === 0) {
    return <Text c="dimmed">No integrations yet: add one through the API (docs/api.md, “Extraction”).</Text>
  }
  return (
    <Table>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th>Type</Table.Th>
          <Table.Th>Last sync</Table.Th>
          <Table.Th>
            <VisuallyHidden>Actions</VisuallyHidden>
          </Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.data.data.results.map((integration) => (
          <IntegrationRow key={integration.id} integration={integration} />
        ))}
      </Table.Tbody>
    </Table>
  )
}

/** Settings for admins (others see their keys only); the server decides what each may do. */
export default function AdminPage() {
  const { user } = useSession()
  const admin = user?.role === 'admin'
  return (
    <Stack maw={1100}>
      <Title order={1} size="h3">
        Settings
      </Title>
      <Tabs defaultValue="keys" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="keys">API keys</Tabs.Tab>
          {admin && <Tabs.Tab value="users">Users</Tabs.Tab>}
          {admin && <Tabs.Tab value="teams">Teams</Tabs.Tab>}
          {admin && <Tabs.Tab value="groups">Groups</Tabs.Tab>}
          {admin && <Tabs.Tab value="tags">Tags</Tabs.Tab>}
          {admin && <Tabs.Tab value="integrations">Integrations</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="keys" pt="md">
          <Keys />
        </Tabs.Panel>
        <Tabs.Panel value="users" pt="md">
          <Users />
        </Tabs.Panel>
        <Tabs.Panel value="teams" pt="md">
          <NamedList path="/auth/teams" noun="team" />
        </Tabs.Panel>
        <Tabs.Panel value="groups" pt="md">
          <Groups />
        </Tabs.Panel>
        <Tabs.Panel value="tags" pt="md">
          <NamedList path="/tag" noun="tag" />
        </Tabs.Panel>
        <Tabs.Panel value="integrations" pt="md">
          <Integrations />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  )
}
