import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeDatabase,
  makeGroup,
  makeIntegration,
  makeTag,
  makeTeam,
  makeUser,
  startHarness,
} from '../helpers.ts'
import { rawRequest } from './raw-http.ts'

// CONTRACT §8: an empty body is no body, whatever its Content-Type says. Python's `requests` sends
// `Content-Type: application/json` and `Content-Length: 0` on a DELETE and on a bodiless POST.
const EMPTY_JSON = { 'content-type': 'application/json', 'content-length': '0' }

type OpenApi = { paths: Record<string, Record<string, unknown>> }

for (const { engine, skip } of ENGINES) {
  describe(`empty bodies on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('delete a database, an integration, a user, a team, a group and a tag sent as Python requests sends them', async () => {
      const targets = [
        `/database/databases/${(await makeDatabase(h)).id}`,
        `/integration/integrations/${await makeIntegration(h)}`,
        `/user/${await makeUser(h)}`,
        `/auth/teams/${await makeTeam(h)}`,
        `/auth/group/${await makeGroup(h)}`,
        `/tag/${await makeTag(h)}`,
      ]
      for (const url of targets) {
        const response = await h.request({ method: 'DELETE', url: `/api/v1${url}/`, headers: EMPTY_JSON, payload: '' })
        assert.equal(response.statusCode, 204, `DELETE ${url}: ${response.body}`)
        assertErrorBody(await h.request({ method: 'GET', url }), 404, 'NOT_FOUND')
      }
    })

    test('reach the handler of every DELETE and of POST …/sync, never 400 MALFORMED_JSON', async () => {
      const doc: OpenApi = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json()
      const bodiless = Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.keys(operations)
          .filter((method) => method === 'delete' || path.endsWith('/sync'))
          .map((method) => ({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, randomUUID()) })),
      )
      assert.ok(bodiless.length >= 10, `bodiless routes: ${bodiless.length}`)
      for (const { method, url } of bodiless) {
        for (const contentType of ['application/json', 'application/json; charset=utf-8', 'text/plain']) {
          const response = await h.request({
            method: method as 'DELETE',
            url,
            headers: { 'content-type': contentType, 'content-length': '0' },
            payload: '',
          })
          assertErrorBody(response, 404, 'NOT_FOUND')
        }
      }
    })

    test('answer 400 naming the missing fields when a route needs a body', async () => {
      for (const [url, field] of [
        ['/database/databases', 'title'],
        ['/integration/integrations', 'name'],
        ['/auth/teams', 'name'],
      ]) {
        for (const headers of [EMPTY_JSON, { 'content-type': 'text/plain', 'content-length': '0' }, {}]) {
          const response = await h.request({ method: 'POST', url: url as string, headers, payload: '' })
          assertFieldError(response, field as string, /is required/)
        }
      }
    })

    test('change nothing on a PATCH without a body, as on a PATCH of {}', async () => {
      const db = await makeDatabase(h, { description: 'kept' })
      const response = await h.request({
        method: 'PATCH',
        url: `/database/databases/${db.id}`,
        headers: EMPTY_JSON,
        payload: '',
      })
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().description, 'kept')
      assert.equal(response.json().title, db.title)
    })

    test('still refuse a body that is not JSON (415) or not valid JSON (400 MALFORMED_JSON)', async () => {
      const db = await makeDatabase(h)
      const url = `/database/databases/${db.id}`
      const text = await h.request({ method: 'PATCH', url, headers: { 'content-type': 'text/plain' }, payload: 'x' })
      assertErrorBody(text, 415, 'UNSUPPORTED_MEDIA_TYPE')
      const blank = await h.request({
        method: 'PATCH',
        url,
        headers: { 'content-type': 'application/json' },
        payload: ' ',
      })
      assertErrorBody(blank, 400, 'MALFORMED_JSON')
    })

    test('delete over a real socket with the exact headers pysecoda sends', async () => {
      await h.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = h.app.server.address() as AddressInfo
      const db = await makeDatabase(h)
      const answer = await rawRequest(
        port,
        [
          `DELETE /api/v1/database/databases/${db.id}/ HTTP/1.1`,
          'Host: localhost',
          'User-Agent: python-requests/2.32.3',
          'Accept-Encoding: gzip, deflate',
          'Accept: */*',
          'Connection: keep-alive',
          `Authorization: Bearer ${h.adminKey}`,
          'Content-Type: application/json',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      )
      assert.equal(answer.status, 204, answer.body)
      assertErrorBody(await h.request({ method: 'GET', url: `/database/databases/${db.id}` }), 404, 'NOT_FOUND')
    })
  })
}
