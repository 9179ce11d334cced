/**
 * The List Resources cache under the two loads of issue 11: a writer elsewhere on the database server, and a burst
 * of identical lists right after a write. Everything here talks HTTP to the server under test and SQL only to
 * what docent does not read, so the file works unchanged on any checkout whose server speaks the API.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { ROOT } from './processes.ts'

/** What the unrelated writer did while a scenario ran. */
export interface WriterReport {
  writes: number
  seconds: number
  writes_per_second: number
  /** Where it wrote, in words. */
  target: string
}

/**
 * Runs `during` while another process inserts `rate` rows a second where docent never reads: on PostgreSQL into
 * the database `docent_bench_unrelated` of the same server, on SQLite into a table of its own
 * (`bench_unrelated_writes`, dropped afterwards) in the catalog's file.
 */
export async function withUnrelatedWriter<T>(
  engine: 'sqlite' | 'postgres',
  target: string,
  rate: number,
  during: () => Promise<T>,
): Promise<{ result: T; writer: WriterReport }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'unrelated-writer.ts'), engine, target, String(rate)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const lines = linesOf(child)
  if ((await lines.next()) !== 'ready') throw new Error('the unrelated writer did not start')
  let result: T
  try {
    result = await during()
  } finally {
    child.kill('SIGTERM')
  }
  const summary = await lines.next()
  if (summary === undefined) throw new Error('the unrelated writer ended without a report')
  const { writes, seconds } = JSON.parse(summary) as { writes: number; seconds: number }
  return {
    result,
    writer: {
      writes,
      seconds: Number(seconds.toFixed(1)),
      writes_per_second: Number((writes / seconds).toFixed(1)),
      target:
        engine === 'postgres'
          ? 'inserts into another database (docent_bench_unrelated) of the same PostgreSQL server'
          : 'inserts into a table docent does not read (bench_unrelated_writes) in the catalog file, from another process',
    },
  }
}

/** The lines a child writes to stdout, one at a time (undefined once it has ended). */
function linesOf(child: ChildProcess) {
  const queue: string[] = []
  let waiting: ((line: string | undefined) => void) | undefined
  let ended = false
  let rest = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    for (const line of parts) {
      if (waiting !== undefined) {
        const deliver = waiting
        waiting = undefined
        deliver(line)
      } else queue.push(line)
    }
  })
  child.once('close', () => {
    ended = true
    waiting?.(undefined)
  })
  return {
    next: () =>
      new Promise<string | undefined>((resolve) => {
        const line = queue.shift()
        if (line !== undefined || ended) resolve(line)
        else waiting = resolve
      }),
  }
}

export interface BurstReport {
  rounds: number
  burst: number
  requests: number
  errors: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  /** Requests a second over the bursts (the PATCHes and the pauses between rounds left out). */
  requests_per_second: number
  /** The server's peak resident set during the bursts, in MB (null where /proc does not tell). */
  peak_rss_mb: number | null
  /**
   * The largest private (anonymous) part of it, sampled every 10 ms, in MB: the resident set without the pages of
   * files the process maps. On SQLite docent maps its store file, whose pages read count in the resident set
   * though they are the OS's page cache, shared and reclaimable.
   */
  peak_private_mb: number | null
}

/**
 * `rounds` times: one PATCH, then `burst` identical GETs of `listPath` sent at once, each on its own connection
 * (kept open from round to round). Latency is from sending a request to the end of its answer.
 */
export async function burstAfterWrite(options: {
  base: string
  key: string
  listPath: string
  patch: () => { path: string; body: string }
  rounds: number
  burst: number
  serverPid: number | undefined
}): Promise<BurstReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.burst })
  const headers = { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' }
  const send = (method: string, path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${options.base}${path}`, { method, headers, agent }, (res) => {
        res.resume()
        res.once('end', () => resolve(res.statusCode ?? 0))
        res.once('error', reject)
      })
      req.once('error', reject)
      req.end(body)
    })
  const latencies: number[] = []
  let errors = 0
  let busyMs = 0
  const rss = watchPeakRss(options.serverPid)
  try {
    for (let round = 0; round < options.rounds; round++) {
      const { path, body } = options.patch()
      if ((await send('PATCH', path, body)) !== 200) errors++
      const started = performance.now()
      await Promise.all(
        Array.from({ length: options.burst }, async () => {
          const sent = performance.now()
          const status = await send('GET', options.listPath).catch(() => 0)
          latencies.push(performance.now() - sent)
          if (status !== 200) errors++
        }),
      )
      busyMs += performance.now() - started
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  } finally {
    agent.destroy()
  }
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0)
  return {
    rounds: options.rounds,
    burst: options.burst,
    requests: latencies.length,
    errors,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: Math.round(latencies.at(-1) ?? 0),
    requests_per_second: Number((latencies.length / (busyMs / 1000)).toFixed(1)),
    ...rss.stop(),
  }
}

/**
 * The peak resident set of a process from now on: Linux resets a process's high-water mark (VmHWM) when "5" is
 * written to its clear_refs; where that is refused, the resident set is sampled every 10 ms instead. Its private
 * part (RssAnon) has no high-water mark and is always sampled.
 */
function watchPeakRss(pid: number | undefined): {
  stop(): { peak_rss_mb: number | null; peak_private_mb: number | null }
} {
  if (pid === undefined) return { stop: () => ({ peak_rss_mb: null, peak_private_mb: null }) }
  const status = (field: 'VmHWM' | 'VmRSS' | 'RssAnon') => {
    try {
      const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      return Number.isFinite(kb) ? kb : undefined
    } catch {
      return undefined
    }
  }
  let reset = true
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
  } catch {
    reset = false
  }
  let sampled = status('VmRSS') ?? 0
  let sampledPrivate = status('RssAnon') ?? 0
  const timer = setInterval(() => {
    sampled = Math.max(sampled, status('VmRSS') ?? 0)
    sampledPrivate = Math.max(sampledPrivate, status('RssAnon') ?? 0)
  }, 10)
  const mb = (kb: number) => (kb > 0 ? Math.round(kb / 1024) : null)
  return {
    stop() {
      clearInterval(timer)
      sampledPrivate = Math.max(sampledPrivate, status('RssAnon') ?? 0)
      return { peak_rss_mb: mb(reset ? (status('VmHWM') ?? sampled) : sampled), peak_private_mb: mb(sampledPrivate) }
    },
  }
}
