import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertErrorBody,
  assertFieldError,
  ENGINES,
  type Harness,
  makeKey,
  makeTeam,
  makeUser,
  makeWorkspace,
  startHarness,
} from '../helpers.ts'

// CONTRACT §9: questions (status, priority, assignee) and their replies, one of which may be the accepted answer.

interface Made {
  id: string
  entity_type: string
  parent: string | null
  question_status: string | null
  question_priority: string | null
  question_assigned_to: string | null
  question_answered_by: string | null
  accepted?: boolean
}

const QUESTIONS = '/api/v1/question/questions'
const REPLIES = '/api/v1/question/replies'

for (const { engine, skip } of ENGINES) {
  describe(`questions and replies on ${engine}`, { skip }, () => {
    let h: Harness
    before(async () => {
      h = await startHarness(engine)
    })
    after(() => h?.close())

    const post = (url: string, body: Record<string, unknown>, authorization?: string) =>
      h.request({ method: 'POST', url, body, ...(authorization === undefined ? {} : { headers: { authorization } }) })
    const create = async (url: string, body: Record<string, unknown>, authorization?: string) => {
      const response = await post(url, body, authorization)
      assert.equal(response.statusCode, 201, response.body)
      return response.json() as Made
    }
    const get = async (id: string) =>
      (await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })).json() as Made
    const patch = async (url: string, body: Record<string, unknown>, authorization?: string) => {
      const response = await h.request({
        method: 'PATCH',
        url,
        body,
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      })
      assert.equal(response.statusCode, 200, response.body)
      return response.json() as Made
    }
    const ids = (response: { json(): { results: { id: string }[] } }) => response.json().results.map((r) => r.id)

    test('a question starts OPEN and MEDIUM; its status, priority and assignee are checked and filtered on', async () => {
      const question = await create(QUESTIONS, { title: 'Where is churn?' })
      assert.equal(question.entity_type, 'question')
      assert.equal(question.question_status, 'OPEN')
      assert.equal(question.question_priority, 'MEDIUM')
      assert.equal(question.question_assigned_to, null)
      assertFieldError(await post(QUESTIONS, { title: 'x', question_status: 'DONE' }), 'question_status')
      assertFieldError(await post(QUESTIONS, { title: 'x', question_priority: 'URGENT' }), 'question_priority')
      const analyst = await makeUser(h, { role: 'editor' })
      const outsider = (await makeWorkspace(h)).adminUserId
      assertFieldError(
        await post(QUESTIONS, { title: 'x', question_assigned_to: outsider }),
        'question_assigned_to',
        /not a user of this workspace/,
      )
      const assigned = await create(QUESTIONS, {
        title: 'Who owns orders?',
        question_priority: 'HIGH',
        question_assigned_to: analyst.toUpperCase(),
      })
      assert.equal(assigned.question_assigned_to, analyst)
      const closed = await patch(`${QUESTIONS}/${question.id}`, { question_status: 'CLOSED' })
      assert.equal(closed.question_status, 'CLOSED')
      const byStatus = await h.request({ method: 'GET', url: `${QUESTIONS}?question_status=CLOSED` })
      assert.deepEqual(ids(byStatus), [question.id])
      const byAssignee = await h.request({ method: 'GET', url: `${QUESTIONS}?question_assigned_to=${analyst}` })
      assert.deepEqual(ids(byAssignee), [assigned.id])
      const filter = encodeURIComponent(
        JSON.stringify({ operator: 'exact', field: 'question_priority', value: 'HIGH' }),
      )
      const listed = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${filter}` })
      assert.deepEqual(ids(listed), [assigned.id])
      // Deleting the user takes them out of the question.
      assert.equal((await h.request({ method: 'DELETE', url: `/api/v1/user/${analyst}` })).statusCode, 204)
      assert.equal((await get(assigned.id)).question_assigned_to, null)
    })

    test("a question's fields belong to questions, `accepted` to replies", async () => {
      const doc = await post('/api/v1/document/documents', { title: 'x', question_status: 'OPEN' })
      assertFieldError(doc, 'question_status', /only a question/)
      assertFieldError(await post(QUESTIONS, { title: 'x', accepted: true }), 'accepted', /only a reply/)
      const question = await create(QUESTIONS, { title: 'A question' })
      const reply = await create(REPLIES, { title: 'A reply', parent: question.id })
      const bad = await h.request({
        method: 'PATCH',
        url: `${REPLIES}/${reply.id}`,
        body: { question_priority: 'LOW' },
      })
      assertFieldError(bad, 'question_priority', /only a question/)
      assertFieldError(await post(REPLIES, { title: 'No question' }), 'parent', /question/)
      const doc2 = await create('/api/v1/document/documents', { title: 'Not a question' })
      assertFieldError(await post(REPLIES, { title: 'Misplaced', parent: doc2.id }), 'parent', /question/)
    })

    test('accepting a reply answers its question; a second moves the answer; deleting it reopens the question', async () => {
      const first = await makeUser(h, { role: 'editor' })
      const second = await makeUser(h, { role: 'editor' })
      const [firstKey, secondKey] = [await makeKey(h, first), await makeKey(h, second)]
      const question = await create(QUESTIONS, { title: 'What is ARR?' })
      const a = await create(REPLIES, { title: 'Annual recurring revenue', parent: question.id }, firstKey)
      const b = await create(REPLIES, { title: 'Yearly subscriptions', parent: question.id }, secondKey)
      assert.equal(a.accepted, false)
      const replies = await h.request({ method: 'GET', url: `${REPLIES}?question=${question.id}` })
      assert.deepEqual(ids(replies).sort(), [a.id, b.id].sort())

      assert.equal((await patch(`${REPLIES}/${a.id}`, { accepted: true })).accepted, true)
      let q = await get(question.id)
      assert.equal(q.question_status, 'ANSWERED')
      assert.equal(q.question_answered_by, first)

      await patch(`${REPLIES}/${b.id}`, { accepted: true })
      q = await get(question.id)
      assert.equal(q.question_answered_by, second)
      assert.equal((await get(a.id)).accepted, false)
      assert.equal((await get(b.id)).accepted, true)
      const accepted = encodeURIComponent(JSON.stringify({ operator: 'exact', field: 'accepted', value: true }))
      const found = await h.request({ method: 'GET', url: `/api/v1/resource/catalog?filter=${accepted}&page_size=100` })
      assert.ok(ids(found).includes(b.id) && !ids(found).includes(a.id))

      assert.equal((await h.request({ method: 'DELETE', url: `${REPLIES}/${b.id}` })).statusCode, 204)
      q = await get(question.id)
      assert.equal(q.question_status, 'OPEN')
      assert.equal(q.question_answered_by, null)

      await patch(`${REPLIES}/${a.id}`, { accepted: true })
      await patch(`${REPLIES}/${a.id}`, { accepted: false })
      q = await get(question.id)
      assert.equal(q.question_status, 'OPEN')
      assert.equal(q.question_answered_by, null)
      // A reply accepted when it is written answers at once.
      const c = await create(REPLIES, { title: 'ARR is MRR times 12', parent: question.id, accepted: true })
      assert.equal(c.accepted, true)
      assert.equal((await get(question.id)).question_status, 'ANSWERED')
      // Deleting the question takes its replies.
      assert.equal((await h.request({ method: 'DELETE', url: `${QUESTIONS}/${question.id}` })).statusCode, 204)
      assertErrorBody(await h.request({ method: 'GET', url: `${REPLIES}/${a.id}` }), 404, 'NOT_FOUND')
    })

    test('two replies accepted at once leave exactly one accepted, and the question answered by its author', async () => {
      const question = await create(QUESTIONS, { title: 'Race' })
      const replies = await Promise.all(
        Array.from({ length: 4 }, (_, i) => create(REPLIES, { title: `reply ${i}`, parent: question.id })),
      )
      const answers = await Promise.all(
        replies.map((reply) => h.request({ method: 'PATCH', url: `${REPLIES}/${reply.id}`, body: { accepted: true } })),
      )
      for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body)
      const now = await Promise.all(replies.map((reply) => get(reply.id)))
      assert.equal(now.filter((reply) => reply.accepted).length, 1)
      assert.equal((await get(question.id)).question_status, 'ANSWERED')
    })

    test('a resource read and sent back as a PATCH is accepted, whatever its type', async () => {
      const question = await create(QUESTIONS, { title: 'Round trip' })
      const reply = await create(REPLIES, { title: 'Reply', parent: question.id })
      const doc = await create('/api/v1/document/documents', { title: 'Doc' })
      for (const id of [question.id, reply.id, doc.id]) {
        const read = (await h.request({ method: 'GET', url: `/api/v1/resource/all/${id}` })).json()
        const writable = Object.fromEntries(
          Object.entries(read).filter(([field]) =>
            [
              'title',
              'description',
              'question_status',
              'question_priority',
              'question_assigned_to',
              'accepted',
              'pii',
            ].includes(field),
          ),
        )
        await patch(`/api/v1/resource/all/${id}`, writable)
      }
      assertFieldError(
        await h.request({ method: 'PATCH', url: `${QUESTIONS}/${question.id}`, body: { question_status: null } }),
        'question_status',
        /cannot be null/,
      )
      assertFieldError(
        await h.request({ method: 'PATCH', url: `/api/v1/document/documents/${doc.id}`, body: { accepted: true } }),
        'accepted',
      )
    })

    test('replies accepted at once, as they are written or by bulk update and PATCH, leave exactly one accepted', async () => {
      const question = await create(QUESTIONS, { title: 'Crowd' })
      const created = await Promise.all(
        Array.from({ length: 4 }, (_, i) => post(REPLIES, { title: `r${i}`, parent: question.id, accepted: true })),
      )
      for (const response of created) assert.equal(response.statusCode, 201, response.body)
      const [a, b] = created.map((response) => response.json() as Made) as [Made, Made]
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all([
          h.request({
            method: 'POST',
            url: '/api/v1/resource/all/bulk_update',
            body: [{ id: a.id, data: { accepted: true } }],
          }),
          h.request({ method: 'PATCH', url: `${REPLIES}/${b.id}`, body: { accepted: true } }),
        ])
        for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body)
      }
      const replies = (await h.request({ method: 'GET', url: `${REPLIES}?question=${question.id}` })).json()
        .results as Made[]
      assert.equal(replies.filter((reply) => reply.accepted).length, 1)
      assert.equal((await get(question.id)).question_status, 'ANSWERED')
    })

    test('a viewer sees no unpublished reply, and may not reply', async () => {
      const team = await makeTeam(h, { type: 'OPEN' })
      const viewer = await makeKey(h, await makeUser(h, { role: 'viewer', teamIds: [team] }))
      const question = await create(QUESTIONS, { title: 'Visible question', teams: [team] })
      const shown = await create(REPLIES, { title: 'shown', parent: question.id, teams: [team] })
      const draft = await create(REPLIES, { title: 'draft', parent: question.id, teams: [team], published: false })
      const listed = await h.request({
        method: 'GET',
        url: `${REPLIES}?question=${question.id}`,
        headers: { authorization: viewer },
      })
      assert.deepEqual(ids(listed), [shown.id])
      const hidden = await h.request({
        method: 'GET',
        url: `${REPLIES}/${draft.id}`,
        headers: { authorization: viewer },
      })
      assertErrorBody(hidden, 404, 'NOT_FOUND')
      assertErrorBody(await post(REPLIES, { title: 'mine', parent: question.id }, viewer), 403, 'PERMISSION_DENIED')
    })
  })
}
