// The HTTP API: Fastify with a schema on every route (validation, fast serialization and
// the OpenAPI document at /docs), API keys with scopes on /v1, rate limiting per key,
// errors as `{ error, message }` naming the field, and Prometheus metrics.
//
//   createApiServer(cfg, deps)  builds the instance (routes load on ready/listen)
//   startApi(cfg)               opens the database pool and listens on cfg.api.host:port
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import pg from 'pg'
import type { KafkaSettings } from '../common/kafka.js'
import { createLogger, type Logger } from '../common/log.js'
import { apiRequestSeconds, enableProcessMetrics } from '../common/metrics.js'
import type { Config } from '../schemas/config/schema.js'
import { createKeyVerifier, registerAuth } from './auth/hook.js'
import { dashboardPlugin } from './dashboard/plugin.js'
import { ApiError, HTTP_ERRORS, isInputError, type HttpStatus } from './errors.js'
import { createReadiness, type Readiness } from './ready.js'
import type { RouteContext } from './routes/context.js'
import { healthRoutes } from './routes/health.js'
import { pointsRoutes } from './routes/points.js'
import { productionRoutes } from './routes/production.js'
import { rollupsRoutes } from './routes/rollups.js'
import { scoresRoutes } from './routes/scores.js'
import { seriesRoutes } from './routes/series.js'
import { tagsRoutes } from './routes/tags.js'
import { createTagLookup } from './store/tag-lookup.js'
import { createValidatorCompiler, formatValidationErrors } from './validation.js'

export type ApiConfig = Config['api']

export interface ApiServerConfig {
  api: ApiConfig
  /** For /ready (the broker must answer a metadata request). */
  kafka: KafkaSettings
}

export interface ApiDeps {
  /** The store; the server never ends it (whoever made it does). */
  pool: pg.Pool
  log?: Logger
  /** Defaults to database SELECT 1 plus a Kafka metadata request. */
  readiness?: Readiness
}

/** Socket-level failures meaning the database (not the request) is the problem. */
const UNAVAILABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection terminated|timeout exceeded when trying to connect/i
const isUnavailable = (err: unknown): boolean => {
  const e = err as { code?: unknown, message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : ''
  return UNAVAILABLE.test(code) || UNAVAILABLE.test(String(e?.message ?? '')) || /^(08|53|57P)/.test(code)
}

export function createApiServer (cfg: ApiServerConfig, deps: ApiDeps): FastifyInstance {
  const log = deps.log ?? createLogger('api')
  const readiness = deps.readiness ?? createReadiness(deps.pool, cfg.kafka)
  const app = Fastify({
    logger: false,
    bodyLimit: cfg.api.bodyLimit,
    return503OnClosing: true,
    schemaErrorFormatter: formatValidationErrors,
  })
  app.setValidatorCompiler(createValidatorCompiler())

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send({ error: err.error, message: err.message })
    if (isInputError(err)) {
      // A value passed validation but the database still refused it (a time PostgreSQL
      // cannot represent, a NUL byte in text...): still the request's fault.
      return reply.code(400).send({ error: 'bad_request', message: `a parameter was refused by the database: ${err.message}` })
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500
    if (status >= 400 && status < 500) {
      const code = HTTP_ERRORS[status as HttpStatus] ?? 'bad_request'
      return reply.code(status).send({ error: code, message: status === 413 ? `the request body is larger than ${cfg.api.bodyLimit} bytes` : err.message })
    }
    const sqlState = (err as { code?: unknown }).code
    if (sqlState === '42P01' || sqlState === '42883') {
      log.error(`${req.method} ${req.url}: ${err.message} (is the database migrated?)`)
      return reply.code(503).send({ error: 'unavailable', message: 'the database schema is not up to date: run `fieldstream migrate`' })
    }
    if (isUnavailable(err)) {
      log.warn(`${req.method} ${req.url}: database unavailable: ${err.message}`)
      return reply.code(503).send({ error: 'unavailable', message: 'the database is unreachable; try again shortly' })
    }
    log.error(`${req.method} ${req.url}: ${err.stack ?? err.message}`)
    return reply.code(500).send({ error: 'internal', message: 'internal error (logged on the server)' })
  })

  app.addHook('onResponse', async (req, reply) => {
    apiRequestSeconds.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: reply.statusCode }, reply.elapsedTime / 1000)
  })
  enableProcessMetrics()

  if (cfg.api.corsOrigins.length > 0) registerCors(app, cfg.api.corsOrigins)
  registerAuth(app, createKeyVerifier(deps.pool, cfg.api.keyCacheSeconds))
  // A path that exists under another method is a 405 naming the allowed ones, not a 404.
  const routes: Array<{ pattern: RegExp, method: string }> = []
  app.addHook('onRoute', r => {
    const methods = Array.isArray(r.method) ? r.method : [r.method]
    const pattern = new RegExp(`^${r.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`)
    for (const method of methods) routes.push({ pattern, method })
  })
  app.addHook('onRequest', async (req, reply) => {
    if (!req.is404) return
    const path = req.url.split('?')[0]!
    const allowed = [...new Set(routes.filter(r => r.pattern.test(path)).map(r => r.method))]
    if (allowed.length === 0) return
    await reply.code(405).header('allow', allowed.join(', ')).send({ error: 'method_not_allowed', message: `${req.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})` })
  })
  // After the auth hook, so an unknown /v1 path asks for a key first like a known one.
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }))

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'fieldstream API', version: '1', description: 'SCADA telemetry: tags, raw points, rollups, chart series, production, anomaly scores and alerts. Times are ISO-8601 (or epoch ms in query parameters).' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API key from `fieldstream apikey create`' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    // Security is declared per route: /v1 needs a key, the rest is public.
    transform: ({ schema, url }) => ({ schema: url.startsWith('/v1/') ? { ...schema, security: [{ bearer: [] }, { apiKeyHeader: [] }] } : schema, url }),
  })
  app.register(swaggerUi, { routePrefix: '/docs' })

  // After auth, so a key's requests share one bucket whichever address they come from;
  // before validation, so malformed floods are limited too.
  app.register(rateLimit, {
    max: cfg.api.rateLimitPerMinute,
    timeWindow: 60_000,
    hook: 'preValidation',
    keyGenerator: req => req.apiKey?.prefix ?? req.ip,
    errorResponseBuilder: (req, ctx) => new ApiError(429, `rate limit of ${ctx.max} requests per minute exceeded for ${req.apiKey === undefined ? `address ${req.ip}` : `the API key ${req.apiKey.prefix}`}; retry in ${ctx.after}`),
  })

  const ctx: RouteContext = { pool: deps.pool, tags: createTagLookup(deps.pool), maxRows: cfg.api.maxRows, maxCsvRows: cfg.api.maxCsvRows }
  app.register(async scope => {
    await scope.register(healthRoutes, { readiness })
    for (const routes of [tagsRoutes, pointsRoutes, rollupsRoutes, seriesRoutes, productionRoutes, scoresRoutes]) await scope.register(routes, { ctx })
  })
  app.register(dashboardPlugin)

  app.addHook('onClose', async () => { if (deps.readiness === undefined) await readiness.close() })
  return app
}

/** Minimal CORS for the configured origins (off unless api.corsOrigins lists some). */
function registerCors (app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins)
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin
    if (origin === undefined || (!allowed.has(origin) && !allowed.has('*'))) return
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
    if (req.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'GET, PATCH, OPTIONS')
        .header('access-control-allow-headers', 'Authorization, X-API-Key, Content-Type, Accept')
        .header('access-control-expose-headers', 'X-Next-Cursor')
        .header('access-control-max-age', '600')
      return reply.code(204).send()
    }
    reply.header('access-control-expose-headers', 'X-Next-Cursor')
  })
}

export interface RunningApi { app: FastifyInstance, url: string, close (): Promise<void> }

/** The API on cfg.api.host:port with its own database pool. */
export async function startApi (cfg: Readonly<Config>, deps: { log?: Logger } = {}): Promise<RunningApi> {
  const pool = new pg.Pool({ connectionString: cfg.database.url, max: cfg.api.poolSize })
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', err => (deps.log ?? createLogger('api')).warn(`database connection lost: ${err.message}`))
  const app = createApiServer(cfg, { pool, log: deps.log })
  try {
    const url = await app.listen({ host: cfg.api.host, port: cfg.api.port })
    return { app, url, close: async () => { await app.close(); await pool.end() } }
  } catch (err) {
    await app.close().catch(() => undefined)
    await pool.end()
    throw err
  }
}
