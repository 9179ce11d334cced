import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, notFound } from '../errors.ts'

/**
 * The web catalog (issue 16), built by Vite into ui/dist (`npm run build`) and served here under /ui/: no API
 * path starts with /ui, so the two never meet. Hashed assets are cached for a year; the page itself is always
 * checked again, and every path under /ui/ the page's router knows answers the same page. `/` sends a browser on
 * to /ui/. When the build is missing, /ui/ says how to make it.
 */

export const UI_PATH = '/ui/'

/** ui/dist from the sources (src/http) or from the compiled bundle (dist/main.js). */
function findBuild(): string | undefined {
  for (const relative of ['../../ui/dist/', '../ui/dist/']) {
    const folder = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(`${folder}index.html`)) return folder
  }
  return undefined
}

/** What the page may load: its own scripts, styles and images only; never framed by another site. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-cache',
}

export async function installUi(app: FastifyInstance): Promise<void> {
  const folder = findBuild()
  // Only the bare `/`: `/api/v1` is an API path, and the API never redirects (CONTRACT §1).
  app.get('/', { config: { public: true }, schema: { hide: true } }, async (request: FastifyRequest, reply) => {
    if (new URL(request.originalUrl, 'http://x').pathname !== '/') throw notFound()
    return reply.redirect(UI_PATH, 302)
  })
  if (folder === undefined) {
    const missing = async () => {
      throw new ApiError(
        'UNAVAILABLE',
        'The web catalog is not built: run `npm run build` (npm start does it), then reload.',
      )
    }
    app.get('/ui', { config: { public: true }, schema: { hide: true } }, missing)
    app.get('/ui/*', { config: { public: true }, schema: { hide: true } }, missing)
    return
  }
  const page = readFileSync(`${folder}index.html`)
  await app.register(fastifyStatic, {
    root: `${folder}assets`,
    prefix: '/ui/assets/',
    decorateReply: false,
    wildcard: false,
    index: false,
    // Asset names carry a hash of their content: a changed asset is a new name.
    setHeaders: (reply) => {
      reply.header('cache-control', 'public, max-age=31536000, immutable')
      reply.header('x-content-type-options', 'nosniff')
    },
  })
  const sendPage = async (_request: unknown, reply: FastifyReply) =>
    reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page)
  app.get('/ui', { config: { public: true }, schema: { hide: true } }, sendPage)
  app.get('/ui/*', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    // A missing asset is a 404, not the page: a stale page asking for an old bundle must not get HTML back.
    if (request.url.startsWith('/ui/assets/')) throw notFound()
    return sendPage(request, reply)
  })
}
