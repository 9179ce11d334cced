import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateApiKey } from '../../src/directory/keys/repository.ts'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeDatabase,
  makeKey,
  makeUser,
  startHarness,
} from '../helpers.ts'

// Issue 16, sign-in: an API key opens a session whose HttpOnly, SameSite=Strict cookie the API accepts in place
// of the bearer header; writes need the session's CSRF token; sign-out, key revocation, user deletion and expiry
// end it at once.

for (const { engine, skip } of ENGINES) {
  describe(`Sessions on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const signIn = async (bearer: string) => {
      const response = await h.request({
        method: 'POST',
        url: '/api/v1/auth/session',
        body: { api_key: bearer.replace(/^Bearer /, '') },
        headers: { authorization: undefined },
      })
      assert.equal(response.statusCode, 201, response.body)
      const cookie = response.cookies.find((c) => c.name === 'docent_session')
      assert.ok(cookie, 'the session cookie is set')
      return { cookie, body: response.json(), response }
    }
    /** A request signed in by the cookie alone (no Authorization header). */
    const withCookie = (
      token: string,
      options: { method: string; url: string; body?: object; headers?: Record<string, string> },
    ) =>
      h.request({
        ...options,
        cookies: { docent_session: token },
        headers: { authorization: undefined, ...options.headers },
      } as never)

    test('sign-in sets an HttpOnly, SameSite=Strict cookie for the API only, and stores only its hash', async () => {
      const { cookie, body } = await signIn(`Bearer ${h.adminKey}`)
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.sameSite, 'Strict')
      assert.equal(cookie.path, '/api/v1')
      assert.equal(cookie.maxAge, 12 * 3600)
      assert.notEqual(cookie.value, h.adminKey, 'the cookie is not the key')
      assert.equal(body.user.role, 'admin')
      assert.match(body.csrf_token, /^[A-Za-z0-9_-]{43}$/)
      const stored = await h.store.db.selectFrom('sessions').select('token_hash').execute()
      assert.ok(stored.length > 0)
      assert.ok(stored.every((s) => s.token_hash !== cookie.value && !s.token_hash.includes(cookie.value)))
      // Who is signed in, with the CSRF token again (a page reloaded keeps nothing).
      const who = await withCookie(cookie.value, { method: 'GET', url: '/api/v1/auth/session' })
      assert.equal(who.statusCode, 200, who.body)
      assert.equal(who.headers['cache-control'], 'private, no-store', 'what a session reads is kept by no cache')
      // Using the session is using its key.
      const used = await h.store.db.selectFrom('api_keys').select('last_used_at').execute()
      assert.ok(used.some((k) => k.last_used_at !== null))
      // Signing in again from the same browser ends the session it had.
      const again = await h.request({
        method: 'POST',
        url: '/api/v1/auth/session',
        body: { api_key: h.adminKey },
        cookies: { docent_session: cookie.value },
        headers: { authorization: undefined },
      } as never)
      assert.equal(again.statusCode, 201)
      assertErrorBody(
        await withCookie(cookie.value, { method: 'GET', url: '/api/v1/resource/catalog' }),
        401,
        'AUTHENTICATION_FAILED',
      )
      assert.equal(who.json().csrf_token, body.csrf_token)
      // A wrong key is refused with a sentence; a missing one names the field.
      const wrong = await h.request({
        method: 'POST',
        url: '/api/v1/auth/session',
        body: { api_key: generateApiKey() },
        headers: { authorization: undefined },
      })
      assert.match(assertErrorBody(wrong, 401, 'AUTHENTICATION_FAILED').detail, /unknown or revoked/)
      assertFieldError(
        await h.request({
          method: 'POST',
          url: '/api/v1/auth/session',
          body: {},
          headers: { authorization: undefined },
        }),
        'api_key',
      )
    })

    test('the cookie reads like the key; a write needs the CSRF token from this origin', async () => {
      const { cookie, body } = await signIn(`Bearer ${h.adminKey}`)
      const { id } = await makeDatabase(h)
      const list = await withCookie(cookie.value, { method: 'GET', url: '/api/v1/resource/catalog' })
      assert.equal(list.statusCode, 200, list.body)
      const one = await withCookie(cookie.value, { method: 'GET', url: `/api/v1/resource/all/${id}` })
      assert.equal(one.statusCode, 200, one.body)
      assert.equal(one.json().id, id)
      assertErrorBody(
        await withCookie(cookie.value, { method: 'GET', url: '/api/v1/resource/all/not-a-uuid' }),
        404,
        'NOT_FOUND',
      )
      // A cross-site form POST carries the cookie (were the browser to send it) but no CSRF token: refused, and
      // nothing written.
      const forged = await withCookie(cookie.value, {
        method: 'PATCH',
        url: `/api/v1/resource/all/${id}`,
        body: { description: 'forged' },
        headers: { origin: 'https://evil.example' },
      })
      assert.match(assertErrorBody(forged, 403, 'PERMISSION_DENIED').detail, /X-CSRF-Token/)
      const formPost = await withCookie(cookie.value, {
        method: 'POST',
        url: '/api/v1/tag/tags',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      })
      assertErrorBody(formPost, 403, 'PERMISSION_DENIED')
      // The right token sent by another site (as the browser says) is refused too.
      assertErrorBody(
        await withCookie(cookie.value, {
          method: 'PATCH',
          url: `/api/v1/resource/all/${id}`,
          body: { description: 'x' },
          headers: { 'x-csrf-token': body.csrf_token, 'sec-fetch-site': 'cross-site' },
        }),
        403,
        'PERMISSION_DENIED',
      )
      const other = await signIn(`Bearer ${h.adminKey}`)
      assertErrorBody(
        await withCookie(cookie.value, {
          method: 'PATCH',
          url: `/api/v1/resource/all/${id}`,
          body: { description: 'x' },
          headers: { 'x-csrf-token': other.body.csrf_token },
        }),
        403,
        'PERMISSION_DENIED',
      )
      assert.equal((await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })).json().description, '')
      const patched = await withCookie(cookie.value, {
        method: 'PATCH',
        url: `/api/v1/resource/all/${id}`,
        body: { description: 'from the catalog' },
        headers: { 'x-csrf-token': body.csrf_token, 'sec-fetch-site': 'same-origin' },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(patched.json().description, 'from the catalog')
    })

    test("a viewer's session cannot edit through the API either", async () => {
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer' }))
      const { cookie, body } = await signIn(viewer)
      assert.equal(body.user.role, 'viewer')
      const { id } = await makeDatabase(h, { published: true })
      const refused = await withCookie(cookie.value, {
        method: 'PATCH',
        url: `/api/v1/resource/all/${id}`,
        body: { description: 'viewer' },
        headers: { 'x-csrf-token': body.csrf_token },
      })
      assertErrorBody(refused, 403, 'PERMISSION_DENIED')
      assert.equal((await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })).json().description, '')
    })

    test('sign-out, revoking the key, deleting the user and expiry each end the session at once', async () => {
      const ended = (token: string) =>
        withCookie(token, { method: 'GET', url: '/api/v1/resource/catalog' }).then((r) =>
          assert.match(assertErrorBody(r, 401, 'AUTHENTICATION_FAILED').detail, /sign in again/),
        )
      // Sign-out.
      const first = await signIn(`Bearer ${h.adminKey}`)
      const out = await withCookie(first.cookie.value, {
        method: 'DELETE',
        url: '/api/v1/auth/session',
        headers: { 'x-csrf-token': first.body.csrf_token },
      })
      assert.equal(out.statusCode, 204, out.body)
      const cleared = out.cookies.find((c) => c.name === 'docent_session')
      assert.ok(
        cleared !== undefined && (cleared.value === '' || cleared.maxAge === 0 || cleared.expires !== undefined),
      )
      await ended(first.cookie.value)
      // The key revoked.
      const userId = await makeUser(h, { role: 'editor' })
      const key = await makeKey(h, userId)
      const second = await signIn(key)
      const keyId = (await h.store.db.selectFrom('sessions').select('api_key_id').executeTakeFirstOrThrow()).api_key_id
      const keys = await h.store.db.selectFrom('api_keys').select('id').where('user_id', '=', userId).execute()
      assert.ok(keyId)
      const revoked = await h.request({ method: 'DELETE', url: `/api/v1/auth/api_keys/${keys[0]?.id}` })
      assert.equal(revoked.statusCode, 204, revoked.body)
      await ended(second.cookie.value)
      // The user deleted.
      const thirdUser = await makeUser(h, { role: 'editor' })
      const third = await signIn(await makeKey(h, thirdUser))
      const removed = await h.request({ method: 'DELETE', url: `/api/v1/user/${thirdUser}` })
      assert.equal(removed.statusCode, 204, removed.body)
      await ended(third.cookie.value)
      // Expired.
      const fourth = await signIn(`Bearer ${h.adminKey}`)
      await h.store.db.updateTable('sessions').set({ expires_at: '2020-01-01T00:00:00.000Z' }).execute()
      await ended(fourth.cookie.value)
      // A bearer key wins over a dead cookie; the session routes want a session.
      const bearer = await h.request({
        method: 'GET',
        url: '/api/v1/auth/session',
        cookies: { docent_session: fourth.cookie.value },
      } as never)
      assertErrorBody(bearer, 404, 'NOT_FOUND')
    })
  })
}

describe('the web catalog beside the API', () => {
  test('/ sends a browser to /ui/; /api/v1 is an API path (no redirect); other methods are 405', async () => {
    const h = await startHarness('sqlite')
    try {
      const root = await h.request({ method: 'GET', url: '/', headers: { authorization: undefined } })
      assert.equal(root.statusCode, 302)
      assert.equal(root.headers.location, '/ui/')
      assertErrorBody(
        await h.request({ method: 'GET', url: '/api/v1', headers: { authorization: undefined } }),
        404,
        'NOT_FOUND',
      )
      assertErrorBody(
        await h.request({ method: 'POST', url: '/ui', headers: { authorization: undefined } }),
        405,
        'METHOD_NOT_ALLOWED',
      )
      const asset = await h.request({
        method: 'GET',
        url: '/ui/assets/missing.js',
        headers: { authorization: undefined },
      })
      assertErrorBody(asset, 404, 'NOT_FOUND')
    } finally {
      await h.close()
    }
  })
})
