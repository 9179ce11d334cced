import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { hashApiKey } from '../../src/access/keys.ts'
import { buildApp } from '../../src/app.ts'
import { nowIso } from '../../src/db/values.ts'
import { ENGINES, type Harness, makeDatabase, makeIntegration, makeKey, startHarness } from '../helpers.ts'

const ALIASES = (path: string) => [path, `${path}/`, `/api/v1${path}`, `/api/v1${path}/`]

/** Every answer the transport gives is JSON; non-2xx answers carry a string detail and code. */
function assertErrorBody(response: LightMyRequestResponse, status: number, label = '') {
  assert.equal(response.statusCode, status, `${label} ${response.body}`)
  assert.match(String(response.headers['content-type']), /^application\/json/, label)
  const body = response.json()
  assert.equal(typeof body.detail, 'string', label)
  assert.equal(typeof body.code, 'string', label)
  assert.match(body.code, /^[A-Z][A-Z_]*$/, label)
  return body
}

function assertNoRedirect(response: LightMyRequestResponse, label: string) {
  assert.ok(response.statusCode < 300 || response.statusCode >= 400, `${label} answered ${response.statusCode}`)
  assert.equal(response.headers.location, undefined, label)
}

for (const { engine, skip } of ENGINES) {
  describe(`path aliases on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('every Databases route answers under /x, /x/, /api/v1/x and /api/v1/x/ without a redirect', async () => {
      const integration = await makeIntegration(h)
      for (const base of ALIASES('/database/databases')) {
        const created = await h.request({ method: 'POST', url: base, body: { title: `via ${base}`, integration } })
        assertNoRedirect(created, `POST ${base}`)
        assert.equal(created.statusCode, 201, `POST ${base}: ${created.body}`)
        const id = created.json().id

        const list = await h.request({ method: 'GET', url: base })
        assertNoRedirect(list, `GET ${base}`)
        assert.equal(list.statusCode, 200, `GET ${base}`)
        assert.ok(
          list.json().results.some((r: { id: string }) => r.id === id),
          `GET ${base} lists the new database`,
        )

        const one = base.endsWith('/') ? `${base}${id}/` : `${base}/${id}`
        const got = await h.request({ method: 'GET', url: one })
        assertNoRedirect(got, `GET ${one}`)
        assert.equal(got.statusCode, 200, `GET ${one}`)
        assert.equal(got.json().id, id)

        const patched = await h.request({ method: 'PATCH', url: one, body: { description: `patched via ${one}` } })
        assertNoRedirect(patched, `PATCH ${one}`)
        assert.equal(patched.statusCode, 200, `PATCH ${one}: ${patched.body}`)
        assert.equal(patched.json().description, `patched via ${one}`)

        const deleted = await h.request({ method: 'DELETE', url: one })
        assertNoRedirect(deleted, `DELETE ${one}`)
        assert.equal(deleted.statusCode, 204, `DELETE ${one}: ${deleted.body}`)
        assert.equal(deleted.body, '')

        const gone = await h.request({ method: 'GET', url: `/database/databases/${id}` })
        assert.equal(gone.statusCode, 404, `${one} was deleted`)
      }
    })

    test('every Integrations route answers under /x, /x/, /api/v1/x and /api/v1/x/ without a redirect', async () => {
      for (const base of ALIASES('/integration/integrations')) {
        const created = await h.request({ method: 'POST', url: base, body: { name: `via ${base}`, type: 'postgres' } })
        assertNoRedirect(created, `POST ${base}`)
        assert.equal(created.statusCode, 201, `POST ${base}: ${created.body}`)
        const id = created.json().id

        const list = await h.request({ method: 'GET', url: base })
        assertNoRedirect(list, `GET ${base}`)
        assert.equal(list.statusCode, 200, `GET ${base}`)
        assert.ok(list.json().results.some((r: { id: string }) => r.id === id))

        const one = base.endsWith('/') ? `${base}${id}/` : `${base}/${id}`
        const got = await h.request({ method: 'GET', url: one })
        assertNoRedirect(got, `GET ${one}`)
        assert.equal(got.statusCode, 200, `GET ${one}`)
        assert.equal(got.json().id, id)

        const patched = await h.request({ method: 'PATCH', url: one, body: { name: `renamed via ${one}` } })
        assertNoRedirect(patched, `PATCH ${one}`)
        assert.equal(patched.statusCode, 200, `PATCH ${one}: ${patched.body}`)
        assert.equal(patched.json().name, `renamed via ${one}`)

        const deleted = await h.request({ method: 'DELETE', url: one })
        assertNoRedirect(deleted, `DELETE ${one}`)
        assert.equal(deleted.statusCode, 204, `DELETE ${one}: ${deleted.body}`)

        const gone = await h.request({ method: 'GET', url: `/integration/integrations/${id}` })
        assert.equal(gone.statusCode, 404, `${one} was deleted`)
      }
    })

    test('keeps the query string under every alias', async () => {
      const db = await makeDatabase(h, { title: 'Aliased query' })
      for (const base of ALIASES('/database/databases')) {
        const list = await h.request({ method: 'GET', url: `${base}?title=Aliased%20query` })
        assert.equal(list.statusCode, 200, base)
        assert.deepEqual(
          list.json().results.map((r: { id: string }) => r.id),
          [db.id],
          base,
        )
      }
    })
  })

  describe(`authentication on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('answers 401 "Authentication credentials were not provided." without an Authorization header', async () => {
      for (const [method, url] of [
        ['GET', '/database/databases'],
        ['POST', '/api/v1/database/databases/'],
        ['GET', '/integration/integrations'],
      ] as const) {
        const response = await h.request({ method, url, headers: { authorization: undefined } })
        const body = assertErrorBody(response, 401, `${method} ${url}`)
        assert.equal(body.detail, 'Authentication credentials were not provided.')
        assert.deepEqual(Object.keys(body), ['detail', 'code'])
        assert.equal(response.headers['www-authenticate'], 'Bearer')
      }
    })

    test('answers 401 "Authentication credentials were not provided." for an empty Authorization header', async () => {
      const response = await h.request({ method: 'GET', url: '/database/databases', headers: { authorization: '' } })
      const body = assertErrorBody(response, 401)
      assert.equal(body.detail, 'Authentication credentials were not provided.')
      assert.equal(response.headers['www-authenticate'], 'Bearer')
    })

    test('answers 401 "Invalid token." for an unknown or malformed key', async () => {
      for (const authorization of [
        'Bearer docent_unknownkeyunknownkeyunknownkeyunknownkey',
        'Bearer',
        'Bearer ',
        'Basic abc',
        'Bearer a b',
        `Token ${h.adminKey}`,
        h.adminKey,
      ]) {
        const response = await h.request({ method: 'GET', url: '/database/databases', headers: { authorization } })
        const body = assertErrorBody(response, 401, authorization)
        assert.equal(body.detail, 'Invalid token.', authorization)
        assert.equal(response.headers['www-authenticate'], 'Bearer', authorization)
      }
    })

    test('accepts the Bearer scheme in any letter case, as Django REST Framework does', async () => {
      for (const scheme of ['bearer', 'BEARER']) {
        const response = await h.request({
          method: 'GET',
          url: '/database/databases',
          headers: { authorization: `${scheme} ${h.adminKey}` },
        })
        assert.equal(response.statusCode, 200, scheme)
      }
    })

    test('answers 401 "Invalid token." for a revoked key that worked before', async () => {
      const authorization = await makeKey(h, h.adminUserId)
      const before = await h.request({ method: 'GET', url: '/database/databases', headers: { authorization } })
      assert.equal(before.statusCode, 200)

      const key = authorization.slice('Bearer '.length)
      await h.store.db
        .updateTable('api_keys')
        .set({ revoked_at: nowIso() })
        .where('key_hash', '=', hashApiKey(key))
        .execute()

      const response = await h.request({ method: 'GET', url: '/database/databases', headers: { authorization } })
      const body = assertErrorBody(response, 401)
      assert.equal(body.detail, 'Invalid token.')
      assert.equal(response.headers['www-authenticate'], 'Bearer')
      // The other key of the same user is untouched.
      assert.equal((await h.request({ method: 'GET', url: '/database/databases' })).statusCode, 200)
    })

    test('answers GET /healthcheck under every alias without a key', async () => {
      for (const url of ALIASES('/healthcheck')) {
        const response = await h.app.inject({ method: 'GET', url })
        assert.equal(response.statusCode, 200, url)
        assert.match(String(response.headers['content-type']), /^application\/json/)
        assert.deepEqual(response.json(), { status: 'OK' })
      }
    })

    test('serves the OpenAPI document at /docs/json without a key, with the Resource schema', async () => {
      for (const url of ['/docs/json', '/api/v1/docs/json']) {
        const response = await h.app.inject({ method: 'GET', url })
        assert.equal(response.statusCode, 200, url)
        const doc = response.json()
        assert.match(doc.openapi, /^3\./)
        assert.ok(doc.paths['/database/databases'], 'list path documented')
        assert.ok(doc.paths['/database/databases/{id}'], 'item path documented')
        assert.ok(doc.paths['/integration/integrations'], 'integrations documented')

        const item = doc.paths['/database/databases/{id}'].get.responses['200'].content['application/json'].schema
        for (const name of ['id', 'title', 'title_full', 'title_cased', 'current_user_permissions', 'teams']) {
          assert.ok(name in item.properties, `Resource has ${name}`)
        }
        const list = doc.paths['/database/databases'].get.responses['200'].content['application/json'].schema
        assert.deepEqual(Object.keys(list.properties), ['links', 'meta', 'count', 'total_pages', 'results'])
        assert.ok('title_full' in list.properties.results.items.properties)
        assert.ok('current_user_permissions' in list.properties.results.items.properties)
      }
    })

    test('serves the API docs page at /docs without a key, as HTML and without a redirect', async () => {
      for (const url of ['/docs', '/api/v1/docs']) {
        const response = await h.app.inject({ method: 'GET', url })
        assert.equal(response.statusCode, 200, url)
        assert.match(String(response.headers['content-type']), /^text\/html/)
        assert.match(response.body, /swagger/i)
      }
    })
  })

  describe(`errors on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('answers an unknown path with 404 NOT_FOUND, with or without a key', async () => {
      for (const url of ['/nope', '/api/v1/nope/', '/database/nothing', '/api/v2/database/databases']) {
        for (const authorization of [`Bearer ${h.adminKey}`, undefined]) {
          const response = await h.request({ method: 'GET', url, headers: { authorization } })
          const body = assertErrorBody(response, 404, url)
          assert.equal(body.code, 'NOT_FOUND')
        }
      }
    })

    test('answers a known path with a wrong method with 405 and an Allow header', async () => {
      const db = await makeDatabase(h)
      const cases = [
        { method: 'PUT', url: `/database/databases/${db.id}`, allowed: ['GET', 'PATCH', 'DELETE'], denied: 'PUT' },
        {
          method: 'PUT',
          url: `/api/v1/database/databases/${db.id}/`,
          allowed: ['GET', 'PATCH', 'DELETE'],
          denied: 'PUT',
        },
        { method: 'DELETE', url: '/database/databases', allowed: ['GET', 'POST'], denied: 'DELETE' },
        { method: 'DELETE', url: '/api/v1/database/databases/', allowed: ['GET', 'POST'], denied: 'DELETE' },
        { method: 'PATCH', url: '/integration/integrations', allowed: ['GET', 'POST'], denied: 'PATCH' },
      ] as const
      for (const { method, url, allowed, denied } of cases) {
        const response = await h.request({ method, url, body: {} })
        const body = assertErrorBody(response, 405, `${method} ${url}`)
        assert.equal(body.code, 'METHOD_NOT_ALLOWED')
        const allow = String(response.headers.allow)
          .split(',')
          .map((m) => m.trim())
        for (const m of allowed) {
          assert.ok(allow.includes(m), `${method} ${url}: Allow "${allow}" has ${m}`)
        }
        assert.ok(!allow.includes(denied), `${method} ${url}: Allow "${allow}" lacks ${denied}`)
      }
      // The 405 changed nothing.
      assert.equal((await h.request({ method: 'GET', url: `/database/databases/${db.id}` })).statusCode, 200)
    })

    test('ignores a body on a GET, even one that is not valid JSON', async () => {
      const db = await makeDatabase(h)
      for (const url of ['/database/databases', `/api/v1/database/databases/${db.id}/`]) {
        const response = await h.request({
          method: 'GET',
          url,
          headers: { 'content-type': 'application/json' },
          payload: '{"this is": not json',
        })
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
      }
    })

    test('gives every non-2xx answer a JSON body with a string detail and code', async () => {
      const db = await makeDatabase(h)
      const cases = [
        { status: 401, request: { method: 'GET', url: '/database/databases', headers: { authorization: undefined } } },
        { status: 401, request: { method: 'GET', url: '/database/databases', headers: { authorization: 'Basic x' } } },
        { status: 404, request: { method: 'GET', url: '/nope' } },
        { status: 404, request: { method: 'GET', url: '/database/databases/not-a-uuid' } },
        { status: 404, request: { method: 'GET', url: '/database/databases/3b2c7185-fb5d-4d94-89d4-3dae08e093a9' } },
        { status: 404, request: { method: 'GET', url: '/database/databases?page=99' } },
        { status: 405, request: { method: 'PUT', url: `/database/databases/${db.id}`, body: {} } },
        { status: 400, request: { method: 'POST', url: '/database/databases', body: { title: 'no integration' } } },
        { status: 400, request: { method: 'PATCH', url: `/database/databases/${db.id}`, body: { title: 42 } } },
        {
          status: 400,
          request: {
            method: 'POST',
            url: '/database/databases',
            headers: { 'content-type': 'application/json' },
            payload: '{"title": ',
          },
        },
        {
          status: 415,
          request: {
            method: 'POST',
            url: '/database/databases',
            headers: { 'content-type': 'text/plain' },
            payload: 'title=x',
          },
        },
        {
          status: 413,
          request: {
            method: 'POST',
            url: '/database/databases',
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({ title: 'x'.repeat(1_100_000) }),
          },
        },
      ] as const
      for (const { status, request } of cases) {
        const response = await h.request(request as Parameters<Harness['request']>[0])
        const body = assertErrorBody(response, status, `${request.method} ${request.url}`)
        assert.doesNotMatch(JSON.stringify(body), /\bat .+:\d+:\d+|node_modules|SQLITE|select /i)
      }
    })
  })

  describe(`unexpected errors on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    test('answers 500 INTERNAL_ERROR with an opaque body when the store is gone', async () => {
      await h.store.close()
      const response = await h.request({ method: 'GET', url: '/database/databases' })
      const body = assertErrorBody(response, 500)
      assert.equal(body.code, 'INTERNAL_ERROR')
      assert.deepEqual(Object.keys(body), ['detail', 'code'])
      assert.doesNotMatch(response.body, /destroy|driver|select|from|sqlite|postgres|pool|\bat |node_modules/i)
    })
  })

  describe(`pagination links on ${engine}`, { skip }, () => {
    let h: Harness
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'catalog.example.com' }
    before(async () => {
      h = await startHarness(engine)
      for (let i = 0; i < 3; i++) {
        await makeDatabase(h)
      }
    })
    after(() => h?.close())

    test('use X-Forwarded-Proto and X-Forwarded-Host when the app trusts a proxy', async () => {
      const app = await buildApp({ store: h.store, trustProxy: true })
      try {
        const response = await app.inject({
          method: 'GET',
          url: '/api/v1/database/databases/?page_size=1&page=2',
          headers: { authorization: `Bearer ${h.adminKey}`, ...forwarded },
        })
        assert.equal(response.statusCode, 200, response.body)
        assert.deepEqual(response.json().links, {
          next: 'https://catalog.example.com/api/v1/database/databases/?page_size=1&page=3',
          previous: 'https://catalog.example.com/api/v1/database/databases/?page_size=1&page=1',
        })
      } finally {
        await app.close()
      }
    })

    test('ignore X-Forwarded-Proto and X-Forwarded-Host by default', async () => {
      const response = await h.request({
        method: 'GET',
        url: '/database/databases?page_size=1&page=2',
        headers: { host: 'docent.internal:8080', ...forwarded },
      })
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(response.json().links, {
        next: 'http://docent.internal:8080/database/databases?page_size=1&page=3',
        previous: 'http://docent.internal:8080/database/databases?page_size=1&page=1',
      })
    })
  })
}
