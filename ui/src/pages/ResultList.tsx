import { Anchor, Badge, Group, Stack, Text } from '@mantine/core'
import { Link } from 'wouter'
import type { Resource } from '../api.ts'

/** Resources as a list a person scans: title, kind, path, the start of the description. */
export function ResultList({ resources }: { resources: Resource[] }) {
  return (
    <Stack gap="sm" component="ul" p={0} m={0} style={{ listStyle: 'none' }}>
      {resources.map((resource) => (
        <li key={resource.id}>
          <Group gap="xs" wrap="nowrap">
            <Anchor component={Link} href={`/r/${resource.id}`} fw={600}>
              {resource.title}
            </Anchor>
            <Badge size="sm" variant="light">
              {resource.entity_type}
            </Badge>
            {resource.native_type !== null && resource.native_type !== '' && (
              <Badge size="sm" variant="outline" color="gray">
                {resource.native_type}
              </Badge>
            )}
            {resource.verified && (
              <Badge size="sm" color="#1b5e20">
                verified
              </Badge>
            )}
            {resource.pii && (
              <Badge size="sm" color="orange">
                PII
              </Badge>
            )}
          </Group>
          <Text size="xs" c="dimmed">
            {resource.title_full}
          </Text>
          {resource.description !== '' && (
            <Text size="sm" lineClamp={2}>
              {resource.description}
            </Text>
          )}
        </li>
      ))}
    </Stack>
  )
}
