import cookie from '@fastify/cookie'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { Type } from 'typebox'
import { sessionRoutes } from './access/session-routes.ts'
import { customPropertyRoutes } from './catalog/custom-property-routes.ts'
import { resourceRoutes } from './catalog/resource-routes.ts'
import { catalogTypedRoutes } from './catalog/typed-routes.ts'
import type { Store } from './db/types.ts'
import { groupRoutes } from './directory/groups/routes.ts'
import { integrationRoutes } from './directory/integrations/routes.ts'
import { keyRoutes } from './directory/keys/routes.ts'
import { tagRoutes } from './directory/tags/routes.ts'
import { teamRoutes } from './directory/teams/routes.ts'
import { userRoutes } from './directory/users/routes.ts'
import { dbtRoutes } from './extract/dbt-routes.ts'
import { runRoutes } from './extract/run-routes.ts'
import { SyncRunner } from './extract/runner.ts'
import { sourceAccess } from './extract/source-access.ts'
import { routeEveryMethod, stripApiPrefix, trackRoutes } from './http/aliases.ts'
import { installAuth } from './http/auth.ts'
import { cachingSerializerFactory } from './http/compilers.ts'
import { answerError, installErrorHandling } from './http/error-handler.ts'
import { installEtags } from './http/etag.ts'
import { installGuards } from './http/guards.ts'
import { installJsonBodies } from './http/json-body.ts'
import { refuseNulCharacters } from './http/nul.ts'
import { parseQueryString } from './http/query-string.ts'
import { installWriteRateLimit } from './http/rate-limit.ts'
import { ErrorSchema } from './http/schemas.ts'
import { clientErrorHandler, installTransportAnswers } from './http/transport.ts'
import { installUi } from './http/ui.ts'
import { lineageRoutes } from './lineage/routes.ts'
import { mcpRoutes } from './mcp/routes.ts'
import { keepSearchIndex } from './search/index-sqlite.ts'

export interface AppOptions {
  store: Store
  trustProxy?: boolean
  logger?: FastifyServerOptions['logger']
  /** Writes a minute per API key (CONTRACT §7); 0 or absent: no limit. */
  writeRateLimit?: number
  /** Folders a `sqlite` source of a sync may be inside (CONTRACT §7); absent or empty: none. */
  syncSqliteDirs?: readonly string[]
  /** Hosts a `postgres` or `mysql` source may be at; absent: any. */
  syncAllowedHosts?: readonly string[] | undefined
}

export const BODY_LIMIT = 1024 * 1024
/** Room for a filter whose `in` lists name 1,000 ids in the URL (Node's default is 16 KiB). */
export const MAX_HEADER_SIZE = 128 * 1024

/** Builds the HTTP app on an open store; never listens. The caller owns the store and closes it. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { store } = options
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: BODY_LIMIT,
    http: { maxHeaderSize: MAX_HEADER_SIZE },
    clientErrorHandler: clientErrorHandler(MAX_HEADER_SIZE),
    frameworkErrors: answerError,
    return503OnClosing: false,
    rewriteUrl: (request) => stripApiPrefix(request.url ?? '/'),
    // No limit below the URL's own: a long path id is a malformed id, 404 after authentication like any other.
    routerOptions: {
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      maxParamLength: MAX_HEADER_SIZE,
      querystringParser: parseQueryString,
    },
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false } },
    schemaController: { compilersFactory: { buildSerializer: cachingSerializerFactory() } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  trackHandlers(app)
  routeEveryMethod(app)
  installJsonBodies(app)
  installErrorHandling(app)
  installTransportAnswers(app)
  refuseNulCharacters(app)
  // Cookies are read before authentication: the web catalog's session cookie signs requests in.
  await app.register(cookie)
  installAuth(app, store)
  installEtags(app)
  await installWriteRateLimit(app, options.writeRateLimit ?? 0)
  installGuards(app)
  const routes = trackRoutes(app)

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'docent',
        version: '0.1.0',
        description:
          'A self-hosted data catalog that speaks the Secoda REST API. Every path also answers under /api/v1.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  })
  // staticCSP: the docs pages run only their own scripts, so a flaw in them cannot reach a signed-in session.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })

  app.get(
    '/healthcheck',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Is the server up and its store reachable',
        security: [],
        response: { 200: Type.Object({ status: Type.String() }), 503: ErrorSchema },
      },
    },
    async (_request, reply) => {
      try {
        await store.db.selectFrom('docent_meta').select('key').limit(1).execute()
      } catch {
        return reply.code(503).send({ detail: 'The store is not reachable.', code: 'STORE_UNAVAILABLE' })
      }
      return { status: 'OK' }
    },
  )
  const access = sourceAccess(store, {
    sqliteDirs: options.syncSqliteDirs ?? [],
    allowedHosts: options.syncAllowedHosts,
  })
  const runner = new SyncRunner(store, access, app.log)
  app.addHook('onClose', () => runner.stopAll())
  const stopIndexing = keepSearchIndex(store, (error) =>
    app.log.error({ err: error }, 'search index: bringing the trigram tables up to date failed; trying again'),
  )
  app.addHook('onClose', () => stopIndexing())
  await app.register(runRoutes(store, runner))
  await app.register(keyRoutes(store))
  await app.register(sessionRoutes(store))
  await app.register(integrationRoutes(store, access))
  await app.register(userRoutes(store))
  await app.register(groupRoutes(store))
  await app.register(teamRoutes(store))
  await app.register(tagRoutes(store))
  await app.register(catalogTypedRoutes(store))
  await app.register(resourceRoutes(store))
  await app.register(customPropertyRoutes(store))
  await app.register(lineageRoutes(store))
  await app.register(dbtRoutes(store))
  await app.register(mcpRoutes(store))
  await installUi(app)
  routes.answerOtherMethods()
  return app
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Resolves once no route handler of ours is running (see trackHandlers). */
    handlersSettled(): Promise<void>
  }
}

/**
 * Counts the async route handlers still running. A handler can outlive its response's connection (a client that
 * hangs up does not stop it), so a shutdown waits for them, not only for the connections, before it closes the
 * store. Every route of docent has an async handler; plugins' plain handlers (the docs pages) never touch the store.
 */
function trackHandlers(app: FastifyInstance): void {
  let running = 0
  let waiting: (() => void)[] = []
  app.addHook('onRoute', (route) => {
    const handler = route.handler
    if (handler.constructor.name !== 'AsyncFunction') return
    route.handler = async function (this: FastifyInstance, request, reply) {
      running++
      try {
        return await handler.call(this, request, reply)
      } finally {
        running--
        if (running === 0) {
          for (const done of waiting) done()
          waiting = []
        }
      }
    }
  })
  app.decorate('handlersSettled', () =>
    running === 0 ? Promise.resolve() : new Promise<void>((done) => waiting.push(done)),
  )
}
