import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.ts'
import { ErrorSchema } from './schemas.ts'

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * At most `perMinute` writes a minute for each API key; reads are never limited. The counters live in this
 * process: with several instances, each counts on its own.
 */
export async function installWriteRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  if (perMinute <= 0) {
    return
  }
  // Before @fastify/swagger reads the route: the OpenAPI document lists 429 on every write.
  app.addHook('onRoute', (route) => {
    if (route.schema !== undefined && [route.method].flat().some((method) => WRITES.has(method))) {
      route.schema = { ...route.schema, response: { ...(route.schema.response as object), 429: ErrorSchema } }
    }
  })
  await app.register(rateLimit, {
    global: true,
    max: perMinute,
    timeWindow: 60_000,
    // After authentication (an onRequest hook), so the counter belongs to the key, not to an address.
    hook: 'preHandler',
    enableDraftSpec: true,
    keyGenerator: (request: FastifyRequest) => request.principal?.keyId ?? request.ip,
    allowList: (request: FastifyRequest) =>
      !WRITES.has(request.method) || request.principal === null || request.routeOptions.config.readOnly === true,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        'RATE_LIMITED',
        `Too many writes with this API key: at most ${context.max} a minute. Try again in ${Math.ceil(context.ttl / 1000)} s.`,
      ),
  })
}
