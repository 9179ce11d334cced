import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { ApiError } from '../errors.ts'
import { errorBody } from './error-handler.ts'
import { ErrorSchema } from './schemas.ts'

const kib = (bytes: number) => `${Math.floor(bytes / 1024)} KiB`

/** What Node's HTTP parser refuses before a request exists, in the words of CONTRACT §1. */
function clientErrorOf(code: string | undefined, maxHeaderSize: number): ApiError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(
        'HEADERS_TOO_LARGE',
        `The request line and headers are larger than ${kib(maxHeaderSize)}: shorten the URL or the headers.`,
      )
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('REQUEST_TIMEOUT', 'The request did not arrive in time: send it again.')
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new ApiError(
        'BAD_REQUEST',
        'The Content-Length header must be one whole number of bytes, and not sent with Transfer-Encoding.',
      )
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return new ApiError(
        'BAD_REQUEST',
        'The Transfer-Encoding header must end in chunked, and not be sent with Content-Length.',
      )
    case 'HPE_INVALID_METHOD':
      return new ApiError('BAD_REQUEST', 'The request method is not an HTTP method.')
    default:
      return new ApiError('BAD_REQUEST', 'The request is not valid HTTP/1.1.')
  }
}

/** A whole HTTP/1.1 answer for a socket no Fastify reply exists for; the connection closes after it. */
function rawAnswer(error: ApiError): string {
  const payload = JSON.stringify(errorBody(error))
  return [
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(payload)}`,
    'Connection: close',
    '',
    payload,
  ].join('\r\n')
}

/** Fastify's `clientErrorHandler` option: Node's 400/408/431 answers, with the body of CONTRACT §1. */
export function clientErrorHandler(maxHeaderSize: number) {
  return function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) {
      return
    }
    this.log.debug({ err: error }, 'refused a malformed request')
    // As Node does: never write into a response that has started on this socket (a pipelined request).
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
    if (socket.writable && inFlight?.headersSent !== true) {
      socket.end(rawAnswer(clientErrorOf(error.code, maxHeaderSize)))
    } else {
      socket.destroy()
    }
  }
}

const EVERY_ROUTE = [400, 405, 408, 431, 500, 503] as const
const WITH_BODY = [413, 415] as const
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Answers what Node or Fastify would otherwise answer without a JSON body, and lists in the OpenAPI document
 * every status a route can give before its handler runs (a malformed or too large request, another method, a
 * body too large or not JSON, a shutdown), so that no answer has a status its route does not document
 * (CONTRACT §8). Needs Fastify's `return503OnClosing: false`.
 */
export function installTransportAnswers(app: FastifyInstance): void {
  // Fastify's own 503 for a request that arrives on an open connection while the server closes has its own
  // body; this one is first of the onRequest hooks, so such a request touches nothing.
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', (_request, reply, done) => {
    if (closing) {
      reply.header('Connection', 'close')
      done(new ApiError('SHUTTING_DOWN', 'docent is shutting down: send the request again.'))
    } else {
      done()
    }
  })
  // Without a listener, Node closes a CONNECT's socket without an answer.
  app.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    socket.end(rawAnswer(new ApiError('METHOD_NOT_ALLOWED', 'Method "CONNECT" not allowed.')))
  })
  // Node answers an Expect other than 100-continue with a bare 417; docent ignores expectations it does not know.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    app.routing(request, response)
  })
  app.addHook('onRoute', (route) => {
    const schema = route.schema as (FastifySchema & { hide?: boolean }) | undefined
    if (schema === undefined || schema.hide === true || route.url.startsWith('/docs')) {
      return
    }
    const response: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) }
    const takesBody = [route.method].flat().some((method) => BODY_METHODS.has(method))
    for (const status of takesBody ? [...EVERY_ROUTE, ...WITH_BODY] : EVERY_ROUTE) {
      response[status] ??= ErrorSchema
    }
    route.schema = { ...schema, response }
  })
}
