import { METHODS as NODE_METHODS } from 'node:http'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { ApiError } from '../errors.ts'

const API_PREFIX = /^\/api\/v1(?=\/|\?|$)/

/** `/api/v1/<path>` is the same route as `/<path>` (no redirect); Fastify's `rewriteUrl` applies this. */
export function stripApiPrefix(url: string): string {
  const stripped = url.replace(API_PREFIX, '')
  return stripped.startsWith('/') ? stripped : `/${stripped}`
}

// CONNECT names a host, not a path: Node hands it to the server's 'connect' listener (see transport.ts).
const STANDARD = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const METHODS = [...STANDARD, ...NODE_METHODS.filter((method) => !STANDARD.includes(method) && method !== 'CONNECT')]

/**
 * Lets the router see every method Node's parser accepts (TRACE, PROPFIND, ...), so that a known path answers
 * 405 for them like for any other method it lacks, instead of 404. Call before adding routes.
 */
export function routeEveryMethod(app: FastifyInstance): void {
  const supported = new Set(app.supportedMethods)
  for (const method of METHODS) {
    if (!supported.has(method)) {
      app.addHttpMethod(method)
    }
  }
}

/**
 * Records every route as it is added; `answerOtherMethods` then gives each path a 405 for the methods it
 * lacks, with `Allow`, so a wrong method is told apart from a wrong path.
 */
export function trackRoutes(app: FastifyInstance): { answerOtherMethods(): void } {
  const methodsByPath = new Map<string, Set<string>>()
  app.addHook('onRoute', (route) => {
    const methods = methodsByPath.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) {
      methods.add(method)
    }
    methodsByPath.set(route.url, methods)
  })
  return {
    answerOtherMethods() {
      for (const [url, methods] of [...methodsByPath]) {
        if (url.startsWith('/docs') || url === '*' || url.endsWith('*')) {
          continue
        }
        const missing = METHODS.filter((m) => !methods.has(m))
        const allow = METHODS.filter((m) => methods.has(m)).join(', ')
        if (missing.length === 0) {
          continue
        }
        app.route({
          method: missing,
          url,
          schema: { hide: true } as FastifySchema,
          handler: async (request, reply) => {
            reply.header('Allow', allow)
            throw new ApiError('METHOD_NOT_ALLOWED', `Method "${request.method}" not allowed.`)
          },
        })
      }
    },
  }
}
