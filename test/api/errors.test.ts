// Bad input and hostile clients: every malformed parameter is a 400 naming the field;
// SQL-injection strings in every string parameter change nothing and never cause a 500;
// a request for too much is a 400 that says how to narrow it; 401, 403 and 429 bodies;
// /ready is 503 when the database is unreachable.
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { createApiKey, revokeApiKey } from '../../api/auth/store.js'
import { createApiServer } from '../../api/server.js'
import { loadConfig } from '../../schemas/config/load.js'
import { createTestDatabase, migrateTestDatabase, type TestDatabase } from '../helpers/db.js'
import { DAY_MS, HOUR_MS, iso, loadFixture, storeFingerprint, T0_MS } from './fixture.js'

const cfg = loadConfig()
let db: TestDatabase
let app: FastifyInstance
let key: string
let admin: string

t.before(async () => {
  db = await createTestDatabase('api_errors')
  await migrateTestDatabase(db.url)
  await loadFixture(db.pool)
  key = (await createApiKey(db.pool, 'reader', ['read'])).key
  admin = (await createApiKey(db.pool, 'admin', ['read', 'admin'])).key
  app = createApiServer({ api: { ...cfg.api, maxRows: 1000, maxCsvRows: 5000, keyCacheSeconds: 0 }, kafka: cfg.kafka }, { pool: db.pool })
  await app.ready()
})
t.teardown(async () => { await app?.close(); await db?.drop() })

const F = iso(T0_MS)
const TO = iso(T0_MS + 2 * HOUR_MS)
const get = async (url: string, headers: Record<string, string> = { authorization: `Bearer ${key}` }): Promise<{ status: number, body: any }> => {
  const r = await app.inject({ method: 'GET', url, headers })
  return { status: r.statusCode, body: r.json() }
}

t.test('every malformed parameter is a 400 naming the field and the problem', async t => {
  // [url, field named in the message, what the message must say]
  const cases: Array<[string, string, RegExp]> = [
    [`/v1/points?tag=1&from=yesterday&to=${TO}`, 'querystring/from', /must be an ISO-8601 time or epoch ms \(got "yesterday"\)/],
    [`/v1/points?tag=1&from=${F}&to=2026-13-01`, 'querystring/to', /must be an ISO-8601 time or epoch ms/],
    [`/v1/points?tag=1&from=2026-02-30&to=${TO}`, 'querystring/from', /ISO-8601/],
    [`/v1/points?tag=1&from=2026-10-01T25:00Z&to=${TO}`, 'querystring/from', /ISO-8601/],
    [`/v1/points?tag=1&from=2026-10-01T10:00+25:00&to=${TO}`, 'querystring/from', /ISO-8601/],
    [`/v1/points?tag=1&from=${TO}&to=${F}`, 'querystring/from', /must be before querystring\/to/],
    [`/v1/points?tag=1&from=${F}&to=${F}`, 'querystring/from', /must be before querystring\/to/],
    [`/v1/points?tag=1&from=99999999999999999&to=${TO}`, 'querystring/from', /ISO-8601|outside/],
    [`/v1/points?tag=1&from=9999999999999&to=999999999999999`, 'querystring/to', /outside the years/],
    [`/v1/points?tag=abc&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/points?tag=0&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/points?tag=1.5&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/points?tag=99999999999&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/points?tag=1&tag=2&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/points?from=${F}&to=${TO}`, 'querystring/tag', /is required/],
    [`/v1/points?tag=1&to=${TO}`, 'querystring/from', /is required/],
    [`/v1/points?tag=1&from=${F}&to=${TO}&limit=0`, 'querystring/limit', /must be >= 1/],
    [`/v1/points?tag=1&from=${F}&to=${TO}&limit=ten`, 'querystring/limit', /must be an integer \(got "ten"\)/],
    [`/v1/points?tag=1&from=${F}&to=${TO}&limit=1001`, 'querystring/limit', /must be <= 1000 for JSON/],
    [`/v1/points?tag=1&from=${F}&to=${TO}&cursor=not%20a%20cursor`, 'querystring/cursor', /nextCursor value of a previous page/],
    [`/v1/points?tag=1&from=${F}&to=${TO}&cursor=AAAA`, 'querystring/cursor', /nextCursor value of a previous page/],
    [`/v1/points?tag=1&from=${F}&to=${TO}&colour=red`, 'querystring', /unknown parameter "colour" \(expected one of: tag, from, to, limit, cursor\)/],
    [`/v1/rollups?tags=1,x&from=${F}&to=${TO}&bucket=1h`, 'querystring/tags', /comma-separated list/],
    [`/v1/rollups?tags=&from=${F}&to=${TO}&bucket=1h`, 'querystring/tags', /comma-separated list/],
    [`/v1/rollups?tags=0&from=${F}&to=${TO}&bucket=1h`, 'querystring/tags', /0 is not a tag id/],
    [`/v1/rollups?tags=1&from=${F}&to=${TO}&bucket=5m`, 'querystring/bucket', /must be one of 1m, 1h, 1d \(got "5m"\)/],
    [`/v1/rollups?tags=1&from=${F}&to=${TO}`, 'querystring/bucket', /is required/],
    [`/v1/rollups?tags=1&from=${F}&to=${TO}&bucket=1h&fields=avg,median`, 'querystring/fields', /comma-separated list of n, min, max/],
    [`/v1/series?tag=1&from=${F}&to=${TO}&points=0`, 'querystring/points', /must be >= 1/],
    [`/v1/series?tag=1&from=${F}&to=${TO}&points=1001`, 'querystring/points', /must be <= 1000/],
    [`/v1/series?tag=1&from=${F}&to=soon`, 'querystring/to', /ISO-8601/],
    [`/v1/production?from=${F}&to=${TO}`, 'querystring', /exactly one of asset and tag/],
    [`/v1/production?asset=pad1&tag=2&from=${F}&to=${TO}`, 'querystring', /exactly one of asset and tag/],
    [`/v1/production?asset=pad1&from=${F}&to=${TO}&bucket=1w`, 'querystring/bucket', /must be one of 1m, 1h, 1d/],
    [`/v1/production?asset=&from=${F}&to=${TO}`, 'querystring/asset', /must NOT have fewer than 1 characters/],
    [`/v1/production?asset=${'x'.repeat(300)}&from=${F}&to=${TO}`, 'querystring/asset', /must NOT have more than 256 characters/],
    [`/v1/scores?tag=1&from=${F}`, 'querystring/to', /is required/],
    [`/v1/alerts?state=pending`, 'querystring/state', /must be one of open, closed, all/],
    [`/v1/alerts?limit=-1`, 'querystring/limit', /must be >= 1/],
    [`/v1/alerts?from=${TO}&to=${F}`, 'querystring/from', /must be before/],
    [`/v1/alerts?tag=x`, 'querystring/tag', /must be a tag id/],
    ['/v1/tags?kind=sensor', 'querystring/kind', /must be one of gauge, counter, rate/],
    ['/v1/tags?limit=1001', 'querystring/limit', /must be <= 1000/],
    ['/v1/tags?cursor=%3D%3D', 'querystring/cursor', /nextCursor value/],
    ['/v1/tags?cursor=eHl6', 'querystring/cursor', /nextCursor value/], // base64url of "xyz"
    ['/v1/tags?q=', 'querystring/q', /fewer than 1 characters/],
    ['/v1/tags/abc', 'params/id', /must be a tag id/],
    ['/v1/tags/-3', 'params/id', /must be a tag id/],
  ]
  for (const [url, field, problem] of cases) {
    const r = await get(url)
    t.equal(r.status, 400, `${url} -> 400`)
    t.equal(r.body.error, 'bad_request', `${url}: error code`)
    t.ok(typeof r.body.message === 'string' && r.body.message.startsWith(field), `${url}: message names ${field} (${r.body.message})`)
    t.match(r.body.message, problem, `${url}: says what is wrong`)
  }
})

t.test('malformed PATCH bodies are 400s naming the field; a wrong content type is a 415', async t => {
  const patch = async (payload: string, type = 'application/json'): Promise<{ status: number, body: any }> => {
    const r = await app.inject({ method: 'PATCH', url: '/v1/tags/7', headers: { authorization: `Bearer ${admin}`, 'content-type': type }, payload })
    return { status: r.statusCode, body: r.json() }
  }
  const cases: Array<[string, string, RegExp]> = [
    ['{"kind":"thermometer"}', 'body/kind', /must be one of gauge, counter, rate/],
    ['{"unit":{"a":1}}', 'body/unit', /must be a string or null/],
    ['{"asset":false}', 'body/asset', /must be a string or null \(got false\)/], // bodies are not coerced
    ['{"unit":5}', 'body/unit', /must be a string or null \(got 5\)/],
    ['{"colour":"red"}', 'body', /unknown parameter "colour"/],
    ['{}', 'body', /at least 1 field/],
    ['{"unit":', 'body', /JSON|Unexpected|end/i],
    ['[]', 'body', /must be an object \(got \[\]\)/],
  ]
  for (const [payload, field, problem] of cases) {
    const r = await patch(payload)
    t.equal(r.status, 400, `${payload} -> 400`)
    t.ok(String(r.body.message).toLowerCase().includes(field.toLowerCase()) || field === 'body', `${payload}: names ${field}: ${r.body.message}`)
    t.match(r.body.message, problem)
  }
  const wrongType = await patch('<unit>psi</unit>', 'application/xml')
  t.equal(wrongType.status, 415)
  t.equal(wrongType.body.error, 'unsupported_media_type')
  const huge = await patch(JSON.stringify({ unit: 'x'.repeat(100_000) }))
  t.equal(huge.status, 413)
  t.same(huge.body, { error: 'payload_too_large', message: `the request body is larger than ${cfg.api.bodyLimit} bytes` })
})

t.test('SQL-injection strings in every string parameter: no 500, no change', async t => {
  const before = await storeFingerprint(db.pool)
  const hostile = [
    "'; DROP TABLE tags; --", "1; DELETE FROM points", "' OR '1'='1", '%', '_', '\\', "pad1' --", '$1', "'); SELECT pg_sleep(5); --",
    '1,2); DROP TABLE api_keys; --', '\u0000', 'tags WHERE 1=1', '😀', '"', "O'Brien",
  ]
  const q = (s: string): string => encodeURIComponent(s)
  for (const s of hostile) {
    const urls = [
      `/v1/tags?q=${q(s)}`, `/v1/tags?asset=${q(s)}`, `/v1/tags?kind=${q(s)}`, `/v1/tags?cursor=${q(s)}`, `/v1/tags/${q(s)}`,
      `/v1/points?tag=${q(s)}&from=${F}&to=${TO}`, `/v1/points?tag=1&from=${q(s)}&to=${TO}`, `/v1/points?tag=1&from=${F}&to=${TO}&cursor=${q(s)}`,
      `/v1/rollups?tags=${q(s)}&from=${F}&to=${TO}&bucket=1h`, `/v1/rollups?tags=1&from=${F}&to=${TO}&bucket=${q(s)}`, `/v1/rollups?tags=1&from=${F}&to=${TO}&bucket=1h&fields=${q(s)}`,
      `/v1/series?tag=1&from=${F}&to=${q(s)}`, `/v1/production?asset=${q(s)}&from=${F}&to=${TO}`, `/v1/scores?tag=1&from=${F}&to=${q(s)}`,
      `/v1/alerts?asset=${q(s)}`, `/v1/alerts?state=${q(s)}`, `/v1/alerts?from=${q(s)}`,
    ]
    for (const url of urls) {
      const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } })
      if (r.statusCode >= 500 || ![200, 400, 404].includes(r.statusCode)) t.fail(`${url} -> ${r.statusCode} ${r.body}`)
      const body = r.json()
      if (r.statusCode !== 200 && (typeof body.error !== 'string' || typeof body.message !== 'string')) t.fail(`${url}: error body ${r.body}`)
    }
    // As the tag filters they are plain text: nothing matches, nothing is interpreted.
    const asText = await get(`/v1/tags?asset=${q(s)}`)
    t.ok(asText.status === 200 ? asText.body.items.length === 0 : asText.status === 400, `asset=${JSON.stringify(s)}: ${asText.status}, no rows`)
  }
  // And stored through PATCH, they come back verbatim.
  for (const s of hostile.filter(x => x !== '\u0000')) {
    const r = await app.inject({ method: 'PATCH', url: '/v1/tags/8', headers: { authorization: `Bearer ${admin}` }, payload: { unit: s } })
    t.equal(r.statusCode, 200, `PATCH unit ${JSON.stringify(s)}`)
    t.equal(r.json().unit, s, 'stored as text')
  }
  const nul = await app.inject({ method: 'PATCH', url: '/v1/tags/8', headers: { authorization: `Bearer ${admin}` }, payload: { unit: 'a\u0000b' } })
  t.equal(nul.statusCode, 400, 'a NUL byte PostgreSQL cannot store is a 400, not a 500')
  t.match(nul.json().message, /refused by the database/)
  await app.inject({ method: 'PATCH', url: '/v1/tags/8', headers: { authorization: `Bearer ${admin}` }, payload: { unit: null } })
  t.equal(await storeFingerprint(db.pool), before, 'tags, points, rollups, scores, alerts and keys unchanged')
})

t.test('a request for too much is a 400 that says how to narrow it', async t => {
  const rollups = await get(`/v1/rollups?tags=1,2&from=${F}&to=${iso(T0_MS + 30 * DAY_MS)}&bucket=1h`)
  t.equal(rollups.status, 400)
  t.match(rollups.body.message, /2 tag\(s\) × 720 1h buckets would return about 1,440 rows, more than the 1,000 one response may hold: narrow the range \(from\/to\), use a coarser bucket \(1d\) or ask for fewer tags; Accept: text\/csv allows up to 5,000 rows/)
  const ok = await get(`/v1/rollups?tags=1&from=${F}&to=${iso(T0_MS + 30 * DAY_MS)}&bucket=1h`)
  t.equal(ok.status, 200, 'one tag × 720 hours fits')
  const csv = await app.inject({ url: `/v1/rollups?tags=1&from=${F}&to=${iso(T0_MS + 30 * DAY_MS)}&bucket=1m`, headers: { authorization: `Bearer ${key}`, accept: 'text/csv' } })
  t.equal(csv.statusCode, 400, 'CSV has its own (larger) bound')
  t.match(csv.json().message, /43,200 1m buckets .* more than the 5,000 .* coarser bucket \(1h or 1d\)/)
  const production = await get(`/v1/production?asset=pad1&from=${F}&to=${iso(T0_MS + 3 * DAY_MS)}&bucket=1m`)
  t.equal(production.status, 400)
  t.match(production.body.message, /4,320 1m buckets .*narrow the range \(from\/to\) or use a coarser bucket \(1h or 1d\)/)
  const points = await get(`/v1/points?tag=1&from=${F}&to=${TO}&limit=5000`)
  t.match(points.body.message, /querystring\/limit must be <= 1000 for JSON .*page with the cursor/)
  // Scores: more rows than the bound in the range.
  await db.pool.query("INSERT INTO anomaly_scores (tag_id, ts, score, model) SELECT 2, $1::timestamptz + make_interval(secs => g), 0.5, 'm' FROM generate_series(1, 1001) g", [F])
  const scores = await get(`/v1/scores?tag=2&from=${F}&to=${iso(T0_MS + DAY_MS)}`)
  t.equal(scores.status, 400)
  t.match(scores.body.message, /more than the 1,000 one response may hold: narrow the range/)
  await db.pool.query('DELETE FROM anomaly_scores WHERE tag_id = 2')
})

t.test('401 and 403 say what is wrong', async t => {
  const url = `/v1/tags`
  const cases: Array<[Record<string, string>, number, RegExp]> = [
    [{}, 401, /an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`/],
    [{ authorization: 'Basic dXNlcjpwYXNz' }, 401, /must be `Bearer <API key>`/],
    [{ authorization: 'Bearer nope' }, 401, /malformed/],
    [{ authorization: `Bearer fsk_${'A'.repeat(43)}` }, 401, /not valid/],
    [{ authorization: `Bearer ${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}` }, 401, /not valid/],
    [{ 'x-api-key': key }, 200, /./],
    [{ authorization: `bearer ${key}` }, 200, /./],
  ]
  for (const [headers, status, message] of cases) {
    const r = await get(url, headers)
    t.equal(r.status, status, `${JSON.stringify(headers).slice(0, 40)} -> ${status}`)
    if (status !== 200) {
      t.equal(r.body.error, 'unauthorized')
      t.match(r.body.message, message)
    }
  }
  const forbidden = await app.inject({ method: 'PATCH', url: '/v1/tags/7', headers: { authorization: `Bearer ${key}` }, payload: { unit: 'x' } })
  t.equal(forbidden.statusCode, 403)
  t.match(forbidden.json(), { error: 'forbidden', message: /PATCH \/v1\/tags\/:id needs the admin scope; the key fsk_\S+ has read/ })
  const trace = await app.inject({ method: 'DELETE', url: '/v1/tags/3', headers: { authorization: `Bearer ${admin}` } })
  t.equal(trace.statusCode, 405, 'a known path with another method is a 405')
  t.same(trace.json(), { error: 'method_not_allowed', message: 'DELETE is not allowed on /v1/tags/3 (allowed: GET, HEAD, PATCH)' })
  t.equal(trace.headers.allow, 'GET, HEAD, PATCH')
  const unknownRoute = await get('/v1/nothing', {})
  t.equal(unknownRoute.status, 401, 'unknown /v1 paths ask for a key first (no route discovery without one)')
  t.same((await get('/v1/nothing', { authorization: `Bearer ${key}` })).body, { error: 'not_found', message: 'no route GET /v1/nothing' })

  const revoked = await createApiKey(db.pool, 'leaver', ['read'])
  t.equal((await get(url, { authorization: `Bearer ${revoked.key}` })).status, 200)
  await revokeApiKey(db.pool, revoked.row.prefix)
  const after = await get(url, { authorization: `Bearer ${revoked.key}` })
  t.equal(after.status, 401, 'a revoked key stops working (cache disabled here)')
  t.match(after.body.message, /has been revoked/)
  const { rows } = await db.pool.query('SELECT last_used_at FROM api_keys WHERE prefix = $1', [revoked.row.prefix])
  t.ok(rows[0].last_used_at !== null, 'last use is recorded')
})

t.test('429 over the rate limit, per key', async t => {
  const limited = createApiServer({ api: { ...cfg.api, rateLimitPerMinute: 5 }, kafka: cfg.kafka }, { pool: db.pool })
  t.teardown(() => limited.close())
  const other = (await createApiKey(db.pool, 'other', ['read'])).key
  const statuses: number[] = []
  let last
  for (let i = 0; i < 7; i++) {
    last = await limited.inject({ url: '/v1/assets', headers: { authorization: `Bearer ${key}` } })
    statuses.push(last.statusCode)
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429])
  t.match(last!.json(), { error: 'too_many_requests', message: /rate limit of 5 requests per minute exceeded for the API key fsk_\S+; retry in \d+/ })
  t.ok(last!.headers['retry-after'], 'Retry-After header')
  t.equal((await limited.inject({ url: '/v1/assets', headers: { authorization: `Bearer ${other}` } })).statusCode, 200, 'another key has its own budget')
})

t.test('/ready is 503 naming the database when it is unreachable', async t => {
  const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/fieldstream', connectionTimeoutMillis: 1000 })
  dead.on('error', () => undefined)
  const down = createApiServer({ api: cfg.api, kafka: cfg.kafka }, { pool: dead })
  t.teardown(async () => { await down.close(); await dead.end() })
  const r = await down.inject({ url: '/ready' })
  t.equal(r.statusCode, 503)
  t.match(r.json(), { database: /^unreachable: .*ECONNREFUSED/, kafka: 'ok' })
  t.same((await down.inject({ url: '/health' })).json(), { status: 'ok' }, '/health still answers')
  const v1 = await down.inject({ url: '/v1/tags', headers: { authorization: `Bearer ${key}` } })
  t.equal(v1.statusCode, 503, 'a /v1 request is a 503, not a 500')
  t.same(v1.json(), { error: 'unavailable', message: 'the database is unreachable; try again shortly' })
})
