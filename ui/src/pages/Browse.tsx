import { Alert, Loader, Stack, Text, Title } from '@mantine/core'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { api, catalogPath, type Page, type Resource } from '../api.ts'
import { Pages } from './Pages.tsx'
import { ResultList } from './ResultList.tsx'

/** The top of the tree: the catalog's databases, most used first; each opens onto its schemas and tables. */
export function BrowsePage() {
  const [page, setPage] = useState(1)
  const databases = useQuery({
    queryKey: ['databases', page],
    queryFn: () => api<Page<Resource>>(catalogPath({ entityType: 'database', page, pageSize: 25 })),
    placeholderData: keepPreviousData,
  })
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        Databases
      </Title>
      {databases.isPending && <Loader role="status" aria-label="Loading" />}
      {databases.isError && (
        <Alert color="red" role="alert">
          {(databases.error as Error).message}
        </Alert>
      )}
      {databases.data !== undefined &&
        (databases.data.data.count === 0 ? (
          <Text c="dimmed">
            The catalog is empty. An admin adds an integration and runs its sync (docs/api.md, “Extraction”), or creates
            resources through the API.
          </Text>
        ) : (
          <>
            <ResultList resources={databases.data.data.results} />
            {databases.data.data.total_pages > 1 && (
              <Pages total={databases.data.data.total_pages} value={page} onChange={setPage} />
            )}
          </>
        ))}
    </Stack>
  )
}
