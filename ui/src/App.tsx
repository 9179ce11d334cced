import { Anchor, AppShell, Badge, Burger, Button, Center, Group, Loader, Menu, Modal, TextInput } from '@mantine/core'
import { lazy, Suspense, useEffect, useState } from 'react'
import { Link, Route, Switch, useLocation, useSearch } from 'wouter'
import { mayLeave } from './drafts.ts'
import { whenSessionEnds } from './ended.ts'
import { BrowsePage } from './pages/Browse.tsx'
import { ResourcePage } from './pages/Resource.tsx'
import { SearchPage } from './pages/Search.tsx'
import { SignInForm, SignInPage } from './pages/SignIn.tsx'
import { useSession } from './session.tsx'

const AdminPage = lazy(() => import('./pages/Admin.tsx'))
const Tree = lazy(() => import('./pages/Tree.tsx'))
const KnowledgePage = lazy(() => import('./pages/Knowledge.tsx'))

/** The search box on every page: typing goes to the search page, which searches as the person types. */
function SearchBox() {
  const [location, navigate] = useLocation()
  const params = new URLSearchParams(useSearch())
  const [text, setText] = useState(location === '/search' ? (params.get('q') ?? '') : '')
  useEffect(() => {
    if (location !== '/search') setText('')
  }, [location])
  return (
    <TextInput
      aria-label="Search the catalog"
      placeholder="Search tables, columns, terms…"
      value={text}
      w={{ base: 160, sm: 360 }}
      onChange={(event) => {
        const value = event.currentTarget.value
        // Typing leaves the page for the search: unsaved text on it is asked about first.
        if (location !== '/search' && !mayLeave()) return
        setText(value)
        navigate(`/search?q=${encodeURIComponent(value)}`, { replace: location === '/search' })
      }}
    />
  )
}

export function App() {
  const session = useSession()
  const [, navigate] = useLocation()
  // The tree beside the page: open by default on a wide window.
  const [tree, setTree] = useState(() => window.matchMedia('(min-width: 62em)').matches)
  const [location] = useLocation()
  // On a narrow window the tree covers the page: going somewhere closes it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the effect is for each change of location
  useEffect(() => {
    if (!window.matchMedia('(min-width: 62em)').matches) setTree(false)
  }, [location])
  useEffect(() => whenSessionEnds(session.ended), [session.ended])
  if (session.user === undefined) {
    return (
      <Center h="100vh">
        <Loader role="status" aria-label="Loading" />
      </Center>
    )
  }
  if (session.user === null) return <SignInPage />
  const user = session.user
  const expired = (
    <Modal
      opened={session.expired}
      onClose={() => {}}
      withCloseButton={false}
      closeOnClickOutside={false}
      closeOnEscape={false}
      title="Your session has ended"
    >
      <SignInForm intro="Sign in again to go on: this page, and anything you were writing, is kept." />
    </Modal>
  )
  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 260, breakpoint: 'md', collapsed: { mobile: !tree, desktop: !tree } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap">
            <Burger
              opened={tree}
              onClick={() => setTree(!tree)}
              size="sm"
              aria-label="Catalog tree"
              aria-expanded={tree}
              aria-controls="catalog-tree"
            />
            <Anchor component={Link} href="/" fw={700} size="lg" underline="never">
              docent
            </Anchor>
            <SearchBox />
          </Group>
          <Group wrap="nowrap" gap="xs">
            <Badge variant="light" visibleFrom="sm">
              {user.email} · {user.role}
            </Badge>
            <Menu position="bottom-end">
              <Menu.Target>
                <Button variant="subtle" size="xs">
                  Menu
                </Button>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item onClick={() => navigate('/')}>Browse</Menu.Item>
                <Menu.Item onClick={() => navigate('/knowledge')}>Knowledge</Menu.Item>
                <Menu.Item onClick={() => navigate('/settings')}>Settings</Menu.Item>
                <Menu.Item hiddenFrom="sm" onClick={() => void session.signOut()}>
                  Sign out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
            <Button variant="subtle" size="xs" visibleFrom="sm" onClick={() => void session.signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" style={{ overflowY: 'auto' }} id="catalog-tree">
        {tree && (
          <Suspense fallback={<Loader size="xs" role="status" aria-label="Loading" />}>
            <Tree />
          </Suspense>
        )}
      </AppShell.Navbar>
      <AppShell.Main>
        {expired}
        <Switch>
          <Route path="/" component={BrowsePage} />
          <Route path="/search" component={SearchPage} />
          <Route path="/r/:id">{(params) => <ResourcePage id={params.id} />}</Route>
          <Route path="/knowledge">
            <Suspense fallback={<Loader role="status" aria-label="Loading" />}>
              <KnowledgePage />
            </Suspense>
          </Route>
          <Route path="/settings">
            <Suspense fallback={<Loader role="status" aria-label="Loading" />}>
              <AdminPage />
            </Suspense>
          </Route>
          <Route>
            <BrowsePage />
          </Route>
        </Switch>
      </AppShell.Main>
    </AppShell>
  )
}
