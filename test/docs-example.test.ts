import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { ENGINES, type Harness, startHarness } from './helpers.ts'

// docs/examples/knowledge.mjs, the example of docs/api.md "Knowledge resources", run as a new user would run it:
// a separate Node process that knows only docent's URL and an admin's key, against a listening server.

const SCRIPT = new URL('../docs/examples/knowledge.mjs', import.meta.url).pathname

function runScript(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SCRIPT], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

for (const { engine, skip } of ENGINES) {
  describe(`docs/examples/knowledge.mjs on ${engine}`, { skip }, () => {
    let h: Harness
    let url: string
    before(async () => {
      h = await startHarness(engine)
      url = await h.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => h?.close())

    test('runs to its end, twice, and leaves what it says it made', { timeout: 120_000 }, async () => {
      for (let run = 0; run < 2; run++) {
        const { code, stdout, stderr } = await runScript({ DOCENT_URL: url, DOCENT_API_KEY: h.adminKey })
        assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`)
        for (const line of [
          'ok  tables updated by the bulk update: 100',
          'ok  glossary terms found: 20',
          'ok  the question is answered: ANSWERED',
          'ok  replies to the question: 2',
          'ok  charts on the dashboard: 3',
        ]) {
          assert.ok(stdout.includes(line), `missing "${line}" in:\n${stdout}`)
        }
        assert.match(stdout, /ok {2}tables whose "Data steward \w+" is Finance team: 100/)
      }
      // Checked beside the script: the store holds what it made, twice.
      const count = async (type: string) =>
        Number(
          (
            await h.store.db
              .selectFrom('resources')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('entity_type', '=', type)
              .executeTakeFirstOrThrow()
          ).n,
        )
      assert.equal(await count('glossary'), 40)
      assert.equal(await count('table'), 200)
      assert.equal(await count('chart'), 6)
      const values = await h.store.db
        .selectFrom('custom_property_values')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      assert.equal(Number(values.n), 200)
    })

    test('without a key it says what to set and exits non-zero', async () => {
      const { code, stderr } = await runScript({ DOCENT_URL: url })
      assert.equal(code, 2)
      assert.match(stderr, /Set DOCENT_API_KEY/)
    })

    test('a refused call stops it with what docent answered', async () => {
      const { code, stderr } = await runScript({ DOCENT_URL: url, DOCENT_API_KEY: 'not-a-key' })
      assert.notEqual(code, 0)
      assert.match(stderr, /POST \/integration\/integrations answered 401/)
    })
  })
}
