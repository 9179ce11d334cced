import { connect } from 'node:net'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Writes `request` as it is to a socket and reads the first answer: what `inject` cannot send (a Content-Length
 * that is not a number, a request line longer than Node allows, CONNECT). Write errors are ignored, as the
 * server may close the connection before the request is all sent.
 */
export function rawRequest(port: number, request: string, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString())}`))
    }, timeoutMs)
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('utf8')
      const answer = parse(text)
      if (answer === undefined) {
        reject(new Error(`no complete HTTP answer: ${JSON.stringify(text.slice(0, 500))}`))
      } else {
        resolve(answer)
      }
    }
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      if (parse(Buffer.concat(chunks).toString('utf8')) !== undefined) finish()
    })
    socket.on('end', finish)
    socket.on('close', finish)
    socket.on('error', () => {})
    socket.write(request, () => {})
  })
}

function parse(text: string): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = text.slice(end + 4)
  const length = Number(headers['content-length'] ?? 0)
  if (Buffer.byteLength(body) < length) return undefined
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}
