import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertErrorBody, ENGINES, type Harness, makeDatabase, makeKey, makeUser, startHarness } from '../helpers.ts'

// Issue 16, no lost updates: a resource's GET carries an ETag made from its bytes; PATCH and DELETE honour
// If-Match (412 when the resource changed since, nothing written); If-None-Match answers 304.

for (const { engine, skip } of ENGINES) {
  describe(`ETag and If-Match on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const get = (id: string, headers: Record<string, string> = {}) =>
      h.request({ method: 'GET', url: `/api/v1/resource/all/${id}`, headers })
    const patch = (id: string, body: object, headers: Record<string, string> = {}, path = '/resource/all') =>
      h.request({ method: 'PATCH', url: `/api/v1${path}/${id}`, body, headers })
    const etagOf = async (id: string) => {
      const response = await get(id)
      assert.equal(response.statusCode, 200, response.body)
      const tag = response.headers.etag
      assert.match(String(tag), /^"[A-Za-z0-9_-]{32}"$/)
      return String(tag)
    }

    test('a GET carries a strong ETag that follows every change, and If-None-Match answers 304', async () => {
      const { id } = await makeDatabase(h)
      const first = await etagOf(id)
      assert.equal(await etagOf(id), first, 'the same bytes, the same tag')
      const notModified = await get(id, { 'if-none-match': first })
      assert.equal(notModified.statusCode, 304)
      assert.equal(notModified.body, '')
      assert.equal((await get(id, { 'if-none-match': `W/${first}` })).statusCode, 304, 'weak comparison')
      assert.equal((await get(id, { 'if-none-match': '"other"' })).statusCode, 200)
      // A PATCH answers with the tag a GET then gives.
      const patched = await patch(id, { description: 'changed' })
      assert.equal(patched.statusCode, 200)
      assert.notEqual(patched.headers.etag, first)
      assert.equal(patched.headers.etag, await etagOf(id))
      // The typed route answers the same bytes, so the same tag.
      const typed = await h.request({ method: 'GET', url: `/api/v1/database/databases/${id}` })
      assert.equal(typed.headers.etag, patched.headers.etag)
    })

    test('PATCH with a stale If-Match is 412 and writes nothing; with the current one it writes', async () => {
      const { id } = await makeDatabase(h)
      const read = await etagOf(id)
      // Two people read the same version; the first saves.
      const first = await patch(id, { description: 'first' }, { 'if-match': read })
      assert.equal(first.statusCode, 200, first.body)
      // The second saves over what they read: refused, the first's text kept.
      const second = await patch(id, { description: 'second' }, { 'if-match': read })
      assert.match(assertErrorBody(second, 412, 'PRECONDITION_FAILED').detail, /changed since you read it/)
      assert.equal((await get(id)).json().description, 'first')
      // Read again, save again: accepted. Through the typed route too.
      const again = await patch(id, { description: 'second' }, { 'if-match': await etagOf(id) }, '/database/databases')
      assert.equal(again.statusCode, 200, again.body)
      assert.equal((await get(id)).json().description, 'second')
      // A list of tags matches any of them; `*` matches any resource; a weak tag never matches.
      const now = await etagOf(id)
      assert.equal((await patch(id, { pii: true }, { 'if-match': `"x", ${now}` })).statusCode, 200)
      assert.equal((await patch(id, { pii: false }, { 'if-match': '*' })).statusCode, 200)
      assertErrorBody(
        await patch(id, { pii: true }, { 'if-match': `W/${await etagOf(id)}` }),
        412,
        'PRECONDITION_FAILED',
      )
      // Without If-Match a PATCH is as before.
      assert.equal((await patch(id, { description: 'plain' })).statusCode, 200)
    })

    test('a change made elsewhere (a cascade) changes the tag and fails the stale If-Match', async () => {
      const tag = (
        await h.request({ method: 'POST', url: '/api/v1/tag/tags', body: { name: `t ${Math.random()}` } })
      ).json()
      const { id } = await makeDatabase(h, { tags: [tag.id] })
      const read = await etagOf(id)
      const deleted = await h.request({ method: 'DELETE', url: `/api/v1/tag/tags/${tag.id}` })
      assert.equal(deleted.statusCode, 204, deleted.body)
      assert.notEqual(await etagOf(id), read)
      assertErrorBody(await patch(id, { description: 'x' }, { 'if-match': read }), 412, 'PRECONDITION_FAILED')
    })

    test('two saves from the same read: exactly one is written, the other is told', async () => {
      const { id } = await makeDatabase(h)
      const read = await etagOf(id)
      const answers = await Promise.all(
        ['one', 'two', 'three'].map((text) => patch(id, { description: text }, { 'if-match': read })),
      )
      const statuses = answers.map((a) => a.statusCode).sort()
      assert.deepEqual(statuses, [200, 412, 412])
      const winner = answers.find((a) => a.statusCode === 200)?.json().description
      assert.equal((await get(id)).json().description, winner)
      // HEAD takes If-None-Match as GET does.
      const head = await h.request({
        method: 'HEAD',
        url: `/api/v1/resource/all/${id}`,
        headers: { 'if-none-match': await etagOf(id) },
      })
      assert.equal(head.statusCode, 304)
    })

    test('DELETE honours If-Match; a missing resource is still 404; 412 is for every client', async () => {
      const { id } = await makeDatabase(h)
      const read = await etagOf(id)
      await patch(id, { description: 'moved on' })
      const stale = await h.request({
        method: 'DELETE',
        url: `/api/v1/resource/all/${id}`,
        headers: { 'if-match': read },
      })
      assertErrorBody(stale, 412, 'PRECONDITION_FAILED')
      assert.equal((await get(id)).statusCode, 200, 'not deleted')
      const current = await h.request({
        method: 'DELETE',
        url: `/api/v1/resource/all/${id}`,
        headers: { 'if-match': await etagOf(id) },
      })
      assert.equal(current.statusCode, 204, current.body)
      assertErrorBody(await patch(id, { description: 'x' }, { 'if-match': read }), 404, 'NOT_FOUND')
      assertErrorBody(
        await h.request({ method: 'DELETE', url: `/api/v1/resource/all/${id}`, headers: { 'if-match': read } }),
        404,
        'NOT_FOUND',
      )
      // An editor's PATCH is checked the same way; a viewer is refused before any precondition.
      const editor = await makeKey(h, await makeUser(h, { role: 'editor' }))
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      const { id: other } = await makeDatabase(h, { published: true })
      const editorTag = String((await get(other, { authorization: editor })).headers.etag)
      await patch(other, { description: 'admin was here' })
      assertErrorBody(
        await patch(other, { description: 'editor' }, { authorization: editor, 'if-match': editorTag }),
        412,
        'PRECONDITION_FAILED',
      )
      const viewerTag = String((await get(other, { authorization: viewer })).headers.etag)
      assertErrorBody(
        await patch(other, { description: 'viewer' }, { authorization: viewer, 'if-match': viewerTag }),
        403,
        'PERMISSION_DENIED',
      )
    })
  })
}
