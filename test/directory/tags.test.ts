import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  collectionClient,
  countRows,
  ENGINES,
  type Harness,
  makeIntegration,
  makeKey,
  makeTag,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

const TAGS = '/api/v1/tag'
const DATABASES = '/api/v1/database/databases'
const FIELDS = ['id', 'name', 'description', 'color', 'integration_id', 'workspace_id', 'created_at', 'updated_at']
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type Tag = {
  id: string
  name: string
  description: string
  color: string | null
  integration_id: string | null
  created_at: string
}

for (const { engine, skip } of ENGINES) {
  describe(`tags on ${engine}`, { skip }, () => {
    let h: Harness
    let viewerKey: string
    before(async () => {
      h = await startHarness(engine)
      viewerKey = await makeKey(h, await makeUser(h, { role: 'viewer' }))
    })
    after(() => h?.close())

    const client = collectionClient(() => h, TAGS)
    const { list, get, post, patch, remove } = client
    const countTags = () => countRows(h, 'tags')
    const created = (body: Record<string, unknown>) => client.created<Tag>(body)

    describe('GET /tag', () => {
      test('lists the tags in the list envelope, ordered by name then id', async () => {
        const zeta = await created({ name: 'zeta' })
        const upper = await created({ name: 'Zeta' })
        const alpha = await created({ name: 'alpha' })
        const response = await list('?page_size=100')
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body), ['links', 'meta', 'count', 'total_pages', 'results'])
        assert.equal(body.count, body.results.length)
        const ids = body.results.map((t: Tag) => t.id)
        // Code-point order on both engines: upper case before lower case.
        assert.ok(ids.indexOf(upper.id) < ids.indexOf(alpha.id) && ids.indexOf(alpha.id) < ids.indexOf(zeta.id))
        for (const result of body.results) {
          assert.deepEqual(Object.keys(result), FIELDS)
        }
      })

      test("is open to a viewer and never lists another workspace's tags", async () => {
        const other = await makeWorkspace(h)
        const theirs = (await post({ name: 'Theirs' }, other.authorization)).json().id
        const response = await list('?page_size=100', viewerKey)
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(
          response.json().results.some((t: Tag) => t.id === theirs),
          false,
        )
        assert.deepEqual(
          (await list('', other.authorization)).json().results.map((t: Tag) => t.id),
          [theirs],
        )
      })
    })

    describe('POST /tag', () => {
      test('creates a tag and answers 201 with it', async () => {
        const integration = await makeIntegration(h)
        const response = await post({
          name: 'PII',
          description: 'Personal data',
          color: '#ff0000',
          integration_id: integration,
        })
        assert.equal(response.statusCode, 201, response.body)
        const tag = response.json()
        assert.deepEqual(Object.keys(tag), FIELDS)
        assert.equal(tag.name, 'PII')
        assert.equal(tag.description, 'Personal data')
        assert.equal(tag.color, '#ff0000')
        assert.equal(tag.integration_id, integration)
        assert.equal(tag.workspace_id, h.workspaceId)
        assert.match(tag.created_at, ISO_MS)
        assert.deepEqual((await get(tag.id)).json(), tag)
      })

      test('defaults description to empty, color and integration_id to null', async () => {
        const tag = await created({ name: 'Bare' })
        assert.equal(tag.description, '')
        assert.equal(tag.color, null)
        assert.equal(tag.integration_id, null)
      })

      test("returns 400 naming integration_id for an unknown or another workspace's integration", async () => {
        const other = await makeWorkspace(h)
        const theirs = await h.request({
          method: 'POST',
          url: '/api/v1/integration/integrations',
          body: { name: 'Theirs', type: 'postgres' },
          headers: { authorization: other.authorization },
        })
        const before = await countTags()
        assertFieldError(
          await post({ name: 'Bad', integration_id: randomUUID() }),
          'integration_id',
          /not an? integration/,
        )
        assertFieldError(await post({ name: 'Foreign', integration_id: theirs.json().id }), 'integration_id')
        assertFieldError(await post({ name: 'Malformed', integration_id: 'nope' }), 'integration_id')
        assert.equal(await countTags(), before)
      })

      test('returns 400 naming each wrong field', async () => {
        const before = await countTags()
        assertFieldError(await post({}), 'name', /required/)
        assertFieldError(await post({ name: '' }), 'name')
        assertFieldError(await post({ name: 'x'.repeat(256) }), 'name')
        assertFieldError(await post({ name: 'Loud', color: 'x'.repeat(33) }), 'color', /32/)
        assertFieldError(await post({ name: 'Loud', color: 5 }), 'color')
        assert.equal(await countTags(), before)
      })
    })

    describe('PATCH /tag/{id}', () => {
      test('changes the fields sent and nothing else; null clears color and integration_id', async () => {
        const integration = await makeIntegration(h)
        const tag = await created({ name: 'Before', color: 'red', integration_id: integration })
        const response = await patch(tag.id, { name: 'After' })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json(), { ...tag, name: 'After', updated_at: response.json().updated_at })
        const cleared = await patch(tag.id, { color: null, integration_id: null })
        assert.equal(cleared.statusCode, 200, cleared.body)
        assert.equal(cleared.json().color, null)
        assert.equal(cleared.json().integration_id, null)
        assert.deepEqual((await get(tag.id)).json(), cleared.json())
      })

      test('returns 400 for an unknown integration and changes nothing', async () => {
        const tag = await created({ name: 'Unchanged' })
        assertFieldError(await patch(tag.id, { name: 'Changed', integration_id: randomUUID() }), 'integration_id')
        assert.deepEqual((await get(tag.id)).json(), tag)
      })

      test('ignores unknown and read-only fields', async () => {
        const other = await makeWorkspace(h)
        const tag = await created({ name: 'Fixed' })
        const response = await patch(tag.id, {
          name: 'Fixed too',
          workspace_id: other.workspaceId,
          created_at: '2001-01-01T00:00:00.000Z',
          colour: 'blue',
        })
        assert.equal(response.statusCode, 200, response.body)
        const fetched = (await get(tag.id)).json()
        assert.equal(fetched.name, 'Fixed too')
        assert.equal(fetched.workspace_id, h.workspaceId)
        assert.equal(fetched.created_at, tag.created_at)
      })
    })

    describe('DELETE /tag/{id}', () => {
      test('returns 204 and removes the tag from the resources that had it', async () => {
        const integration = await makeIntegration(h)
        const [gone, kept] = [await makeTag(h), await makeTag(h)]
        const ids: string[] = []
        for (const tags of [[gone, kept], [gone], [kept]]) {
          const response = await h.request({
            method: 'POST',
            url: DATABASES,
            body: { title: `Tagged ${randomUUID()}`, integration, tags },
          })
          assert.equal(response.statusCode, 201, response.body)
          ids.push(response.json().id)
        }
        const response = await remove(gone)
        assert.equal(response.statusCode, 204)
        assert.equal(response.body, '')
        assertErrorBody(await get(gone), 404, 'NOT_FOUND')
        const tagsOf = async (id: string) =>
          (await h.request({ method: 'GET', url: `${DATABASES}/${id}` })).json().tags as string[]
        assert.deepEqual(await tagsOf(ids[0] as string), [kept])
        assert.deepEqual(await tagsOf(ids[1] as string), [])
        assert.deepEqual(await tagsOf(ids[2] as string), [kept])
        const filtered = await h.request({
          method: 'GET',
          url: `/api/v1/resource/catalog?filter=${encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'tags', value: gone }))}`,
        })
        assert.equal(filtered.json().count, 0)
      })
    })
  })
}
