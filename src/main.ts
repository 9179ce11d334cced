import { Command } from 'commander'
import { buildApp } from './app.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { openStore, StoreError } from './db/connect.ts'
import { migrateToLatest } from './db/migrate.ts'
import type { Store } from './db/types.ts'
import { ensureFirstStart } from './directory/bootstrap.ts'
import { serve } from './server.ts'

/** A failure the operator can fix: printed as one line, exit 1, no stack trace. */
class CliError extends Error {}

async function openMigratedStore(config: Config): Promise<Store> {
  const store = await openStore(config.databaseUrl, { schema: config.databaseSchema })
  try {
    await migrateToLatest(store.db)
  } catch (error) {
    await store.close()
    throw new CliError(`cannot bring the store up to date: ${(error as Error).message}`)
  }
  return store
}

async function serveCommand(config: Config): Promise<void> {
  const store = await openMigratedStore(config)
  const firstStart = await ensureFirstStart(store.db, { adminApiKey: config.adminApiKey, dataDir: config.dataDir })
  if (firstStart.kind === 'created' && firstStart.keyFile !== undefined) {
    process.stdout.write(
      [
        '',
        'docent: first start: created a workspace, its team General and an admin user.',
        `Admin API key (shown once; also written to ${firstStart.keyFile}, mode 0600):`,
        '',
        `  ${firstStart.key}`,
        '',
        '',
      ].join('\n'),
    )
  } else if (firstStart.kind === 'created') {
    process.stdout.write(
      'docent: first start: created a workspace, its team General and an admin user whose API key is DOCENT_ADMIN_API_KEY.\n',
    )
  } else if (firstStart.configuredKeyIgnored) {
    process.stderr.write(
      'docent: DOCENT_ADMIN_API_KEY is ignored: this store was set up before and its admin keeps the key it has.\n',
    )
  }
  const app = await buildApp({
    store,
    trustProxy: config.trustProxy,
    logger: { level: config.logLevel },
  })
  try {
    await serve(app, store, { host: config.host, port: config.port })
  } catch (error) {
    await app.close()
    await store.close()
    throw new CliError(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`)
  }
}

async function migrateCommand(config: Config): Promise<void> {
  const store = await openMigratedStore(config)
  await store.close()
  process.stdout.write('docent: the store is up to date\n')
}

async function run(action: (config: Config) => Promise<void>): Promise<void> {
  try {
    await action(loadConfig(process.env))
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StoreError || error instanceof CliError) {
      process.stderr.write(`docent: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

const program = new Command('docent').description('A self-hosted data catalog server that speaks the Secoda REST API')
program
  .command('serve')
  .description('run migrations, set up an empty store, and serve the API (PORT, HOST, DOCENT_DATABASE_URL)')
  .action(() => run(serveCommand))
program
  .command('migrate')
  .description('bring the store in DOCENT_DATABASE_URL up to date and exit')
  .action(() => run(migrateCommand))

await program.parseAsync(process.argv)
