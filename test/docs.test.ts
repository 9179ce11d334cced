import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ENGINES, type Harness, makeDatabase, makeResource, startHarness } from './helpers.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

/** The targets of the Markdown links `[text](target)` of a text. */
const linksOf = (text: string) => [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)

/**
 * The List Resources calls of the shell examples: each `curl … resource/catalog/` with its `--data-urlencode`
 * arguments, in single quotes (as written) or double quotes (with `\"` and the given variables replaced).
 */
function catalogExamples(text: string, variables: Record<string, string>): URLSearchParams[] {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  return blocks
    .flatMap((block) => block.split(/^(?=curl )/m))
    .filter((command) => command.startsWith('curl ') && command.includes('/resource/catalog/'))
    .map((command) => {
      const query = new URLSearchParams()
      for (const match of command.matchAll(/--data-urlencode (?:'([^']*)'|"((?:[^"\\]|\\.)*)")/g)) {
        const argument =
          match[1] ??
          (match[2] as string)
            .replace(/\\"/g, '"')
            .replace(/\$([A-Z_]+)/g, (_, name: string) => variables[name] ?? `$${name}`)
        const equals = argument.indexOf('=')
        query.append(argument.slice(0, equals), argument.slice(equals + 1))
      }
      return query
    })
}

describe('docs/api.md', () => {
  const text = read('docs/api.md')

  test('links only to files of the repository', () => {
    for (const target of linksOf(text)) {
      assert.doesNotMatch(target, /^[a-z]+:/i, `an outside link: ${target}`)
      const file = resolve(ROOT, 'docs', target.split('#')[0] as string)
      assert.ok(!relative(ROOT, file).startsWith('..'), `a link out of the repository: ${target}`)
      assert.ok(existsSync(file), `a link to a missing file: ${target}`)
    }
  })

  test('names no path outside the repository and no web page but the local server of its examples', () => {
    assert.doesNotMatch(text, /\.\.\//, 'a path that leaves the repository')
    for (const url of text.match(/https?:\/\/[^\s)`'"]+/g) ?? []) {
      assert.match(url, /^http:\/\/127\.0\.0\.1:8080\//, `a web address: ${url}`)
    }
  })
})

describe('README.md', () => {
  test('links to files of the repository that exist', () => {
    for (const target of linksOf(read('README.md')).filter((t) => !/^[a-z]+:/i.test(t))) {
      assert.ok(existsSync(resolve(ROOT, target.split('#')[0] as string)), `a link to a missing file: ${target}`)
    }
  })
})

for (const { engine, skip } of ENGINES) {
  describe(`the List Resources examples of README.md and docs/api.md, on ${engine}`, { skip }, () => {
    let h: Harness
    let databaseId: string
    before(async () => {
      h = await startHarness(engine)
      const database = await makeDatabase(h, { title: 'Sample Database' })
      databaseId = database.id
      const schema = await makeResource(h, { entityType: 'schema', title: 'sales', parentId: databaseId })
      const table = await makeResource(h, { entityType: 'table', title: 'customers', parentId: schema })
      const patched = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${table}`,
        body: { native_type: 'BASE TABLE', published: true },
      })
      assert.equal(patched.statusCode, 200, patched.body)
    })
    after(() => h?.close())

    test('each one answers 200 with the resources it describes', async () => {
      const examples = [
        ...catalogExamples(read('README.md'), { DATABASE: databaseId, TEAM: h.defaultTeamId }),
        ...catalogExamples(read('docs/api.md'), { DATABASE: databaseId, TEAM: h.defaultTeamId }),
      ]
      assert.ok(examples.length >= 9, `found ${examples.length} examples`)
      assert.ok(examples.filter((query) => query.has('search_term')).length >= 3, 'the search examples')
      for (const query of examples) {
        assert.ok(query.has('filter') || query.has('search_term'), query.toString())
        const response = await h.request({ method: 'GET', url: `/api/v1/resource/catalog/?${query}` })
        assert.equal(response.statusCode, 200, `${query}: ${response.body}`)
        const titles = response.json().results.map((r: { title: string }) => r.title)
        assert.ok(titles.length > 0, `no result for ${query}`)
        assert.ok(
          titles.every((title: string) => ['Sample Database', 'sales', 'customers'].includes(title)),
          `${query.get('filter')}: ${titles}`,
        )
      }
    })

    test("the reference's filter for databases finds the database and nothing else", async () => {
      const [first] = catalogExamples(read('docs/api.md'), {}).filter((query) => query.has('filter'))
      assert.ok(first !== undefined)
      const response = await h.request({ method: 'GET', url: `/api/v1/resource/catalog/?${first}` })
      assert.deepEqual(
        response.json().results.map((r: { id: string }) => r.id),
        [databaseId],
      )
    })
  })
}
