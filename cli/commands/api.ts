// `fieldstream api` (serve the HTTP API, docs and dashboard) and `fieldstream apikey
// create|list|revoke` (keys are printed once, stored only as a hash).
import type { Command } from 'commander'
import pg from 'pg'
import { createLogger } from '../../common/log.js'
import { SCOPES, scopesFor, type Scope } from '../../api/auth/keys.js'
import { createApiKey, listApiKeys, revokeApiKey } from '../../api/auth/store.js'
import { configOf } from '../config.js'
import { untilSignal } from '../signals.js'

/** Run `fn` with one connection; a missing api_keys table is explained, not dumped. */
async function withDb<T> (command: Command, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const cfg = configOf(command)
  const db = new pg.Client({ connectionString: cfg.database.url })
  await db.connect()
  try {
    return await fn(db)
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') throw new RangeError('the api_keys table does not exist in this database: run `fieldstream migrate` first')
    throw err
  } finally {
    await db.end()
  }
}

export function registerApi (program: Command): void {
  program.command('api')
    .description('serve the HTTP API (/v1, OpenAPI docs at /docs, /metrics) and the dashboard on api.host:api.port')
    .action(async (_o: unknown, command: Command) => {
      const cfg = configOf(command)
      const log = createLogger('api')
      // Loaded here, not at the top: Fastify and its plugins need not load for every other command.
      const { startApi } = await import('../../api/server.js')
      const api = await startApi(cfg, { log })
      log.info(`listening on ${api.url} (docs ${api.url}/docs, dashboard ${api.url}/dashboard/)`)
      await untilSignal()
      log.info('closing: finishing requests in flight')
      await api.close()
    })

  const apikey = program.command('apikey').description('create, list and revoke API keys')
  apikey.command('create')
    .description('create a key and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--scope <scope>', `${SCOPES.join(' | ')} (admin can also read)`, 'read')
    .action(async (o: { name: string, scope: string }, command: Command) => {
      if (!(SCOPES as readonly string[]).includes(o.scope)) throw new RangeError(`--scope must be one of ${SCOPES.join(', ')} (got "${o.scope}")`)
      if (o.name.length === 0 || o.name.length > 200) throw new RangeError('--name must be 1 to 200 characters')
      const { key, row } = await withDb(command, async db => await createApiKey(db, o.name, scopesFor(o.scope as Scope)))
      process.stderr.write(`created API key ${row.prefix} "${row.name}" with scopes ${row.scopes.join(', ')}; it is shown only now:\n`)
      process.stdout.write(`${key}\n`)
    })
  apikey.command('list')
    .description('list keys (prefix, name, scopes, created, last used, revoked)')
    .action(async (_o: unknown, command: Command) => {
      const rows = await withDb(command, listApiKeys)
      const when = (d: Date | null): string => d === null ? '-' : d.toISOString()
      process.stdout.write(`${['prefix', 'name', 'scopes', 'created', 'last used', 'revoked'].join('\t')}\n`)
      for (const r of rows) process.stdout.write(`${[r.prefix, r.name, r.scopes.join(','), when(r.createdAt), when(r.lastUsedAt), when(r.revokedAt)].join('\t')}\n`)
    })
  apikey.command('revoke <prefix>')
    .description('revoke the key with this prefix (as shown by `apikey list`); API servers stop accepting it within api.keyCacheSeconds')
    .action(async (prefix: string, _o: unknown, command: Command) => {
      const done = await withDb(command, async db => await revokeApiKey(db, prefix))
      if (!done) throw new RangeError(`no active API key has the prefix ${prefix}`)
      process.stderr.write(`revoked ${prefix}\n`)
    })
}
