import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  ENGINES,
  type Harness,
  makeDatabase,
  makeIntegration,
  makeKey,
  makeTeam,
  makeUser,
  makeVia,
  startHarness,
} from '../helpers.ts'

// List Resources keeps recent answers (src/catalog/result-cache.ts): one caller's answer must never reach another
// who sees differently, and a change to what a caller may see must show in its next identical list.

for (const { engine, skip } of ENGINES) {
  describe(`the List Resources cache and visibility on ${engine}`, { skip }, () => {
    let h: Harness
    let integration: string
    const team = {} as Record<'a' | 'b', string>
    const user = {} as Record<'viewerA' | 'viewerB' | 'editorA', string>
    const key = {} as Record<keyof typeof user, string>
    const titles = {} as Record<'published' | 'draft' | 'underDraft' | 'inB', string>

    before(async () => {
      h = await startHarness(engine)
      team.a = await makeTeam(h)
      team.b = await makeTeam(h)
      for (const [name, role, teamId] of [
        ['viewerA', 'viewer', team.a],
        ['viewerB', 'viewer', team.b],
        ['editorA', 'editor', team.a],
      ] as const) {
        user[name] = await makeUser(h, { role, teamIds: [teamId] })
        key[name] = await makeKey(h, user[name])
      }
      integration = await makeIntegration(h)
      const database = await makeDatabase(h, { integration, teams: [team.a, team.b], title: 'db' })
      titles.published = (
        await makeVia(h, '/database/schemas', { parent: database.id, teams: [team.a], title: 'open' })
      ).title_full as string
      const draft = await makeVia(h, '/database/schemas', {
        parent: database.id,
        teams: [team.a],
        published: false,
        title: 'draft',
      })
      titles.draft = draft.title_full as string
      titles.underDraft = (await makeVia(h, '/table/tables', { parent: draft.id, teams: [team.a], title: 't' }))
        .title_full as string
      titles.inB = (await makeVia(h, '/database/schemas', { parent: database.id, teams: [team.b], title: 'b' }))
        .title_full as string
    })
    after(() => h?.close())

    const list = async (who: keyof typeof key | { authorization: string }) => {
      const filter = encodeURIComponent(
        JSON.stringify({ operator: 'exact', field: 'integration_id', value: integration }),
      )
      const response = await h.request({
        method: 'GET',
        url: `/api/v1/resource/catalog?filter=${filter}`,
        headers: { authorization: typeof who === 'string' ? key[who] : who.authorization },
      })
      assert.equal(response.statusCode, 200, response.body)
      return response
        .json()
        .results.map((r: { title_full: string }) => r.title_full)
        .sort()
    }

    test('callers who see differently each get their own answer to the same list, however often they ask', async () => {
      const expected = {
        viewerA: ['db', titles.published].sort(),
        viewerB: ['db', titles.inB].sort(),
        editorA: ['db', titles.published, titles.draft, titles.underDraft].sort(),
      }
      for (const round of [1, 2]) {
        for (const who of ['viewerA', 'editorA', 'viewerB', 'viewerA'] as const) {
          assert.deepEqual(await list(who), expected[who], `${who}, round ${round}`)
        }
      }
    })

    test('publishing a draft shows it and what is under it in the next identical list of a viewer', async () => {
      const viewer = { authorization: await makeKey(h, await makeUser(h, { role: 'viewer', teamIds: [team.a] })) }
      assert.ok(!(await list(viewer)).includes(titles.underDraft))
      const draftId = (
        await h.request({
          method: 'GET',
          url: `/api/v1/database/schemas?integration_id=${integration}&title=draft`,
        })
      ).json().results[0].id
      const patched = await h.request({
        method: 'PATCH',
        url: `/api/v1/resource/all/${draftId}`,
        body: { published: true },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.ok((await list(viewer)).includes(titles.underDraft))
      await h.request({ method: 'PATCH', url: `/api/v1/resource/all/${draftId}`, body: { published: false } })
      assert.ok(!(await list(viewer)).includes(titles.underDraft))
    })

    test("a change of a user's role shows in its next identical list", async () => {
      const viewer = await makeUser(h, { role: 'viewer', teamIds: [team.a] })
      const as = { authorization: await makeKey(h, viewer) }
      assert.ok(!(await list(as)).includes(titles.draft))
      const promoted = await h.request({ method: 'PATCH', url: `/api/v1/user/${viewer}`, body: { role: 'editor' } })
      assert.equal(promoted.statusCode, 200, promoted.body)
      assert.ok((await list(as)).includes(titles.draft))
    })
  })
}
