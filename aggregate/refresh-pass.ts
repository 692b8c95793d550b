// One refresh pass, in one transaction: claim the oldest flushes' dirty ranges, work out per
// tag which minutes they can change, read those minutes' raw points, recompute the minute
// rows (aggregate/minutes.ts), replace them, and recompute the hours and days above them.
// A crash or error anywhere rolls the claim back with the rest.
import type pg from 'pg'
import { decodeFloat64Array, decodeInt16Array, decodeTimestampArray } from '../common/pg-binary-array.js'
import { minuteRows, type MinuteRow, type TagKind, type TagWindow } from './minutes.js'

/** One refresher at a time across worker processes. */
const REFRESH_LOCK = 0x666c726c // "flrl"
const GOOD = 0xc0

/**
 * The dirty ranges of the oldest flushes, about `limit` tag ranges (at least one flush), merged
 * per tag. The claim is a DELETE: it holds only if the transaction commits.
 */
const CLAIM_SQL = `
  WITH claimed AS (
    DELETE FROM rollup_dirty WHERE id IN (
      SELECT x.id FROM (
        SELECT d.id, sum(cardinality(d.tag_ids)) OVER (ORDER BY d.id) - cardinality(d.tag_ids) AS before
          FROM (SELECT id, tag_ids FROM rollup_dirty ORDER BY id LIMIT 10000) d) x
       WHERE x.before < $1)
    RETURNING tag_ids, from_us, to_us)
  SELECT u.tag_id, min(u.f)::float8 AS f, max(u.t)::float8 AS t, count(*)::int AS ranges
    FROM claimed c, unnest(c.tag_ids, c.from_us, c.to_us) AS u(tag_id, f, t)
   GROUP BY u.tag_id`

/**
 * Per tag: the minutes to recompute, from the one holding the last sample before the new points
 * to the one holding the first sample after them (known from the minute rows), and the samples
 * just outside that window. A new point changes its neighbours' time-weighted integral and
 * counter increments, which is why the window reaches them.
 */
const WINDOWS_SQL = `
  SELECT d.tag_id, g.kind, g.counter_modulus, g.rate_period_s,
         (extract(epoch FROM w.rs) * 1e6)::float8 AS start_us, (extract(epoch FROM w.re) * 1e6)::float8 AS end_us,
         (extract(epoch FROM pp.last_ts) * 1e6)::float8 AS before_t, pp.last_val AS before_v,
         (extract(epoch FROM nn.first_ts) * 1e6)::float8 AS after_t, nn.first_val AS after_v
    FROM unnest($1::int[], $2::float8[], $3::float8[]) AS d(tag_id, f_us, t_us)
    JOIN tags g ON g.id = d.tag_id
    CROSS JOIN LATERAL (
      SELECT date_bin('1 minute', TIMESTAMPTZ 'epoch' + d.f_us * interval '1 microsecond', TIMESTAMPTZ '2000-01-01 00:00:00+00') AS fm,
             date_bin('1 minute', TIMESTAMPTZ 'epoch' + d.t_us * interval '1 microsecond', TIMESTAMPTZ '2000-01-01 00:00:00+00') AS tm) m
    CROSS JOIN LATERAL (
      SELECT coalesce((SELECT x.bucket FROM rollup_1m x WHERE x.tag_id = d.tag_id AND x.n > 0 AND x.bucket < m.fm ORDER BY x.bucket DESC LIMIT 1), m.fm) AS rs,
             coalesce((SELECT x.bucket FROM rollup_1m x WHERE x.tag_id = d.tag_id AND x.n > 0 AND x.bucket > m.tm ORDER BY x.bucket LIMIT 1), m.tm) + interval '1 minute' AS re) w
    LEFT JOIN LATERAL (SELECT x.last_ts, x.last_val FROM rollup_1m x WHERE x.tag_id = d.tag_id AND x.n > 0 AND x.bucket < w.rs ORDER BY x.bucket DESC LIMIT 1) pp ON true
    LEFT JOIN LATERAL (SELECT x.first_ts, x.first_val FROM rollup_1m x WHERE x.tag_id = d.tag_id AND x.n > 0 AND x.bucket >= w.re ORDER BY x.bucket LIMIT 1) nn ON true`

/** The window's segments, as binary arrays (see api/store/raw-points.ts for why). */
const RAW_SQL = `
  SELECT p.tag_id, encode(array_send(p.ts), 'base64'), encode(array_send(p.vals), 'base64'), encode(array_send(p.quals), 'base64')
    FROM unnest($1::int[], $2::float8[], $3::float8[]) AS r(tag_id, f_us, t_us)
    CROSS JOIN LATERAL (SELECT TIMESTAMPTZ 'epoch' + r.f_us * interval '1 microsecond' AS f, TIMESTAMPTZ 'epoch' + r.t_us * interval '1 microsecond' AS t) b
    JOIN points p ON p.tag_id = r.tag_id
                 AND p.bucket >= date_bin('1 hour', b.f, TIMESTAMPTZ '2000-01-01 00:00:00+00') AND p.bucket < b.t
                 -- segments are time-ordered: skip the ones wholly outside without reading them
                 AND p.ts[cardinality(p.ts)] >= b.f AND p.ts[1] < b.t`

/** µs since the epoch (float8, exact below 2^53) to timestamptz, in SQL. */
const ts = (x: string): string => `(TIMESTAMPTZ 'epoch' + ${x} * interval '1 microsecond')`

const DELETE_SQL = `
  DELETE FROM rollup_1m x USING unnest($1::int[], $2::float8[], $3::float8[]) AS r(tag_id, f_us, t_us)
   WHERE x.tag_id = r.tag_id AND x.bucket >= ${ts('r.f_us')} AND x.bucket < ${ts('r.t_us')}`

const INSERT_SQL = `
  INSERT INTO rollup_1m (tag_id, bucket, n, min, max, sum, first_ts, first_val, last_ts, last_val, next_ts, tw_ext, volume)
  SELECT r.tag_id, ${ts('r.b')}, r.n, r.mn, r.mx, r.s, ${ts('r.ft')}, r.fv, ${ts('r.lt')}, r.lv, ${ts('r.nt')}, r.tw, r.vol
    FROM unnest($1::int[], $2::float8[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[],
                $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
         AS r(tag_id, b, n, mn, mx, s, ft, fv, lt, lv, nt, tw, vol)`

const PARENTS_SQL = `
  SELECT rollup_parents($1::int[],
    (SELECT array_agg(${ts('u.x')} ORDER BY u.i) FROM unnest($2::float8[]) WITH ORDINALITY AS u(x, i)),
    (SELECT array_agg(${ts('u.x')} ORDER BY u.i) FROM unnest($3::float8[]) WITH ORDINALITY AS u(x, i)))`

export interface PassResult {
  /** -1: another process holds the refresh. */
  ranges: number
  tags: number
  points: number
  rows: number
}

interface WindowRow {
  tag_id: number
  kind: TagKind
  counter_modulus: number | null
  rate_period_s: number
  start_us: number
  end_us: number
  before_t: number | null
  before_v: number | null
  after_t: number | null
  after_v: number | null
}

export async function refreshPass (client: pg.ClientBase, rangesPerPass: number): Promise<PassResult> {
  await client.query('BEGIN')
  try {
    const { rows: [lock] } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [REFRESH_LOCK])
    if (lock?.ok !== true) { await client.query('COMMIT'); return { ranges: -1, tags: 0, points: 0, rows: 0 } }
    const { rows: claimed } = await client.query<{ tag_id: number, f: number, t: number, ranges: number }>(CLAIM_SQL, [rangesPerPass])
    if (claimed.length === 0) { await client.query('COMMIT'); return { ranges: 0, tags: 0, points: 0, rows: 0 } }
    const ranges = claimed.reduce((s, c) => s + c.ranges, 0)

    // A statement after the claim: its snapshot holds every point of the claimed flushes.
    const { rows: windows } = await client.query<WindowRow>(WINDOWS_SQL, [claimed.map(c => c.tag_id), claimed.map(c => c.f), claimed.map(c => c.t)])
    const tagIds = windows.map(w => w.tag_id)
    const starts = windows.map(w => w.start_us)
    const ends = windows.map(w => w.end_us)
    const samples = await readSamples(client, windows)

    const cols = { tag: [] as number[], b: [] as number[], n: [] as number[], mn: [] as Array<number | null>, mx: [] as Array<number | null>, s: [] as Array<number | null>, ft: [] as Array<number | null>, fv: [] as Array<number | null>, lt: [] as Array<number | null>, lv: [] as Array<number | null>, nt: [] as Array<number | null>, tw: [] as number[], vol: [] as Array<number | null> }
    let points = 0
    for (const w of windows) {
      const window: TagWindow = {
        tagId: w.tag_id, kind: w.kind, modulus: w.counter_modulus, ratePeriodS: w.rate_period_s, startUs: w.start_us, endUs: w.end_us,
        before: w.before_t === null ? null : { t: w.before_t, v: w.before_v! },
        after: w.after_t === null ? null : { t: w.after_t, v: w.after_v! },
      }
      const s = samples.get(w.tag_id) ?? { t: new Float64Array(0), v: new Float64Array(0) }
      points += s.t.length
      for (const r of minuteRows(window, s.t, s.v)) push(cols, w.tag_id, r)
    }
    await client.query(DELETE_SQL, [tagIds, starts, ends])
    if (cols.tag.length > 0) {
      await client.query(INSERT_SQL, [cols.tag, cols.b, cols.n, cols.mn, cols.mx, cols.s, cols.ft, cols.fv, cols.lt, cols.lv, cols.nt, cols.tw, cols.vol])
    }
    await client.query(PARENTS_SQL, [tagIds, starts, ends])
    await client.query('COMMIT')
    return { ranges, tags: windows.length, points, rows: cols.tag.length }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

function push (c: Record<string, Array<number | null>>, tagId: number, r: MinuteRow): void {
  c.tag!.push(tagId); c.b!.push(r.bucketUs); c.n!.push(r.n); c.mn!.push(r.min); c.mx!.push(r.max); c.s!.push(r.sum)
  c.ft!.push(r.firstT); c.fv!.push(r.firstV); c.lt!.push(r.lastT); c.lv!.push(r.lastV); c.nt!.push(r.nextT); c.tw!.push(r.twExt); c.vol!.push(r.volume)
}

/** Good, finite samples per tag inside its window, sorted by time then value. */
async function readSamples (client: pg.ClientBase, windows: readonly WindowRow[]): Promise<Map<number, { t: Float64Array, v: Float64Array }>> {
  const { rows } = await client.query<[number, string, string, string | null]>({
    text: RAW_SQL,
    values: [windows.map(w => w.tag_id), windows.map(w => w.start_us), windows.map(w => w.end_us)],
    rowMode: 'array',
  })
  const windowOf = new Map(windows.map(w => [w.tag_id, w]))
  const parts = new Map<number, Array<{ t: Float64Array, v: Float64Array, q: Uint16Array | undefined }>>()
  for (const [tagId, ts, vals, quals] of rows) {
    const list = parts.get(tagId) ?? []
    list.push({ t: decodeTimestampArray(Buffer.from(ts, 'base64')), v: decodeFloat64Array(Buffer.from(vals, 'base64')), q: quals === null ? undefined : decodeInt16Array(Buffer.from(quals, 'base64')) })
    parts.set(tagId, list)
  }
  const out = new Map<number, { t: Float64Array, v: Float64Array }>()
  for (const [tagId, list] of parts) {
    const w = windowOf.get(tagId)!
    let total = 0
    for (const p of list) total += p.t.length
    const t = new Float64Array(total)
    const v = new Float64Array(total)
    let n = 0
    for (const p of list) {
      for (let i = 0; i < p.t.length; i++) {
        const ti = p.t[i]!
        const vi = p.v[i]!
        if (ti < w.start_us || ti >= w.end_us || !Number.isFinite(vi)) continue
        if (p.q !== undefined && (p.q[i]! & GOOD) !== GOOD) continue
        t[n] = ti
        v[n++] = vi
      }
    }
    out.set(tagId, sortByTimeThenValue(t.subarray(0, n), v.subarray(0, n)))
  }
  return out
}

function sortByTimeThenValue (t: Float64Array, v: Float64Array): { t: Float64Array, v: Float64Array } {
  let sorted = true
  for (let i = 1; i < t.length; i++) if (t[i]! < t[i - 1]! || (t[i] === t[i - 1] && v[i]! < v[i - 1]!)) { sorted = false; break }
  if (sorted) return { t, v }
  const order = Array.from(t.keys()).sort((a, b) => t[a]! - t[b]! || v[a]! - v[b]!)
  return { t: Float64Array.from(order, i => t[i]!), v: Float64Array.from(order, i => v[i]!) }
}
