import assert from 'node:assert/strict'
import type { AddressInfo, Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { assertErrorBody, ENGINES, type Harness, makeDatabase, startHarness } from '../helpers.ts'
import { type RawAnswer, RawConnection, rawRequest } from './raw-http.ts'

// CONTRACT §8: every answer, however early it is refused, has the error body of §1 and a status the OpenAPI
// document lists for its route.

type OpenApi = { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> }

/** The statuses the OpenAPI document lists for `method` at `path` (a path of the document, `{id}` and all). */
function documented(doc: OpenApi, path: string, method: string): string[] {
  const operation = doc.paths[path]?.[method.toLowerCase()]
  assert.ok(operation, `${method} ${path} is in the OpenAPI document`)
  return Object.keys(operation.responses)
}

/** The §1 body of an answer read off a socket, with the checks of helpers' assertErrorBody. */
function assertRawErrorBody(answer: RawAnswer, status: number, code: string) {
  return assertErrorBody(
    {
      statusCode: answer.status,
      headers: answer.headers,
      body: answer.body,
      json: () => JSON.parse(answer.body),
    } as unknown as LightMyRequestResponse,
    status,
    code,
  )
}

const lines = (...parts: string[]) => `${parts.join('\r\n')}\r\n\r\n`

for (const { engine, skip } of ENGINES) {
  describe(`early refusals on ${engine}`, { skip }, () => {
    let h: Harness
    let port: number
    let doc: OpenApi
    before(async () => {
      h = await startHarness(engine)
      await h.app.listen({ port: 0, host: '127.0.0.1' })
      port = (h.app.server.address() as AddressInfo).port
      doc = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json()
    })
    after(() => h?.close())

    test('lists 400, 405, 408, 431, 500 and 503 on every operation, and 413 and 415 on every one that takes a body', () => {
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const statuses = Object.keys(operation.responses)
          for (const status of ['400', '405', '408', '431', '500', '503']) {
            assert.ok(statuses.includes(status), `${method} ${path} lists ${status}: ${statuses}`)
          }
          if (['post', 'put', 'patch', 'delete'].includes(method)) {
            assert.ok(statuses.includes('413'), `${method} ${path} lists 413: ${statuses}`)
            assert.ok(statuses.includes('415'), `${method} ${path} lists 415: ${statuses}`)
          }
        }
      }
    })

    test('treats a path id over 100 characters as any malformed id: 401 without a key, then 404', async () => {
      for (const id of ['a'.repeat(101), 'a'.repeat(5000)]) {
        const url = `/api/v1/database/databases/${id}/`
        const anonymous = await h.request({ method: 'GET', url, headers: { authorization: undefined } })
        assertErrorBody(anonymous, 401, 'NOT_AUTHENTICATED')
        assert.equal(anonymous.headers['www-authenticate'], 'Bearer')
        assertErrorBody(await h.request({ method: 'GET', url }), 404, 'NOT_FOUND')
        assertErrorBody(await h.request({ method: 'PATCH', url, body: { title: 'x' } }), 404, 'NOT_FOUND')
        assertErrorBody(await h.request({ method: 'DELETE', url }), 404, 'NOT_FOUND')
      }
    })

    test('answers 431 HEADERS_TOO_LARGE for a URL over 128 KiB, a status every route lists', async () => {
      const filter = encodeURIComponent(
        JSON.stringify({ operator: 'contains', field: 'title', value: 'x'.repeat(140_000) }),
      )
      const answer = await rawRequest(
        port,
        lines(
          `GET /api/v1/resource/catalog?filter=${filter} HTTP/1.1`,
          'Host: localhost',
          `Authorization: Bearer ${h.adminKey}`,
        ),
      )
      const body = assertRawErrorBody(answer, 431, 'HEADERS_TOO_LARGE')
      assert.match(body.detail, /128 KiB/)
      assert.ok(documented(doc, '/resource/catalog', 'GET').includes('431'))
    })

    test('answers 400 BAD_REQUEST for a Content-Length that is not a number, or sent with Transfer-Encoding', async () => {
      for (const header of [
        'Content-Length: abc',
        'Content-Length: 5, 6',
        'Content-Length: 2\r\nTransfer-Encoding: chunked',
      ]) {
        const answer = await rawRequest(
          port,
          `${lines('POST /api/v1/database/databases/ HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', header)}{}`,
        )
        const body = assertRawErrorBody(answer, 400, 'BAD_REQUEST')
        assert.match(body.detail, /Content-Length/, header)
        assert.equal(answer.headers.connection, 'close', header)
      }
      assert.ok(documented(doc, '/database/databases', 'POST').includes('400'))
    })

    test('answers 400 BAD_REQUEST for a request line that is not HTTP, and for a broken %-escape in a path', async () => {
      assertRawErrorBody(await rawRequest(port, lines('FOO@ / HTTP/1.1', 'Host: localhost')), 400, 'BAD_REQUEST')
      const db = await makeDatabase(h)
      const response = await h.request({ method: 'GET', url: `/database/databases/${db.id}%E0%A4%A` })
      assertErrorBody(response, 400, 'BAD_REQUEST')
      assert.ok(documented(doc, '/database/databases/{id}', 'GET').includes('400'))
    })

    test('answers TRACE and other methods HTTP defines with 405 and Allow on a known path, 404 elsewhere', async () => {
      for (const method of ['TRACE', 'PROPFIND', 'MKCOL']) {
        const answer = await rawRequest(
          port,
          lines(
            `${method} /api/v1/database/databases/ HTTP/1.1`,
            'Host: localhost',
            `Authorization: Bearer ${h.adminKey}`,
          ),
        )
        assertRawErrorBody(answer, 405, 'METHOD_NOT_ALLOWED')
        assert.deepEqual(
          answer.headers.allow?.split(', ').sort(),
          ['GET', 'HEAD', 'POST'],
          `${method}: Allow ${answer.headers.allow}`,
        )
        assert.ok(documented(doc, '/database/databases', 'GET').includes('405'))
        const unknown = await rawRequest(
          port,
          lines(`${method} /api/v1/nothing/here HTTP/1.1`, 'Host: localhost', `Authorization: Bearer ${h.adminKey}`),
        )
        assertRawErrorBody(unknown, 404, 'NOT_FOUND')
      }
      const connect = await rawRequest(port, lines('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'))
      assertRawErrorBody(connect, 405, 'METHOD_NOT_ALLOWED')
    })

    test('answers 413 PAYLOAD_TOO_LARGE from the Content-Length alone, on routes that list it', async () => {
      const db = await makeDatabase(h)
      for (const [method, url, path] of [
        ['POST', '/api/v1/database/databases/', '/database/databases'],
        ['PATCH', `/database/databases/${db.id}`, '/database/databases/{id}'],
      ] as const) {
        const answer = await rawRequest(
          port,
          lines(
            `${method} ${url} HTTP/1.1`,
            'Host: localhost',
            `Authorization: Bearer ${h.adminKey}`,
            'Content-Type: application/json',
            'Content-Length: 2000000',
          ),
        )
        assertRawErrorBody(answer, 413, 'PAYLOAD_TOO_LARGE')
        assert.ok(documented(doc, path, method).includes('413'), `${method} ${path} lists 413`)
      }
      // A definition at its limit of 1,000,000 characters, in letters of two bytes, is over the body limit.
      const response = await h.request({
        method: 'PATCH',
        url: `/database/databases/${db.id}`,
        body: { definition: 'é'.repeat(1_000_000) },
      })
      assertErrorBody(response, 413, 'PAYLOAD_TOO_LARGE')
    })

    test('answers 408 REQUEST_TIMEOUT when Node gives up waiting for a request', async () => {
      // Node's own timers take a minute or more; this is the event they raise.
      const accepted = new Promise<Socket>((resolve) => h.app.server.once('connection', resolve))
      const connection = new RawConnection(port)
      try {
        const socket = await accepted
        const timeout = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })
        h.app.server.emit('clientError', timeout, socket)
        const answer = await connection.next()
        assertRawErrorBody(answer, 408, 'REQUEST_TIMEOUT')
        assert.equal(answer.headers.connection, 'close')
      } finally {
        connection.close()
      }
    })

    test('answers 503 SHUTTING_DOWN to a request that arrives on an open connection while the server closes', async () => {
      const app = await buildApp({ store: h.store })
      let release: () => void = () => {}
      const gate = new Promise<void>((done) => {
        release = done
      })
      let started: () => void = () => {}
      const running = new Promise<void>((done) => {
        started = done
      })
      app.get('/test/slow', { config: { public: true } }, async () => {
        started()
        await gate
        return { ok: true }
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      const connection = new RawConnection((app.server.address() as AddressInfo).port)
      try {
        connection.write(lines('GET /test/slow HTTP/1.1', 'Host: localhost'))
        await running
        const closed = app.close()
        connection.write(
          lines('GET /api/v1/database/databases/ HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${h.adminKey}`),
        )
        await new Promise((done) => setTimeout(done, 100))
        release()
        assert.equal((await connection.next()).status, 200)
        const refused = await connection.next()
        assertRawErrorBody(refused, 503, 'SHUTTING_DOWN')
        assert.equal(refused.headers.connection, 'close')
        await closed
      } finally {
        release()
        connection.close()
        await app.close()
      }
      assert.ok(documented(doc, '/database/databases', 'GET').includes('503'))
    })

    test('ignores an Expect it does not know instead of a bare 417', async () => {
      const answer = await rawRequest(
        port,
        lines(
          'GET /api/v1/database/databases/ HTTP/1.1',
          'Host: localhost',
          `Authorization: Bearer ${h.adminKey}`,
          'Expect: something-else',
          'Connection: close',
        ),
      )
      assert.equal(answer.status, 200, answer.body)
      assert.equal(JSON.parse(answer.body).count >= 0, true)
    })
  })
}
