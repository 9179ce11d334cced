import { connect, type Socket } from 'node:net'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * A socket to the server that writes requests as they are and reads answers in order: for what `inject` cannot
 * send (a Content-Length that is not a number, a request line longer than Node allows, CONNECT, a request on a
 * connection the server is closing). Write errors are ignored: the server may close before all is sent.
 */
export class RawConnection {
  readonly socket: Socket
  private received = Buffer.alloc(0)
  private ended = false
  private waiting: (() => void) | undefined

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1' })
    this.socket.on('data', (chunk) => {
      this.received = Buffer.concat([this.received, chunk])
      this.waiting?.()
    })
    const end = () => {
      this.ended = true
      this.waiting?.()
    }
    this.socket.on('end', end)
    this.socket.on('close', end)
    this.socket.on('error', () => {})
  }

  connected(): Promise<void> {
    return new Promise((resolve) => this.socket.once('connect', () => resolve()))
  }

  write(request: string): void {
    this.socket.write(request, () => {})
  }

  /** The next whole answer (status line, headers, and a body of its Content-Length). */
  async next(timeoutMs = 10_000): Promise<RawAnswer> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const answer = this.take()
      if (answer !== undefined) return answer
      if (this.ended || Date.now() > deadline) {
        throw new Error(`no complete HTTP answer: ${JSON.stringify(this.received.toString().slice(0, 500))}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100)
        this.waiting = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  close(): void {
    this.socket.destroy()
  }

  private take(): RawAnswer | undefined {
    const end = this.received.indexOf('\r\n\r\n')
    if (end < 0) return undefined
    const [statusLine = '', ...lines] = this.received.subarray(0, end).toString('utf8').split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    if (this.received.length < end + 4 + length) return undefined
    const body = this.received.subarray(end + 4, end + 4 + length).toString('utf8')
    this.received = this.received.subarray(end + 4 + length)
    return { status: Number(statusLine.split(' ')[1]), headers, body }
  }
}

/** Writes `request` on a new connection and reads the first answer. */
export async function rawRequest(port: number, request: string): Promise<RawAnswer> {
  const connection = new RawConnection(port)
  try {
    connection.write(request)
    return await connection.next()
  } finally {
    connection.close()
  }
}
