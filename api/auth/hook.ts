// Authentication of /v1 routes: the key from `Authorization: Bearer <key>` or `X-API-Key`,
// verified against its stored SHA-256 and cached in memory for `cacheSeconds` (hits and
// misses alike), so the hot path costs one hash and one map lookup. A route's required
// scope is its `config.scope` (default read). Routes outside /v1 (health, docs, metrics,
// dashboard) are public.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type pg from 'pg'
import { ApiError } from '../errors.js'
import { hashKey, keyPrefix, sameHash, type Scope } from './keys.js'
import { findApiKey, touchApiKey } from './store.js'

export interface Principal { id: number, prefix: string, scopes: readonly Scope[] }

declare module 'fastify' {
  interface FastifyRequest { apiKey: Principal | undefined }
  interface FastifyContextConfig { scope?: Scope }
}

type Verdict = { principal: Principal } | { reason: string }

const MAX_CACHED = 10_000

export interface KeyVerifier { verify (key: string): Promise<Verdict>, clear (): void }

export function createKeyVerifier (db: pg.Pool, cacheSeconds: number): KeyVerifier {
  const cache = new Map<string, { verdict: Verdict, expires: number }>()
  const ttlMs = cacheSeconds * 1000
  return {
    clear: () => { cache.clear() },
    async verify (key: string): Promise<Verdict> {
      const hash = hashKey(key)
      const now = Date.now()
      const hit = cache.get(hash)
      if (hit !== undefined && hit.expires > now) return hit.verdict
      const verdict = await lookup(key, hash)
      if (ttlMs > 0) {
        // A flood of random keys must not grow the map without bound.
        if (cache.size >= MAX_CACHED) cache.clear()
        cache.set(hash, { verdict, expires: now + ttlMs })
      }
      return verdict
    },
  }

  async function lookup (key: string, hash: string): Promise<Verdict> {
    const prefix = keyPrefix(key)
    if (prefix === undefined) return { reason: 'the API key is malformed (expected fsk_ followed by 43 characters, as printed by `fieldstream apikey create`)' }
    const row = await findApiKey(db, prefix)
    if (row === undefined || !sameHash(row.keyHash, hash)) return { reason: 'the API key is not valid' }
    if (row.revoked) return { reason: `the API key ${prefix} has been revoked` }
    // Coarse last-use time: written on cache misses only, never awaited on the request path.
    touchApiKey(db, row.id).catch(() => undefined)
    return { principal: { id: row.id, prefix, scopes: row.scopes } }
  }
}

function presentedKey (req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth)
    if (m === null) throw new ApiError(401, 'the Authorization header must be `Bearer <API key>`')
    return m[1]
  }
  const header = req.headers['x-api-key']
  return typeof header === 'string' && header.length > 0 ? header : undefined
}

export function registerAuth (app: FastifyInstance, verifier: KeyVerifier): void {
  app.decorateRequest('apiKey', undefined)
  app.addHook('onRequest', async req => {
    // The matched route's pattern when there is one (immune to URL spellings), else the path.
    const path = req.routeOptions.url ?? req.url
    if (!path.startsWith('/v1/') && path !== '/v1') return
    const key = presentedKey(req)
    if (key === undefined) throw new ApiError(401, 'an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>` (create one with `fieldstream apikey create`)')
    const verdict = await verifier.verify(key)
    if ('reason' in verdict) throw new ApiError(401, verdict.reason)
    const need = req.routeOptions.config?.scope ?? 'read'
    if (!verdict.principal.scopes.includes(need)) {
      throw new ApiError(403, `${req.method} ${req.routeOptions.url ?? req.url} needs the ${need} scope; the key ${verdict.principal.prefix} has ${verdict.principal.scopes.join(', ')}`)
    }
    req.apiKey = verdict.principal
  })
}
