import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import pg from 'pg'
import { ENGINES, POSTGRES_URL } from '../helpers.ts'

const RESOURCES = 1000

// The harness end to end on a small catalog, so that it cannot rot; the full run stays out of CI.
for (const { engine, skip } of ENGINES) {
  describe(`npm run bench on ${engine} (smoke: ${RESOURCES} resources, 2 s a scenario)`, { skip }, () => {
    const out = mkdtempSync(join(tmpdir(), 'docent-bench-smoke-'))
    after(async () => {
      rmSync(out, { recursive: true, force: true })
      rmSync(join(import.meta.dirname, '..', '..', 'bench', 'data', `catalog-${RESOURCES}.db`), { force: true })
      rmSync(join(import.meta.dirname, '..', '..', 'bench', 'data', `catalog-${RESOURCES}.db-wal`), { force: true })
      rmSync(join(import.meta.dirname, '..', '..', 'bench', 'data', `catalog-${RESOURCES}.db-shm`), { force: true })
      if (engine === 'postgres') {
        const client = new pg.Client({ connectionString: POSTGRES_URL })
        await client.connect()
        await client.query(`drop database if exists docent_bench_${RESOURCES} with (force)`)
        await client.end()
      }
    })

    test('writes report.md and a report.json with every scenario, the ceiling, ratios and the engine facts', () => {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/run.ts',
          '--engine',
          engine,
          '--resources',
          String(RESOURCES),
          '--duration',
          '2',
          '--connections',
          '8',
          '--burst',
          '50',
          '--burst-rounds',
          '2',
          '--out',
          out,
        ],
        {
          cwd: join(import.meta.dirname, '..', '..'),
          env: { ...process.env, DOCENT_BENCH_POSTGRES_URL: POSTGRES_URL },
          encoding: 'utf8',
          timeout: 180_000,
        },
      )
      assert.equal(run.status, 0, run.stderr)
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))
      assert.equal(report.resources, RESOURCES)
      const scenarios = report.results.map((r: { scenario: string }) => r.scenario)
      const names = [
        'GET by id',
        'filtered list, page 1',
        'filtered list, page 1, with an unrelated writer',
        'filtered list, page 1, alone (slices alternating with the writer)',
        'a write, then a burst of identical lists',
        'PATCH description',
        'POST a table',
        'bulk update of 1,000 columns (tags and description), one request at a time',
        'filtered list, page 1, never cached',
        'search, one word (never cached)',
        'search, two words (never cached)',
        'search, one typo (never cached)',
        'custom property filter and sort (never cached)',
        'GET by id, store only (no HTTP)',
        'ceiling',
      ]
      for (const name of names) {
        assert.ok(scenarios.includes(name), `${name} in ${scenarios.join(', ')}`)
      }
      for (const result of report.results) {
        assert.equal(result.engine, engine)
        assert.ok(result.requests_per_second > 0, `${result.scenario} answered`)
        assert.equal(result.errors, 0, `${result.scenario} had errors`)
        for (const field of ['p50_ms', 'p99_ms', 'max_ms']) assert.equal(typeof result[field], 'number')
        if (result.scenario.endsWith('one request at a time')) assert.equal(result.ratio, null)
        else assert.ok(result.ratio > 0, `${result.scenario} has a ratio`)
      }
      const facts = report.engines[engine]
      assert.ok(facts.resources >= RESOURCES)
      assert.equal(typeof facts.build_seconds, 'number')
      assert.ok(facts.store_mb > 0)
      assert.ok(facts.cold_start_ms > 0)
      assert.ok(facts.peak_rss_mb === null || facts.peak_rss_mb > 0)
      assert.ok(facts.peak_rss_mb_all === null || facts.peak_rss_mb_all >= facts.peak_rss_mb)
      const { unrelated_writer: writer, burst_after_write: burst } = facts.cache
      assert.ok(writer.writes > 0 && writer.writes_per_second > 0, 'the unrelated writer wrote')
      assert.equal(typeof writer.change_percent, 'number')
      assert.ok(writer.plain_list_rps > 0 && writer.list_rps > 0)
      assert.equal(burst.requests, 100)
      assert.equal(burst.errors, 0)
      assert.ok(burst.p99_ms >= burst.p50_ms)
      assert.ok(burst.peak_rss_mb === null || burst.peak_rss_mb > 0)
      const markdown = readFileSync(join(out, 'report.md'), 'utf8')
      assert.match(markdown, /\| ceiling \|/)
      assert.match(markdown, /## The List Resources cache/)
    })
  })
}
