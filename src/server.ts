import type { FastifyInstance } from 'fastify'
import type { Store } from './db/types.ts'

const SHUTDOWN_GRACE_MS = 10_000

/**
 * Listens, and on SIGTERM or SIGINT stops accepting, lets in-flight requests finish, then closes the store.
 * A second signal, or a shutdown slower than the grace period, exits at once.
 */
export async function serve(app: FastifyInstance, store: Store, address: { host: string; port: number }) {
  let stopping = false
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    const timer = setTimeout(() => {
      app.log.error('shutdown took too long: exiting')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS)
    timer.unref()
    try {
      await app.close()
      // Connections are closed; a handler whose client hung up may still be reading or writing the store.
      await app.handlersSettled()
      await store.close()
      app.log.info('stopped')
      process.exit(0)
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  return app.listen(address)
}
