import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ENGINES, type Harness, makeKey, makeTeam, makeUser, startHarness } from '../helpers.ts'

// The role matrix of CONTRACT §7 over each knowledge resource type (CONTRACT §9): what each role may create, see,
// change and delete, for a published and a draft resource of its own team.

type Role = 'admin' | 'editor' | 'viewer' | 'guest'
const ROLES: Role[] = ['admin', 'editor', 'viewer', 'guest']

/** Each typed route, and what its resources need to be created (a parent made by the admin, where required). */
const TYPES = [
  { type: 'glossary', path: '/dictionary/terms' },
  { type: 'document', path: '/document/documents' },
  { type: 'question', path: '/question/questions' },
  { type: 'question_reply', path: '/question/replies', parentPath: '/question/questions' },
  { type: 'dashboard', path: '/dashboard/dashboards' },
  { type: 'chart', path: '/dashboard/charts', parentPath: '/dashboard/dashboards' },
] as const

// biome-ignore format: a table reads best as a table
const EXPECTED: Record<Role, { create: number; seesDraft: boolean; patch: number; delete: number }> = {
  admin:  { create: 201, seesDraft: true,  patch: 200, delete: 204 },
  editor: { create: 201, seesDraft: true,  patch: 200, delete: 403 },
  viewer: { create: 403, seesDraft: false, patch: 403, delete: 403 },
  guest:  { create: 403, seesDraft: false, patch: 403, delete: 403 },
}

for (const { engine, skip } of ENGINES) {
  describe(`the role matrix over knowledge resources on ${engine}`, { skip }, () => {
    let h: Harness
    let team: string
    const keys = {} as Record<Role, string>
    before(async () => {
      h = await startHarness(engine)
      team = await makeTeam(h, { type: 'OPEN' })
      for (const role of ROLES) keys[role] = await makeKey(h, await makeUser(h, { role, teamIds: [team] }))
    })
    after(() => h?.close())

    const call = (method: string, url: string, role: Role | 'owner', body?: Record<string, unknown>) =>
      h.request({
        method: method as 'GET',
        url: `/api/v1${url}`,
        ...(body === undefined ? {} : { body }),
        ...(role === 'owner' ? {} : { headers: { authorization: keys[role] } }),
      })

    for (const { type, path, ...rest } of TYPES) {
      const parentPath = 'parentPath' in rest ? rest.parentPath : undefined
      for (const role of ROLES) {
        test(`${role} × ${type}: create ${EXPECTED[role].create}, draft ${EXPECTED[role].seesDraft ? 'seen' : 'unseen'}, PATCH ${EXPECTED[role].patch}, DELETE ${EXPECTED[role].delete}`, async () => {
          const expected = EXPECTED[role]
          const parent =
            parentPath === undefined
              ? {}
              : {
                  parent: (
                    await call('POST', parentPath, 'owner', { title: `parent of ${type}`, teams: [team] })
                  ).json().id,
                }
          const made = async (published: boolean) => {
            const response = await call('POST', path, 'owner', {
              title: `${type} ${published}`,
              teams: [team],
              published,
              ...parent,
            })
            assert.equal(response.statusCode, 201, response.body)
            return response.json().id as string
          }
          const [shown, draft] = [await made(true), await made(false)]
          const created = await call('POST', path, role, { title: `${type} by ${role}`, teams: [team], ...parent })
          assert.equal(created.statusCode, expected.create, created.body)
          const listed = (await call('GET', `${path}?page_size=100`, role))
            .json()
            .results.map((r: { id: string }) => r.id)
          assert.equal(listed.includes(shown), true)
          assert.equal(listed.includes(draft), expected.seesDraft)
          assert.equal((await call('GET', `${path}/${draft}`, role)).statusCode, expected.seesDraft ? 200 : 404)
          const answer = (await call('GET', `${path}/${shown}`, role)).json()
          assert.deepEqual(answer.current_user_permissions, {
            read: true,
            write: expected.patch === 200,
            execute: expected.delete === 204,
          })
          assert.equal(
            (await call('PATCH', `${path}/${shown}`, role, { description: role })).statusCode,
            expected.patch,
          )
          assert.equal((await call('DELETE', `${path}/${shown}`, role)).statusCode, expected.delete)
        })
      }
    }
  })
}
