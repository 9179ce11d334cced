import { existsSync } from 'node:fs'
import { Command } from 'commander'
import packageJson from '../package.json' with { type: 'json' }
import { type Config, ConfigError, loadConfig } from './config.ts'
import { openStore, StoreError } from './db/connect.ts'
import { migrateToLatest } from './db/migrate.ts'
import type { Store } from './db/types.ts'
import {
  createKeyForEmail,
  createWorkspaceWithAdmin,
  listKeysWithEmails,
  parseRole,
  resolveWorkspace,
  TaskError,
} from './directory/admin-tasks.ts'
import { ensureFirstStart } from './directory/bootstrap.ts'
import { findIntegrationForSync } from './directory/integrations/repository.ts'
import { carryOutRun } from './extract/runner.ts'
import { failAbandonedRuns, insertRun } from './extract/runs.ts'
import { sourceAccess } from './extract/source-access.ts'
import { UI_PATH } from './http/ui.ts'
import { refreshAllNoted } from './search/index-sqlite.ts'
import { serve } from './server.ts'

/** A failure the operator can fix: printed as one line, exit 1, no stack trace. */
class CliError extends Error {}

async function openMigratedStore(config: Config): Promise<Store> {
  const store = await openStore(config.databaseUrl, {
    schema: config.databaseSchema,
    poolSize: config.databasePoolSize,
    onDatabaseCreated: (name) => process.stderr.write(`docent: created the PostgreSQL database ${name}\n`),
  })
  try {
    await migrateToLatest(store.db)
  } catch (error) {
    await store.close()
    throw new CliError(`cannot bring the store up to date: ${(error as Error).message}`)
  }
  return store
}

async function serveCommand(config: Config): Promise<void> {
  for (const folder of config.syncSqliteDirs) {
    if (!existsSync(folder)) {
      process.stderr.write(`docent: DOCENT_SYNC_SQLITE_DIRS names ${folder}, which does not exist (yet)\n`)
    }
  }
  const store = await openMigratedStore(config)
  // Loaded here: Fastify and the routes take most of the CLI's start-up, which the other commands do not need.
  const { buildApp } = await import('./app.ts')
  const app = await buildApp({
    store,
    trustProxy: config.trustProxy,
    logger: { level: config.logLevel },
    writeRateLimit: config.writeRateLimit,
    syncSqliteDirs: config.syncSqliteDirs,
    syncAllowedHosts: config.syncAllowedHosts,
  })
  try {
    await serve(app, store, { host: config.host, port: config.port })
  } catch (error) {
    await app.close()
    await store.close()
    throw new CliError(`cannot listen on ${config.host}:${config.port}: ${listenProblem(error, config)}`)
  }
  // Only once the port is ours: a start that fails must not have printed a key it then loses.
  try {
    reportFirstStart(await ensureFirstStart(store, { adminApiKey: config.adminApiKey, dataDir: config.dataDir }))
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host
    process.stdout.write(
      `docent: the web catalog is at http://${host.includes(':') ? `[${host}]` : host}:${config.port}${UI_PATH} (sign in with an API key)\n`,
    )
  } catch (error) {
    await app.close()
    await store.close()
    throw error
  }
}

function reportFirstStart(firstStart: Awaited<ReturnType<typeof ensureFirstStart>>): void {
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
}

/** Why listening failed, with what to change. */
function listenProblem(error: unknown, config: Config): string {
  switch ((error as { code?: unknown }).code) {
    case 'EADDRINUSE':
      return `another program uses that port: stop it, or choose another port with PORT (e.g. PORT=${config.port === 65535 ? 8081 : config.port + 1})`
    case 'EACCES':
      return 'this user may not listen on that port: choose one above 1023 with PORT (e.g. PORT=8080)'
    case 'EADDRNOTAVAIL':
      return `${config.host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all`
    default:
      return (error as Error).message
  }
}

async function migrateCommand(config: Config): Promise<void> {
  const store = await openMigratedStore(config)
  await store.close()
  process.stdout.write('docent: the store is up to date\n')
}

/** Runs a task on a migrated store and closes it. */
async function withStore(config: Config, task: (store: Store) => Promise<void>): Promise<void> {
  const store = await openMigratedStore(config)
  try {
    await task(store)
  } finally {
    await store.close()
  }
}

async function run(action: (config: Config) => Promise<void>): Promise<void> {
  try {
    await action(loadConfig(process.env))
  } catch (error) {
    if (
      error instanceof ConfigError ||
      error instanceof StoreError ||
      error instanceof CliError ||
      error instanceof TaskError
    ) {
      process.stderr.write(`docent: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

const program = new Command('docent')
  .description('A self-hosted data catalog server that speaks the Secoda REST API')
  .version(packageJson.version, '-v, --version', 'print the version of docent')
  .showHelpAfterError('(docent --help lists the commands and their options)')
  .configureOutput({ outputError: (text, write) => write(`docent: ${text.replace(/^error: /, '')}`) })
program
  .command('serve')
  .description('run migrations, set up an empty store, and serve the API (PORT, HOST, DOCENT_DATABASE_URL)')
  .action(() => run(serveCommand))
program
  .command('migrate')
  .description('bring the store in DOCENT_DATABASE_URL up to date and exit')
  .action(() => run(migrateCommand))

const keys = program.command('keys').description('API keys: create, list, revoke')
keys
  .command('create')
  .description('print a new API key for the user with this email, making the user (with --role) if needed')
  .requiredOption('--email <email>', "the key's user")
  .option('--role <role>', 'admin, editor, viewer or guest, for a new user', 'editor')
  .option('--description <text>', 'what the key is for', '')
  .option('--workspace <id or name>', 'needed when the store has several workspaces')
  .action((options: { email: string; role: string; description: string; workspace?: string }) =>
    run((config) =>
      withStore(config, async (store) => {
        const role = parseRole(options.role)
        const workspaceId = await resolveWorkspace(store.db, options.workspace)
        const made = await createKeyForEmail(store, {
          workspaceId,
          email: options.email,
          role,
          description: options.description,
        })
        if (made.roleIgnored !== undefined) {
          process.stderr.write(
            `docent: ${options.email} already exists with the role ${made.roleIgnored}, which is kept\n`,
          )
        }
        process.stderr.write(
          `docent: ${made.createdUser ? 'created the user and ' : ''}a key ${made.keyId} for ${options.email}; it is shown once:\n`,
        )
        process.stdout.write(`${made.key}\n`)
      }),
    ),
  )
keys
  .command('list')
  .description("list the workspace's working keys (never their values)")
  .option('--workspace <id or name>', 'needed when the store has several workspaces')
  .action((options: { workspace?: string }) =>
    run((config) =>
      withStore(config, async (store) => {
        const rows = await listKeysWithEmails(store.db, await resolveWorkspace(store.db, options.workspace))
        const lines = rows.map((r) =>
          [r.id, r.email, r.role, r.created_at, r.last_used_at ?? 'never', r.description].join('\t'),
        )
        process.stdout.write(['id\temail\trole\tcreated\tlast used\tdescription', ...lines, ''].join('\n'))
      }),
    ),
  )
keys
  .command('revoke <id>')
  .description('revoke a key at once')
  .action((id: string) =>
    run((config) =>
      withStore(config, async (store) => {
        const result = await store.db
          .updateTable('api_keys')
          .set({ revoked_at: new Date().toISOString() })
          .where('id', '=', id.toLowerCase())
          .where('revoked_at', 'is', null)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) === 0) {
          throw new CliError(`no working key has the id ${id}`)
        }
        process.stdout.write(`docent: revoked ${id}\n`)
      }),
    ),
  )

program
  .command('sync <integration-id>')
  .description('sync an integration in the foreground, with a progress bar; Ctrl-C stops it cleanly')
  .action((integrationId: string) =>
    run((config) =>
      withStore(config, async (store) => {
        const integration = await findIntegrationForSync(store.db, integrationId.toLowerCase())
        if (integration === undefined) {
          throw new CliError(`no integration has the id ${integrationId}`)
        }
        await failAbandonedRuns(store.db)
        const queued = await insertRun(store.db, {
          workspaceId: integration.workspaceId,
          integrationId: integration.id,
        })
        if (queued === undefined) {
          throw new CliError('this integration has a sync queued or running already; wait for it to end')
        }
        const controller = new AbortController()
        const stop = () => {
          process.stderr.write('\ndocent: stopping after the batch in progress…\n')
          controller.abort()
        }
        process.once('SIGINT', stop)
        const { Presets, SingleBar } = await import('cli-progress')
        const bar = new SingleBar(
          {
            format: 'sync [{bar}] {value}/{total} objects | {eta_formatted} left',
            hideCursor: true,
            stream: process.stderr,
          },
          Presets.shades_classic,
        )
        let started = false
        // The operator at the shell may read any SQLite file unless DOCENT_SYNC_SQLITE_DIRS narrows it; never the store.
        const access = sourceAccess(store, {
          sqliteDirs: config.syncSqliteDirs.length > 0 ? config.syncSqliteDirs : undefined,
          allowedHosts: config.syncAllowedHosts,
        })
        const outcome = await carryOutRun(store, queued.id, integration.id, {
          access,
          signal: controller.signal,
          progress: (done, total) => {
            if (!started) {
              bar.start(total, 0)
              started = true
            }
            bar.update(done)
          },
        })
        bar.stop()
        process.removeListener('SIGINT', stop)
        const { created, updated, unchanged, staled } = outcome.counts
        process.stdout.write(
          `docent: sync ${queued.id} ${outcome.status}: ${created} created, ${updated} updated, ${unchanged} unchanged, ${staled} staled\n`,
        )
        if (outcome.error !== null) {
          process.stderr.write(`docent: ${outcome.error}\n`)
        }
        // SQLite: what the sync wrote goes into the search index's trigram tables now, not when a server next runs.
        await refreshAllNoted(store)
        if (outcome.status === 'failed') {
          process.exitCode = 1
        }
      }),
    ),
  )

program
  .command('mcp')
  .description(
    "serve the catalog's tools to an AI assistant over stdio (the Model Context Protocol), read from a docent server",
  )
  .option('--url <url>', 'the docent server (DOCENT_URL; default http://127.0.0.1:8080)')
  .option('--key <key>', 'the API key the tools read with (DOCENT_API_KEY)')
  .action((options: { url?: string; key?: string }) =>
    run(async () => {
      const base = (options.url ?? process.env.DOCENT_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '')
      const key = options.key ?? process.env.DOCENT_API_KEY
      if (key === undefined || key === '') {
        throw new CliError('give the API key the tools read with: DOCENT_API_KEY=<key> or --key <key>')
      }
      const { McpSetupError, serveStdio } = await import('./mcp/stdio.ts')
      try {
        await serveStdio(base, key, packageJson.version)
      } catch (error) {
        throw error instanceof McpSetupError ? new CliError(error.message) : error
      }
    }),
  )

program
  .command('workspaces')
  .description('workspaces: create')
  .command('create <name>')
  .description('make a workspace with its team General and an admin, and print the admin key')
  .option('--admin-email <email>', "the admin's email", 'admin@docent.local')
  .action((name: string, options: { adminEmail: string }) =>
    run((config) =>
      withStore(config, async (store) => {
        const made = await createWorkspaceWithAdmin(store, name, options.adminEmail)
        process.stderr.write(
          `docent: created the workspace ${made.workspaceId} (${name}); its admin key, shown once:\n`,
        )
        process.stdout.write(`${made.key}\n`)
      }),
    ),
  )

await program.parseAsync(process.argv)
