// Every API route's happy path over a real socket against the real PostgreSQL, with the
// figures checked against the fixture's generators: tags (search, filters, a cursor walk),
// points (a cursor walk returning every row exactly once, CSV parsed back), rollups (fields,
// twa, CSV), chart series (level choice, spikes kept, one SQL statement per request),
// production per tag and per asset and unit, scores, alerts, health, metrics and docs.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createApiKey } from '../../api/auth/store.js'
import { createApiServer } from '../../api/server.js'
import { loadConfig } from '../../schemas/config/load.js'
import { createTestDatabase, migrateTestDatabase, type TestDatabase } from '../helpers/db.js'
import { ALERTS, DAY_MS, fixtureRollups, HOUR_MS, insertRollups, iso, loadFixture, rawPoints, rollupRow, SCORES, T0_MS, TAGS } from './fixture.js'

let db: TestDatabase
let app: FastifyInstance
let base: string
let key: string
let admin: string
/** SQL statements the API ran, counted at the pool. */
let queries = 0

t.before(async () => {
  db = await createTestDatabase('api_routes')
  await migrateTestDatabase(db.url)
  await loadFixture(db.pool)
  key = (await createApiKey(db.pool, 'reader', ['read'])).key
  admin = (await createApiKey(db.pool, 'admin', ['read', 'admin'])).key
  const cfg = loadConfig()
  const counted = new Proxy(db.pool, {
    get (target, prop, receiver) {
      if (prop === 'query') return (...args: unknown[]) => { queries++; return (target.query as (...a: unknown[]) => unknown).apply(target, args) }
      return Reflect.get(target, prop, receiver)
    },
  })
  app = createApiServer({ api: { ...cfg.api, maxRows: 10_000 }, kafka: cfg.kafka }, { pool: counted })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})
t.teardown(async () => { await app?.close(); await db?.drop() })

async function get (path: string, o: { key?: string, accept?: string } = {}): Promise<{ status: number, body: any, text: string, headers: Headers }> {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${o.key ?? key}`, ...(o.accept === undefined ? {} : { accept: o.accept }) } })
  const text = await res.text()
  let body: unknown
  try { body = JSON.parse(text) } catch { body = undefined }
  return { status: res.status, body, text, headers: res.headers }
}

type Bin = { t: string, min: number, max: number, avg: number, n: number }

/** What the bins of `rows` at `binMs` (aligned to the epoch) must be. */
function expectedBins (rows: Array<{ bucketMs: number, min: number, max: number, sum: number, n: number }>, binMs: number): Bin[] {
  const bins = new Map<number, { min: number, max: number, sum: number, n: number }>()
  for (const r of rows) {
    const k = Math.floor(r.bucketMs / binMs) * binMs
    const b = bins.get(k)
    if (b === undefined) bins.set(k, { min: r.min, max: r.max, sum: r.sum, n: r.n })
    else { b.min = Math.min(b.min, r.min); b.max = Math.max(b.max, r.max); b.sum += r.sum; b.n += r.n }
  }
  return [...bins].sort((a, b) => a[0] - b[0]).map(([k, b]) => ({ t: iso(k), min: b.min, max: b.max, avg: b.sum / b.n, n: b.n }))
}

function sameBins (t: Test, got: Bin[], want: Bin[], what: string): void {
  t.equal(got.length, want.length, `${what}: ${want.length} bins`)
  const bad = want.findIndex((w, i) => {
    const g = got[i]
    return g === undefined || g.t !== w.t || g.min !== w.min || g.max !== w.max || g.n !== w.n || Math.abs(g.avg - w.avg) > 1e-9 * Math.abs(w.avg)
  })
  t.equal(bad, -1, bad === -1 ? what : `${what}: bin ${bad} is ${JSON.stringify(got[bad])}, want ${JSON.stringify(want[bad])}`)
}

function parseCsv (text: string): string[][] {
  t.ok(text.endsWith('\r\n'), 'CSV ends with a line break')
  return text.slice(0, -2).split('\r\n').map(l => l.split(','))
}

t.test('tags: search, filters, one tag, a cursor walk, assets, PATCH', async t => {
  const all = await get('/v1/tags?limit=1000')
  t.equal(all.status, 200)
  t.same(all.body.items.map((x: { name: string }) => x.name), TAGS.map(x => x.name), 'every tag, by id')
  t.equal(all.body.nextCursor, null, 'one page holds them all')
  const first = all.body.items[0]
  t.match(first, { id: 1, name: 'pad1/pump1/pressure', kind: 'gauge', unit: 'bar', asset: 'pad1', valueKind: 'number' })
  t.match(first.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.(\d{3}|\d{6})Z$/, 'createdAt is ISO-8601')

  t.same((await get('/v1/tags?q=METER')).body.items.map((x: { id: number }) => x.id), [2, 3, 5], 'q matches name substrings, case-insensitive')
  t.same((await get('/v1/tags?q=%25')).body.items.map((x: { id: number }) => x.id), [6], '"%" matches itself only')
  t.same((await get('/v1/tags?q=0%25_')).body.items.map((x: { id: number }) => x.id), [6], '"%_" literal')
  t.same((await get('/v1/tags?asset=pad1&kind=counter')).body.items.map((x: { id: number }) => x.id), [2, 3], 'asset and kind filters')

  const seen: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const r = await get(`/v1/tags?limit=7${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.equal(r.status, 200)
    seen.push(...r.body.items.map((x: { id: number }) => x.id))
    cursor = r.body.nextCursor
    pages++
  } while (cursor !== null)
  t.same(seen, TAGS.map(x => x.id), 'the cursor walk visits every tag exactly once, in order')
  t.equal(pages, Math.ceil(TAGS.length / 7))

  t.match((await get('/v1/tags/4')).body, { id: 4, name: 'pad2/tank1/level', asset: 'pad2' })
  const missing = await get('/v1/tags/999')
  t.equal(missing.status, 404)
  t.same(missing.body, { error: 'not_found', message: 'params/id: tag 999 does not exist' })

  t.same((await get('/v1/assets')).body, { items: [{ asset: 'lab', tags: 1 }, { asset: 'pad1', tags: 4 }, { asset: 'pad2', tags: 1 }] })

  const patch = async (k: string, body: unknown): Promise<Response> => await fetch(`${base}/v1/tags/7`, { method: 'PATCH', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const forbidden = await patch(key, { unit: 'psi' })
  t.equal(forbidden.status, 403, 'a read key cannot PATCH')
  const ok = await patch(admin, { unit: 'psi', asset: 'pad3', kind: 'rate' })
  t.equal(ok.status, 200)
  t.match(await ok.json(), { id: 7, unit: 'psi', asset: 'pad3', kind: 'rate' })
  t.match((await get('/v1/tags/7')).body, { unit: 'psi', asset: 'pad3', kind: 'rate' }, 'the change is visible at once')
  const cleared = await patch(admin, { unit: null, asset: null, kind: 'gauge' })
  t.match(await cleared.json(), { id: 7, unit: null, asset: null, kind: 'gauge' }, 'null clears')
})

t.test('points: values exact, a cursor walk returns every row once, CSV parses back', async t => {
  const want = rawPoints()
  const from = T0_MS
  const to = T0_MS + 3 * HOUR_MS
  const got: Array<{ t: string, v: number, q: number }> = []
  let cursor: string | null = null
  let pages = 0
  do {
    const r = await get(`/v1/points?tag=1&from=${iso(from)}&to=${to}&limit=997${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.equal(r.status, 200)
    t.equal(r.body.tag, 1)
    got.push(...r.body.items)
    cursor = r.body.nextCursor
    pages++
  } while (cursor !== null && pages < 100)
  t.equal(got.length, want.length, `${want.length} points over ${pages} pages`)
  t.same(got.map(p => Date.parse(p.t)), want.map(p => p.ms), 'times exact, ordered, none missing or repeated')
  t.same(got.map(p => p.q), want.map(p => p.q), 'qualities exact')
  t.same(got.map(p => p.v).sort((a, b) => a - b), want.map(p => p.v).sort((a, b) => a - b), 'values exact')

  // Pages of 1 across the two points sharing second 5000: the cursor must not lose or repeat one.
  const at = T0_MS + 4999 * 1000
  const small: number[] = []
  cursor = null
  do {
    const r = await get(`/v1/points?tag=1&from=${at}&to=${at + 3000}&limit=1${cursor === null ? '' : `&cursor=${cursor}`}`)
    small.push(...r.body.items.map((p: { v: number }) => p.v))
    cursor = r.body.nextCursor
  } while (cursor !== null)
  t.same(small.sort((a, b) => a - b), [-1, 499.9, 500, 500.1], 'points sharing a time each come once')

  const csv = await get(`/v1/points?tag=1&from=${iso(from)}&to=${iso(to)}`, { accept: 'text/csv' })
  t.equal(csv.status, 200)
  t.match(csv.headers.get('content-type'), /^text\/csv/)
  t.equal(csv.headers.get('x-next-cursor'), null, 'the whole range fits: no next cursor')
  const lines = parseCsv(csv.text)
  t.same(lines[0], ['time', 'value', 'quality'])
  t.equal(lines.length - 1, want.length, 'one line per point')
  t.same(lines.slice(1).map(l => Date.parse(l[0]!)), want.map(p => p.ms))
  t.same(lines.slice(1).map(l => Number(l[2])), want.map(p => p.q))
  const csvPage = await get(`/v1/points?tag=1&from=${iso(from)}&to=${iso(to)}&limit=10`, { accept: 'text/csv' })
  t.equal(parseCsv(csvPage.text).length, 11, 'limit applies to CSV')
  t.ok(csvPage.headers.get('x-next-cursor'), 'a CSV page names its next cursor in X-Next-Cursor')
  const empty = await get(`/v1/points?tag=2&from=${from}&to=${to}`)
  t.same(empty.body, { tag: 2, items: [], nextCursor: null }, 'a tag without raw points reads empty')
})

t.test('rollups: chosen fields with real numbers, many tags, CSV', async t => {
  const rows = fixtureRollups()['1h']
  const r = await get(`/v1/rollups?tags=2,1&from=${iso(T0_MS)}&to=${iso(T0_MS + 30 * HOUR_MS)}&bucket=1h&fields=max,avg,twa,volume`)
  t.equal(r.status, 200)
  t.equal(r.body.bucket, '1h')
  const want = rows.filter(x => (x.tag === 1 || x.tag === 2) && x.bucketMs < T0_MS + 30 * HOUR_MS).sort((a, b) => a.tag - b.tag || a.bucketMs - b.bucketMs)
  t.equal(r.body.items.length, want.length, '2 tags × 30 hours')
  t.same(Object.keys(r.body.items[0]), ['tag', 't', 'max', 'avg', 'twa', 'volume'], 'only the requested fields, plus tag and t')
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = r.body.items[i]
    if (g.tag !== w.tag || Date.parse(g.t) !== w.bucketMs || g.max !== w.max || g.volume !== w.volume ||
        Math.abs(g.avg - w.sum / w.n) > 1e-9 || Math.abs(g.twa - w.twa) > 1e-9) {
      t.fail(`row ${i}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`)
      break
    }
  }
  t.pass('every row matches: max, avg = sum / n, twa from tw_ext, volume (null for the gauge)')

  const all = await get(`/v1/rollups?tags=5&from=${T0_MS}&to=${T0_MS + 2 * DAY_MS}&bucket=1d`)
  const d = rollupRow('1d', 5, 1, true)
  t.same(all.body.items[1], { tag: 5, t: iso(d.bucketMs), n: d.n, min: d.min, max: d.max, avg: d.sum / d.n, twa: all.body.items[1].twa, sum: d.sum, first: d.firstVal, last: d.lastVal, volume: d.volume }, 'all fields by default')
  t.ok(Math.abs(all.body.items[1].twa - d.twa) < 1e-9, 'twa')

  const csv = await get(`/v1/rollups?tags=1,2&from=${iso(T0_MS)}&to=${iso(T0_MS + 48 * HOUR_MS)}&bucket=1h&fields=min,volume`, { accept: 'text/csv' })
  t.equal(csv.status, 200)
  const lines = parseCsv(csv.text)
  t.same(lines[0], ['tag', 't', 'min', 'volume'])
  const wantCsv = rows.filter(x => x.tag === 1 || x.tag === 2).sort((a, b) => a.tag - b.tag || a.bucketMs - b.bucketMs)
  t.same(lines.slice(1), wantCsv.map(x => [String(x.tag), iso(x.bucketMs), String(x.min), x.volume === null ? '' : String(x.volume)]), 'CSV rows equal the stored rows (empty field for null)')
})

t.test('series: the right level, spikes kept, one SQL statement per request', async t => {
  // Daily rows over five years and hourly rows over one year for tag 4, with one spike each.
  const days = 5 * 365
  const daily = Array.from({ length: days }, (_, k) => ({ ...rollupRow('1d', 4, k, false), bucketMs: T0_MS - (days - k) * DAY_MS }))
  daily[1234]!.max = 9999
  const hourly = Array.from({ length: 365 * 24 }, (_, k) => ({ ...rollupRow('1h', 4, k, false), bucketMs: T0_MS - (365 * 24 - k) * HOUR_MS }))
  hourly[4321]!.max = 7777
  await insertRollups(db.pool, '1d', daily)
  await insertRollups(db.pool, '1h', hourly)
  await get('/v1/tags/4') // warm the tag cache, so the counts below are the series' own

  const ask = async (from: number, to: number, points: number): Promise<any> => {
    const before = queries
    const r = await get(`/v1/series?tag=${points < 0 ? 1 : 4}&from=${iso(from)}&to=${iso(to)}&points=${Math.abs(points)}`)
    t.equal(r.status, 200)
    t.equal(queries - before, 1, `one SQL statement for ${r.body.level} over ${Math.round((to - from) / DAY_MS)} days`)
    return r.body
  }
  const five = await ask(T0_MS - days * DAY_MS, T0_MS, 1000)
  t.equal(five.level, '1d', 'five years at ~1000 points read daily rollups')
  t.equal(five.binSeconds, 2 * 86400, 'bins of two days')
  t.ok(five.items.length >= 900 && five.items.length <= 1001, `about 1000 bins (${five.items.length})`)
  sameBins(t, five.items, expectedBins(daily, 2 * DAY_MS), 'every 2-day bin: min, max, sample-weighted avg and n of its days')
  const spikeBin = five.items.find((b: { max: number }) => b.max === 9999)
  const spikeDay = daily[1234]!.bucketMs
  t.ok(spikeBin !== undefined && Date.parse(spikeBin.t) <= spikeDay && spikeDay < Date.parse(spikeBin.t) + 2 * DAY_MS, 'the one-day spike is the max of the bin covering its day')

  const year = await ask(T0_MS - 365 * DAY_MS, T0_MS, 1000)
  t.equal(year.level, '1h', 'a year at ~1000 points reads hourly rollups')
  t.equal(year.binSeconds, 9 * 3600, '9-hour bins')
  sameBins(t, year.items, expectedBins(hourly, 9 * HOUR_MS), 'every 9-hour bin matches its hours')
  t.equal(Math.max(...year.items.map((b: { max: number }) => b.max)), 7777, 'the one-hour spike survives')

  const threeHours = await ask(T0_MS, T0_MS + 3 * HOUR_MS, -100)
  t.equal(threeHours.level, '1m', 'three hours at ~100 points read minute rollups')
  t.equal(threeHours.binSeconds, 120)
  t.equal(threeHours.items.length, 90)
  const m = fixtureRollups()['1m']
  t.same(threeHours.items[3], { t: iso(T0_MS + 6 * 60_000), min: Math.min(m[6]!.min, m[7]!.min), max: Math.max(m[6]!.max, m[7]!.max), avg: (m[6]!.sum + m[7]!.sum) / (m[6]!.n + m[7]!.n), n: m[6]!.n + m[7]!.n }, 'a bin combines its two minutes')

  const hour = await ask(T0_MS + 2 * HOUR_MS, T0_MS + 3 * HOUR_MS, -1000)
  t.equal(hour.level, 'raw', 'one hour at ~1000 points reads raw points')
  t.equal(hour.binSeconds, 3.6)
  const raw = rawPoints().filter(p => p.ms >= T0_MS + 2 * HOUR_MS && p.ms < T0_MS + 3 * HOUR_MS && p.q === 0xc0)
  t.equal(hour.items.reduce((s: number, b: { n: number }) => s + b.n, 0), raw.length, 'every good-quality point counted once (bad ones left out)')
  t.equal(Math.max(...hour.items.map((b: { max: number }) => b.max)), 5000, 'the raw spike is kept')
  const b0 = raw.filter(p => p.ms < T0_MS + 2 * HOUR_MS + 3600)
  t.same(hour.items[0], { t: iso(T0_MS + 2 * HOUR_MS), min: Math.min(...b0.map(p => p.v)), max: Math.max(...b0.map(p => p.v)), avg: hour.items[0].avg, n: b0.length })
  t.ok(Math.abs(hour.items[0].avg - b0.reduce((s, p) => s + p.v, 0) / b0.length) < 1e-9)
})

t.test('production: per tag, and per asset summed by unit', async t => {
  const d = (tag: number, k: number): number => rollupRow('1d', tag, k, true).volume!
  const tag = await get(`/v1/production?tag=2&from=${iso(T0_MS)}&to=${iso(T0_MS + 2 * DAY_MS)}`)
  t.equal(tag.status, 200)
  t.same(tag.body, { bucket: '1d', items: [0, 1].map(k => ({ t: iso(T0_MS + k * DAY_MS), asset: 'pad1', tag: 2, unit: 'm3', volume: d(2, k) })) })
  const asset = await get(`/v1/production?asset=pad1&from=${T0_MS}&to=${T0_MS + 2 * DAY_MS}&bucket=1d`)
  t.same(asset.body.items, [0, 1].flatMap(k => [
    { t: iso(T0_MS + k * DAY_MS), asset: 'pad1', unit: 'bbl', volume: d(3, k) },
    { t: iso(T0_MS + k * DAY_MS), asset: 'pad1', unit: 'm3', volume: d(2, k) + d(5, k) },
  ]), 'm3 tags summed, bbl kept apart')
  const hourly = await get(`/v1/production?asset=pad1&from=${T0_MS}&to=${T0_MS + 2 * HOUR_MS}&bucket=1h`)
  t.equal(hourly.body.items.length, 4, '2 hours × 2 units')
  const gauge = await get(`/v1/production?tag=1&from=${T0_MS}&to=${T0_MS + DAY_MS}`)
  t.equal(gauge.status, 400)
  t.match(gauge.body.message, /querystring\/tag: tag 1 .* is a gauge/)
  const none = await get(`/v1/production?asset=nowhere&from=${T0_MS}&to=${T0_MS + DAY_MS}`)
  t.equal(none.status, 404)
})

t.test('scores and alerts', async t => {
  const s = await get(`/v1/scores?tag=1&from=${iso(T0_MS + 600_000)}&to=${iso(T0_MS + 3_600_000)}`)
  t.equal(s.status, 200)
  const want = SCORES.filter(x => x.ms >= T0_MS + 600_000 && x.ms < T0_MS + 3_600_000)
  t.equal(s.body.items.length, want.length)
  t.same(s.body.items.map((x: { t: string }) => Date.parse(x.t)), want.map(x => x.ms))
  t.ok(s.body.items.every((x: { score: number, model: string }, i: number) => Math.abs(x.score - want[i]!.score) < 1e-6 && x.model === want[i]!.model), 'scores and models')

  const all = await get('/v1/alerts')
  t.same(all.body.items.map((a: { tag: number, openedAt: string }) => [a.tag, Date.parse(a.openedAt)]), [...ALERTS].sort((a, b) => b.opened - a.opened).map(a => [a.tag, a.opened]), 'newest first')
  const open = await get('/v1/alerts?state=open')
  t.same(open.body.items.map((a: { closedAt: unknown }) => a.closedAt), [null, null])
  const closed = await get('/v1/alerts?state=closed&asset=pad1')
  t.equal(closed.body.items.length, 1)
  t.match(closed.body.items[0], { tag: 1, asset: 'pad1', model: 'iforest-v1', openedAt: iso(ALERTS[0]!.opened), closedAt: iso(ALERTS[0]!.closed!), threshold: 0.8 })
  t.ok(Math.abs(closed.body.items[0].peakScore - 0.91) < 1e-6)
  const window = await get(`/v1/alerts?from=${iso(T0_MS + 2.5 * HOUR_MS)}&to=${iso(T0_MS + 4 * HOUR_MS)}`)
  t.same(window.body.items.map((a: { tag: number }) => a.tag), [4], 'only the alert active within [from, to)')
  t.equal((await get('/v1/alerts?tag=1&limit=1')).body.items.length, 1, 'limit')
})

t.test('health, metrics, docs', async t => {
  const h = await fetch(`${base}/health`)
  t.same(await h.json(), { status: 'ok' }, '/health needs no key')
  const ready = await fetch(`${base}/ready`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { database: 'ok', kafka: 'ok' }, 'the real database and Kafka are reachable')
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /fieldstream_api_request_seconds_count\{route="\/v1\/tags",method="GET",status="200"\} \d+/, 'API latency by route')
  for (const name of ['fieldstream_points_ingested_total', 'fieldstream_consumer_lag', 'fieldstream_copy_seconds']) t.match(metrics, new RegExp(`# TYPE ${name} `), `${name} is declared`)
  const spec = await (await fetch(`${base}/docs/json`)).json() as { openapi: string, paths: Record<string, Record<string, { security?: unknown, responses: Record<string, unknown> }>> }
  t.equal(spec.openapi, '3.0.3')
  for (const path of ['/v1/tags', '/v1/tags/{id}', '/v1/assets', '/v1/points', '/v1/rollups', '/v1/series', '/v1/production', '/v1/scores', '/v1/alerts']) {
    t.ok(spec.paths[path]?.get?.security, `${path} is documented with its security`)
    t.ok(spec.paths[path]?.get?.responses['200'] && spec.paths[path]?.get?.responses['400'], `${path} documents 200 and 400`)
  }
  t.notOk(spec.paths['/dashboard/'], 'the dashboard is not part of the API document')
  const ui = await fetch(`${base}/docs`, { redirect: 'manual' })
  t.ok(ui.status === 200 || ui.status === 302, '/docs serves the UI')
})
