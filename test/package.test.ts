import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

// semver is what npm itself checks engines with; fastify depends on it, so it is always installed.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null
  satisfies(version: string, range: string): boolean
}

interface LockEntry {
  engines?: { node?: string }
}

const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockEntry>
}

describe('package-lock.json', () => {
  test('installs only packages that support the oldest Node version package.json accepts (no EBADENGINE)', () => {
    const ours = lock.packages['']?.engines?.node
    assert.ok(ours !== undefined, 'package.json names the Node versions it supports')
    const oldest = semver.minVersion(ours)?.version
    assert.ok(oldest !== undefined)
    const refused = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.engines?.node !== undefined)
      .filter(([, entry]) => !semver.satisfies(oldest, entry.engines?.node as string))
      .map(([path, entry]) => `${path} needs node ${entry.engines?.node}`)
    assert.deepEqual(refused, [], `these do not run on Node ${oldest}`)
  })
})
