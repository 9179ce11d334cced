import { redactUrl } from '../../db/connect.ts'
import { ExtractError } from '../source.ts'

export const CONNECT_TIMEOUT_MS = 5000

/** Throws ExtractError('stopped') once `signal` is aborted; readers call it between queries. */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new ExtractError('stopped')
  }
}

/**
 * `work`, or ExtractError('stopped') as soon as `signal` aborts, without waiting for `work` (a driver may never
 * settle a connect it was told to drop); `discard` receives whatever `work` still yields after that.
 */
export function unlessAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  discard: (value: T) => void = () => {},
): Promise<T> {
  if (signal === undefined) return work
  return new Promise((resolve, reject) => {
    const stop = () => {
      reject(new ExtractError('stopped'))
      work.then(discard, () => {})
    }
    if (signal.aborted) return stop()
    signal.addEventListener('abort', stop, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop))
  })
}

/** The socket-level cause of a failed connection, with what to check; undefined when it is not one. */
export function networkReason(error: unknown): string | undefined {
  const { code, message } = errorParts(error)
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused — check host and port, and that the server is running'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found — check the host in the URL'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable — check the host and the network between docent and it'
    case 'ECONNRESET':
      return 'the server closed the connection — check the port and the SSL settings'
    case 'ETIMEDOUT':
      return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s — check host, port and firewall`
  }
  if (/timeout expired|connection timeout/i.test(message)) {
    return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s — check host, port and firewall`
  }
  return undefined
}

/** A driver error's code and message; Node reports a refused dual-stack connect as an AggregateError. */
export function errorParts(error: unknown): { code: string | undefined; message: string } {
  const inner = error instanceof AggregateError ? (error.errors[0] as unknown) : undefined
  const code = (error as { code?: unknown })?.code ?? (inner as { code?: unknown } | undefined)?.code
  const message = error instanceof Error ? error.message || String(inner ?? '') : String(error)
  return { code: typeof code === 'string' ? code : undefined, message }
}

/** A driver's message made safe to show: no URL credentials, no occurrence of the password. */
export function scrub(message: string, password: string | undefined): string {
  let safe = redactUrl(message)
  // Short passwords would mangle ordinary words; servers never echo them anyway, this is a second line.
  if (password !== undefined && password.length >= 4) {
    for (const form of new Set([password, encodeURIComponent(password)])) {
      safe = safe.split(form).join('***')
    }
  }
  return safe
}
