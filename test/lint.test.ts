import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const ROOT = new URL('..', import.meta.url).pathname

// The layer rules of DEVELOPERS.md ("Layers") are enforced by `npm run lint`: each broken on purpose in a folder
// of its own under src/, and Biome must name every one.
test('npm run lint refuses an import cycle, a route importing a route file, HTTP in a repository, SQL in a route and a lower layer importing a higher one', () => {
  const dir = join(ROOT, 'src', `lint-probe-${process.pid}`)
  const upward = {
    http: join(ROOT, 'src', 'http', `lint-probe-${process.pid}.ts`),
    db: join(ROOT, 'src', 'db', `lint-probe-${process.pid}.ts`),
  }
  mkdirSync(dir, { recursive: true })
  try {
    const files: Record<string, string> = {
      'a.ts': "import { b } from './b.ts'\nexport const a = () => b\n",
      'b.ts': "import type { a } from './a.ts'\nexport const b = 1\nexport type A = typeof a\n",
      'items-routes.ts':
        "import type { Kysely } from 'kysely'\nimport { other } from './other-routes.ts'\n" +
        "export const read = (db: Kysely<{ items: { id: string } }>) => db.selectFrom('items').selectAll()\n" +
        'export { other }\n',
      'other-routes.ts': 'export const other = 1\n',
      'repository.ts': "import type { FastifyInstance } from 'fastify'\nexport type App = FastifyInstance\n",
      'orders/routes.ts': "import { sql as raw } from 'kysely'\nexport const now = raw`select 1`\n",
      'orders/schema.ts': 'export const query = { sql: 1 }\n',
    }
    mkdirSync(join(dir, 'orders'))
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    // A lower layer reaching up into a feature folder.
    writeFileSync(upward.http, "export type { FieldName } from '../catalog/fields.ts'\n")
    writeFileSync(upward.db, "export type { Principal } from '../access/principal.ts'\n")
    const run = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'biome'),
      ['lint', '--max-diagnostics=50', dir, upward.http, upward.db],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
    const output = `${run.stdout}${run.stderr}`
    assert.notEqual(run.status, 0, output)
    const found = (file: string, rule: string) =>
      output.split('\n').some((line) => line.includes(`${file}:`) && line.includes(rule))
    assert.ok(found('a.ts', 'noImportCycles') && found('b.ts', 'noImportCycles'), `no cycle reported:\n${output}`)
    assert.ok(found('items-routes.ts', 'noRestrictedImports'), `route importing a route file not reported:\n${output}`)
    assert.ok(found('items-routes.ts', 'plugin'), `SQL in a route file not reported:\n${output}`)
    assert.ok(found('orders/routes.ts', 'noRestrictedImports'), `sql imported by a routes.ts not reported:\n${output}`)
    assert.ok(!found('orders/schema.ts', ''), `a key named sql outside a route reported:\n${output}`)
    assert.ok(found('repository.ts', 'noRestrictedImports'), `Fastify in a repository not reported:\n${output}`)
    assert.ok(found(`http/lint-probe-${process.pid}.ts`, 'noRestrictedImports'), `http/ importing catalog/:\n${output}`)
    assert.ok(found(`db/lint-probe-${process.pid}.ts`, 'noRestrictedImports'), `db/ importing access/:\n${output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    for (const file of Object.values(upward)) rmSync(file, { force: true })
  }
})
