// Bad input and hostile clients: every malformed parameter is a 400 naming the field;
// SQL-injection strings in every parameter change nothing and never cause a 500; a request
// for too much is a 400 that says how to narrow it; 401, 403 and 429 bodies; /ready is 503
// when the database is unreachable. "Every parameter" and "every route" are read from the
// OpenAPI document the server serves, so a new route or parameter without cases fails here.
// (test/api/schemathesis.test.ts fuzzes the same document with generated input.)
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { createApiKey, revokeApiKey } from '../../api/auth/store.js'
import { createApiServer } from '../../api/server.js'
import { loadConfig } from '../../schemas/config/load.js'
import { createTestDatabase, migrateTestDatabase, type TestDatabase } from '../helpers/db.js'
import { DAY_MS, HOUR_MS, insertSegment, iso, loadFixture, storeFingerprint, T0_MS } from './fixture.js'

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

/** A /v1 operation of the served OpenAPI document and its query and path parameters. */
interface Operation { label: string, method: string, path: string, params: Array<{ name: string, in: 'query' | 'path' }> }

async function documentedOperations (): Promise<Operation[]> {
  const spec = (await app.inject({ url: '/docs/json' })).json() as { paths: Record<string, Record<string, { parameters?: Array<{ name: string, in: string }> }>> }
  const ops: Operation[] = []
  for (const [path, methods] of Object.entries(spec.paths)) {
    if (!path.startsWith('/v1/')) continue
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []).filter(p => p.in === 'query' || p.in === 'path').map(p => ({ name: p.name, in: p.in as 'query' | 'path' }))
      ops.push({ label: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, params })
    }
  }
  return ops
}

/** The documented operation a request goes to (path templates like /v1/tags/{id}). */
function operationOf (ops: Operation[], method: string, url: string): Operation | undefined {
  const path = url.split('?')[0]!
  return ops.find(o => o.method === method && new RegExp(`^${o.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path))
}

/**
 * A valid request per operation (every parameter left out is optional), the key it needs and,
 * for parameters that exclude another, the one to drop. Every documented operation must be here.
 */
const VALID: Record<string, { path?: Record<string, string>, query: Record<string, string>, body?: object, admin?: true, drop?: Record<string, string> }> = {
  'GET /v1/tags': { query: {} },
  'GET /v1/tags/{id}': { path: { id: '1' }, query: {} },
  // Sets tag 7's kind to what it is: a valid request that changes nothing.
  'PATCH /v1/tags/{id}': { path: { id: '7' }, query: {}, body: { kind: 'gauge' }, admin: true },
  'GET /v1/assets': { query: {} },
  'GET /v1/points': { query: { tag: '1', from: F, to: TO } },
  'GET /v1/rollups': { query: { tags: '1,2', from: F, to: TO, bucket: '1h' } },
  'GET /v1/series': { query: { tag: '1', from: F, to: TO } },
  'GET /v1/production': { query: { asset: 'pad1', from: F, to: TO }, drop: { tag: 'asset' } },
  'GET /v1/scores': { query: { tag: '1', from: F, to: TO } },
  'GET /v1/alerts': { query: {} },
}

/** The valid request of `op` with parameter `name` set to `value` (or as it is). */
function request (op: Operation, name?: string, value?: string): { method: 'GET' | 'PATCH', url: string, payload?: object, admin: boolean } {
  const v = VALID[op.label]!
  const path = { ...v.path }
  const query = { ...v.query }
  const param = op.params.find(p => p.name === name)
  if (name !== undefined && v.drop?.[name] !== undefined) delete query[v.drop[name]]
  if (param?.in === 'path') path[param.name] = value!
  else if (param?.in === 'query') query[param.name] = value!
  const url = op.path.replace(/\{([^}]+)\}/g, (_, p: string) => encodeURIComponent(path[p]!)) + (Object.keys(query).length > 0 ? `?${new URLSearchParams(query).toString()}` : '')
  return { method: op.method as 'GET' | 'PATCH', url, payload: v.body, admin: v.admin === true }
}

t.test('every documented operation has a valid request here, and it succeeds', async t => {
  const ops = await documentedOperations()
  t.same(ops.map(o => o.label).sort(), Object.keys(VALID).sort(), 'the operations of /docs/json')
  for (const op of ops) {
    const r = request(op)
    const res = await app.inject({ method: r.method, url: r.url, payload: r.payload, headers: { authorization: `Bearer ${r.admin ? admin : key}` } })
    t.equal(res.statusCode, 200, `${op.label}: ${r.url} ${res.statusCode === 200 ? '' : res.body}`)
  }
})

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
    // Each remaining parameter of each route at least once (the check below keeps it so).
    ['/v1/tags?q=a%00b', 'querystring/q', /must not contain a NUL character/],
    [`/v1/tags?asset=${'x'.repeat(257)}`, 'querystring/asset', /must NOT have more than 256 characters/],
    ['/v1/tags?asset=pad%001', 'querystring/asset', /must not contain a NUL character \(got "pad\\u00001"\)/],
    ['/v1/tags?limit=0', 'querystring/limit', /must be >= 1/],
    [`/v1/rollups?tags=1&from=2026-10-01T10:61Z&to=${TO}&bucket=1h`, 'querystring/from', /ISO-8601/],
    [`/v1/rollups?tags=1&from=${F}&to=tomorrow&bucket=1h`, 'querystring/to', /ISO-8601/],
    [`/v1/rollups?tags=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}&from=${F}&to=${TO}&bucket=1h`, 'querystring/tags', /at most 100 tag ids/],
    [`/v1/series?tag=x&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/series?tag=1&from=2026-02-29&to=${TO}`, 'querystring/from', /ISO-8601/],
    [`/v1/series?tag=1&from=${F}&to=${TO}&points=many`, 'querystring/points', /must be an integer/],
    [`/v1/production?tag=0&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/production?asset=pad1&from=1e3&to=${TO}`, 'querystring/from', /ISO-8601/],
    [`/v1/production?asset=pad1&from=${F}&to=2026-10-01T10:00+24:00`, 'querystring/to', /ISO-8601/],
    [`/v1/production?asset=pad%00&from=${F}&to=${TO}`, 'querystring/asset', /must not contain a NUL character/],
    [`/v1/scores?tag=-1&from=${F}&to=${TO}`, 'querystring/tag', /must be a tag id/],
    [`/v1/scores?tag=1&from=noon&to=${TO}`, 'querystring/from', /ISO-8601/],
    [`/v1/scores?tag=1&from=${F}&to=${TO}&model=x`, 'querystring', /unknown parameter "model"/],
    [`/v1/alerts?asset=${'x'.repeat(257)}`, 'querystring/asset', /must NOT have more than 256 characters/],
    ['/v1/alerts?from=2026-10-32', 'querystring/from', /ISO-8601/],
    ['/v1/alerts?to=99999999999999999', 'querystring/to', /ISO-8601/],
    ['/v1/alerts?limit=1001', 'querystring/limit', /must be <= 1000/],
    ['/v1/assets?asset=pad1', 'querystring', /unknown parameter "asset"/],
  ]
  const ops = await documentedOperations()
  const named = new Set<string>()
  for (const [url, field, problem] of cases) {
    const r = await get(url)
    t.equal(r.status, 400, `${url} -> 400`)
    t.equal(r.body.error, 'bad_request', `${url}: error code`)
    t.ok(typeof r.body.message === 'string' && r.body.message.startsWith(field), `${url}: message names ${field} (${r.body.message})`)
    t.match(r.body.message, problem, `${url}: says what is wrong`)
    named.add(`${operationOf(ops, 'GET', url)?.label ?? url} ${field}`)
  }
  // PATCH's path parameter (its body is the next test's).
  for (const id of ['abc', '0', '2147483648']) {
    const r = await app.inject({ method: 'PATCH', url: `/v1/tags/${id}`, headers: { authorization: `Bearer ${admin}` }, payload: { unit: 'x' } })
    t.equal(r.statusCode, 400, `PATCH /v1/tags/${id} -> 400`)
    t.match(r.json().message, /^params\/id must be a tag id/)
    named.add('PATCH /v1/tags/{id} params/id')
  }
  for (const op of ops) {
    for (const p of op.params) {
      const field = `${p.in === 'path' ? 'params' : 'querystring'}/${p.name}`
      t.ok(named.has(`${op.label} ${field}`), `${op.label}: a malformed ${field} is among the cases`)
    }
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

t.test('SQL-injection strings in every parameter of every route: no 500, no change', async t => {
  const before = await storeFingerprint(db.pool)
  const hostile = [
    "'; DROP TABLE tags; --", "1; DELETE FROM points", "' OR '1'='1", '%', '_', '\\', "pad1' --", '$1', "'); SELECT pg_sleep(5); --",
    '1,2); DROP TABLE api_keys; --', '\u0000', 'tags WHERE 1=1', '😀', '"', "O'Brien", '1 OR 1=1', "1' UNION SELECT key_hash FROM api_keys --",
  ]
  const ops = await documentedOperations()
  let requests = 0
  for (const s of hostile) {
    for (const op of ops) {
      // Each documented parameter in turn holds the string, the rest of the request being valid.
      for (const p of op.params) {
        const r = request(op, p.name, s)
        const res = await app.inject({ method: r.method, url: r.url, payload: r.payload, headers: { authorization: `Bearer ${r.admin ? admin : key}` } })
        requests++
        const what = `${op.label} ${p.name}=${JSON.stringify(s)}`
        if (![200, 400, 404].includes(res.statusCode)) t.fail(`${what} -> ${res.statusCode} ${res.body}`)
        const body = res.json()
        if (res.statusCode !== 200 && (typeof body.error !== 'string' || typeof body.message !== 'string')) t.fail(`${what}: error body ${res.body}`)
      }
    }
    // As the tag filters they are plain text: nothing matches, nothing is interpreted.
    const asText = await get(`/v1/tags?asset=${encodeURIComponent(s)}`)
    t.ok(asText.status === 200 ? asText.body.items.length === 0 : asText.status === 400, `asset=${JSON.stringify(s)}: ${asText.status}, no rows`)
    // And every field of the PATCH body (tag 9 put back after each).
    for (const field of ['kind', 'unit', 'asset']) {
      const res = await app.inject({ method: 'PATCH', url: '/v1/tags/9', headers: { authorization: `Bearer ${admin}` }, payload: { [field]: s } })
      requests++
      if (![200, 400].includes(res.statusCode)) t.fail(`PATCH body ${field}=${JSON.stringify(s)} -> ${res.statusCode} ${res.body}`)
      await app.inject({ method: 'PATCH', url: '/v1/tags/9', headers: { authorization: `Bearer ${admin}` }, payload: { unit: null, asset: null, kind: 'gauge' } })
    }
  }
  t.ok(requests >= hostile.length * ops.reduce((n, o) => n + o.params.length, 0), `${requests} hostile requests, none a 500`)
  // Stored through PATCH, they come back verbatim.
  for (const s of hostile.filter(x => x !== '\u0000')) {
    for (const field of ['unit', 'asset']) {
      const r = await app.inject({ method: 'PATCH', url: '/v1/tags/8', headers: { authorization: `Bearer ${admin}` }, payload: { [field]: s } })
      t.equal(r.statusCode, 200, `PATCH ${field} ${JSON.stringify(s)}`)
      t.equal(r.json()[field], s, 'stored as text')
    }
  }
  const nul = await app.inject({ method: 'PATCH', url: '/v1/tags/8', headers: { authorization: `Bearer ${admin}` }, payload: { unit: 'a\u0000b' } })
  t.equal(nul.statusCode, 400, 'a NUL byte PostgreSQL cannot store is a 400, not a 500')
  t.match(nul.json().message, /^body\/unit must not contain a NUL character/)
  await app.inject({ method: 'PATCH', url: '/v1/tags/8', headers: { authorization: `Bearer ${admin}` }, payload: { unit: null, asset: null } })
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

  const revoked = await createApiKey(db.pool, 'leaver', ['read', 'admin'])
  t.equal((await get(url, { authorization: `Bearer ${revoked.key}` })).status, 200)
  await revokeApiKey(db.pool, revoked.row.prefix)
  const after = await get(url, { authorization: `Bearer ${revoked.key}` })
  t.equal(after.status, 401, 'a revoked key stops working (cache disabled here)')
  t.match(after.body.message, /has been revoked/)
  const { rows } = await db.pool.query('SELECT last_used_at FROM api_keys WHERE prefix = $1', [revoked.row.prefix])
  t.ok(rows[0].last_used_at !== null, 'last use is recorded')

  // The same on every documented route, each with an otherwise valid request: no key, a
  // well-formed unknown key (both headers), a revoked key, and a read key on an admin route.
  const refusals: Array<[string, Record<string, string>, number, RegExp]> = [
    ['no key', {}, 401, /an API key is required/],
    ['an unknown key', { authorization: `Bearer fsk_${'A'.repeat(43)}` }, 401, /not valid/],
    ['an unknown X-API-Key', { 'x-api-key': `fsk_${'B'.repeat(43)}` }, 401, /not valid/],
    ['a revoked key', { authorization: `Bearer ${revoked.key}` }, 401, /has been revoked/],
  ]
  const ops = await documentedOperations()
  t.ok(ops.length >= 10, `${ops.length} operations under /v1`)
  for (const op of ops) {
    const r = request(op)
    for (const [what, headers, status, message] of refusals) {
      const res = await app.inject({ method: r.method, url: r.url, payload: r.payload, headers })
      t.equal(res.statusCode, status, `${op.label} with ${what} -> ${status}`)
      t.match(res.json(), { error: 'unauthorized', message }, `${op.label} with ${what}: says why`)
    }
    const read = await app.inject({ method: r.method, url: r.url, payload: r.payload, headers: { 'x-api-key': key } })
    if (r.admin) t.match({ status: read.statusCode, body: read.json() }, { status: 403, body: { error: 'forbidden', message: /needs the admin scope; the key fsk_\S+ has read$/ } }, `${op.label} with a read key -> 403`)
    else t.equal(read.statusCode, 200, `${op.label} with a read key -> 200`)
  }
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

t.test('values a device sent as NaN or ±Infinity: null in JSON, empty in CSV, left out of series (not a 500)', async t => {
  // A float register of a faulted sensor reads NaN; the pipeline stores what the device sent.
  const pts = [NaN, Infinity, 1.5, -Infinity, 2.5].map((v, i) => ({ ms: T0_MS + (i + 1) * 1000, v, q: 0xc0 }))
  await insertSegment(db.pool, 4, T0_MS, pts)
  t.teardown(() => db.pool.query('DELETE FROM points WHERE tag_id = 4'))
  const range = `from=${F}&to=${iso(T0_MS + 60_000)}`
  const points = await get(`/v1/points?tag=4&${range}`)
  t.equal(points.status, 200)
  t.same(points.body.items.map((p: { v: number | null }) => p.v), [null, null, 1.5, null, 2.5])
  const csv = await app.inject({ url: `/v1/points?tag=4&${range}`, headers: { authorization: `Bearer ${key}`, accept: 'text/csv' } })
  t.equal(csv.statusCode, 200)
  t.same(csv.body.trim().split('\r\n').slice(1).map(l => l.split(',')[1]), ['', '', '1.5', '', '2.5'], 'CSV: empty fields')
  const series = await get(`/v1/series?tag=4&${range}&points=10`)
  t.equal(series.status, 200)
  t.match(series.body, { level: 'raw', items: [{ min: 1.5, max: 2.5, avg: 2, n: 2 }] }, 'series: only the finite samples, as in the rollups')
})
