import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import type { Engine } from '../src/db/types.ts'

export const ROOT = resolve(import.meta.dirname, '..')

/** The PostgreSQL server the benchmarks use; each catalog is a database of its own there. */
export const POSTGRES_URL = process.env.DOCENT_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'

/** The store of the benchmark catalog of `resources` resources: a file under bench/data, or its own database. */
export function catalogUrl(engine: Engine, resources: number): string {
  if (engine === 'sqlite') return `sqlite:${join(ROOT, 'bench', 'data', `catalog-${resources}.db`)}`
  const url = new URL(POSTGRES_URL)
  url.pathname = `/docent_bench_${resources}`
  return url.toString()
}

/** The value below which `p` percent of `values` lie. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port')),
      )
    })
  })
}

export interface Server {
  child: ChildProcess
  base: string
  /** From spawning the process to the first 200 of an authenticated request. */
  coldStartMs: number
}

/** Starts `docent serve` on the store and waits for its first 200; `nodeArgs` go to node (e.g. `--cpu-prof`). */
export async function startDocent(url: string, key: string, nodeArgs: string[] = []): Promise<Server> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'docent.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DOCENT_DATABASE_URL: url, DOCENT_ADMIN_API_KEY: key, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const base = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docent exited with ${child.exitCode} before answering`)
    if (performance.now() - started > 60_000) throw new Error('docent did not answer within 60 s')
    try {
      const response = await fetch(`${base}/api/v1/database/databases/?page_size=1`, {
        headers: { authorization: `Bearer ${key}` },
      })
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  return { child, base, coldStartMs: performance.now() - started }
}

/** Starts the ceiling server (bench/ceiling-server.js) answering with the bytes in `bodyFile`. */
export async function startCeiling(bodyFile: string): Promise<Server> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'ceiling-server.js'), bodyFile, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((done, fail) => {
    child.stdout?.once('data', () => done())
    child.once('exit', (code) => fail(new Error(`the ceiling server exited with ${code}`)))
  })
  return { child, base: `http://127.0.0.1:${port}`, coldStartMs: performance.now() - started }
}

/** The peak resident set of a process so far (VmHWM), in MB; null where /proc does not tell. */
export function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1])
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null
  } catch {
    return null
  }
}

export async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return
  const exited = new Promise((r) => server.child.once('exit', r))
  server.child.kill('SIGTERM')
  await exited
}
