// One refresh pass, in one transaction: claim the oldest flushes' dirty ranges, then per tag
// either append the flushes' own minute contributions to its rollups, when they all come after
// its last rolled-up sample (aggregate/append.ts: in-order data, no raw point read back), or work
// out which minutes the new points can change, read those minutes' raw points and recompute them
// (aggregate/minutes.ts: late and out-of-order data, rebuilds, flushes without contributions).
// Then write the minute rows and recompute the hours and days above them. A crash or error
// anywhere rolls the claim back with the rest.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { decodeFloat64Array, decodeInt16Array, decodeTimestampArray } from '../common/pg-binary-array.js'
import { appendParents, appendRows } from './append.js'
import { copyRollupRows, MinuteRowCopy, type RollupTable } from './copy-rows.js'
import { readContributions, sortByTimeThenValue, type Contribution, type ContributionStore } from './contributions.js'
import { MINUTE_US, minuteRows, type MinuteRow, type TagKind, type TagProduction, type TagWindow } from './minutes.js'

/** One refresher at a time across worker processes. */
const REFRESH_LOCK = 0x666c726c // "flrl"
const GOOD = 0xc0

/**
 * The dirty ranges of the oldest flushes, about `limit` tag ranges (at least one flush). The claim is a DELETE: it holds only if the transaction commits.
 */
const CLAIM_SQL = `
  DELETE FROM rollup_dirty WHERE id IN (
    SELECT x.id FROM (
      SELECT d.id, sum(cardinality(d.tag_ids)) OVER (ORDER BY d.id) - cardinality(d.tag_ids) AS before
        FROM (SELECT id, tag_ids FROM rollup_dirty ORDER BY id LIMIT 10000) d) x
     WHERE x.before < $1)
  RETURNING id::float8 AS id, tag_ids, from_us::float8[] AS from_us, to_us::float8[] AS to_us`

/** µs since the epoch of a timestamptz column, as float8 (exact below 2^53). */
const us = (x: string): string => `(extract(epoch FROM ${x}) * 1e6)::float8`

const HOUR_US = 3_600_000_000
const DAY_US = 86_400_000_000

/** A rollup row's columns as an array: bucket, then the columns of MinuteRow (timestamps in µs). */
const rowArray = (x: string): string => `ARRAY[${us(`${x}.bucket`)}, ${x}.n, ${x}.min, ${x}.max, ${x}.sum, ${us(`${x}.first_ts`)}, ${x}.first_val,
  ${us(`${x}.last_ts`)}, ${x}.last_val, ${us(`${x}.next_ts`)}, ${x}.tw_ext, ${x}.volume]`
const lastOf = (table: RollupTable, x: string): string =>
  `LEFT JOIN LATERAL (SELECT * FROM ${table} ${x} WHERE ${x}.tag_id = d.tag_id ORDER BY ${x}.bucket DESC LIMIT 1) ${x} ON true`

/**
 * Per tag: its production parameters and its last minute row (none: no rollups yet); with
 * `parents` (plain PostgreSQL, where the refresher maintains them) its last hour and day rows too.
 */
const lastRowsSql = (parents: boolean): string => `
  SELECT d.tag_id, g.kind, g.counter_modulus, g.rate_period_s, CASE WHEN m.tag_id IS NOT NULL THEN ${rowArray('m')} END AS m
         ${parents ? `, CASE WHEN h.tag_id IS NOT NULL THEN ${rowArray('h')} END AS h, CASE WHEN y.tag_id IS NOT NULL THEN ${rowArray('y')} END AS y` : ''}
    FROM unnest($1::int[]) AS d(tag_id)
    JOIN tags g ON g.id = d.tag_id
    ${lastOf('rollup_1m', 'm')}
    ${parents ? `${lastOf('rollup_1h', 'h')} ${lastOf('rollup_1d', 'y')}` : ''}`

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

const deleteSql = (table: RollupTable): string => `
  DELETE FROM ${table} x USING unnest($1::int[], $2::float8[], $3::float8[]) AS r(tag_id, f_us, t_us)
   WHERE x.tag_id = r.tag_id AND x.bucket >= ${ts('r.f_us')} AND x.bucket < ${ts('r.t_us')}`

/** Whether the 1-hour and 1-day rollups are tables the refresher maintains (plain PostgreSQL). */
const PARENTS_ARE_TABLES_SQL = "SELECT relkind = 'r' AS tables FROM pg_class WHERE oid = 'rollup_1h'::regclass"

const PARENTS_SQL = `
  SELECT rollup_parents($1::int[],
    (SELECT array_agg(${ts('u.x')} ORDER BY u.i) FROM unnest($2::float8[]) WITH ORDINALITY AS u(x, i)),
    (SELECT array_agg(${ts('u.x')} ORDER BY u.i) FROM unnest($3::float8[]) WITH ORDINALITY AS u(x, i)))`

export interface PassResult {
  /** -1: another process holds the refresh. */
  ranges: number
  tags: number
  /** Of those, tags whose flushes' contributions were appended (no raw point read). */
  appendedTags: number
  /** Raw points read back (tags recomputed from the raw points). */
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

/** A rollup row as rowArray() gives it. */
type RowArray = Array<number | null>

interface LastRows {
  tag_id: number
  kind: TagKind
  counter_modulus: number | null
  rate_period_s: number
  m: RowArray | null
  h?: RowArray | null
  y?: RowArray | null
}

function rowOf (a: RowArray | null | undefined): MinuteRow | null {
  if (a === null || a === undefined) return null
  return { bucketUs: a[0]!, n: a[1]!, min: a[2]!, max: a[3]!, sum: a[4]!, firstT: a[5]!, firstV: a[6]!, lastT: a[7]!, lastV: a[8]!, nextT: a[9]!, twExt: a[10]!, volume: a[11]! }
}

/** Rows and the ranges they replace, for one rollup table. */
class Writes {
  readonly copy = new MinuteRowCopy()
  readonly tag: number[] = []
  readonly from: number[] = []
  readonly to: number[] = []
  constructor (readonly table: RollupTable) {}

  replace (tagId: number, fromUs: number, toUs: number, rows: Iterable<MinuteRow>): void {
    this.tag.push(tagId); this.from.push(fromUs); this.to.push(toUs)
    for (const r of rows) this.copy.push(tagId, r)
  }

  /** The replaced rows go, the new ones come in. */
  async write (client: pg.ClientBase): Promise<void> {
    if (this.tag.length === 0) return
    await client.query(deleteSql(this.table), [this.tag, this.from, this.to])
    if (this.copy.rows > 0) await pipeline(Readable.from([this.copy.end()], { objectMode: false }), client.query(copyFrom(copyRollupRows(this.table))))
  }
}

/** A tag's claimed ranges, merged. */
interface Claim {
  f: number
  t: number
  ranges: number
  /** The flushes' contributions, in claim order; null: a range came without one (raw path). */
  contributions: Contribution[] | null
}

const NONE: PassResult = { ranges: 0, tags: 0, appendedTags: 0, points: 0, rows: 0 }

/**
 * `contributions`: the minute contributions of the flushes this process wrote; a flush without
 * them is rolled up from the raw points.
 */
export async function refreshPass (client: pg.ClientBase, rangesPerPass: number, contributions?: ContributionStore): Promise<PassResult> {
  await client.query('BEGIN')
  try {
    const { rows: [lock] } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [REFRESH_LOCK])
    if (lock?.ok !== true) { await client.query('COMMIT'); return { ...NONE, ranges: -1 } }
    const { rows: flushes } = await client.query<{ id: number, tag_ids: number[], from_us: number[], to_us: number[] }>(CLAIM_SQL, [rangesPerPass])
    if (flushes.length === 0) { await client.query('COMMIT'); return NONE }
    const claims = mergeClaims(flushes, contributions)
    const ranges = flushes.reduce((s, f) => s + f.tag_ids.length, 0)

    // Derived data, claim included: a commit lost in a crash leaves the claim undone too, and the
    // next pass recomputes the same rows. So the pass need not wait for its WAL flush.
    await client.query('SET LOCAL synchronous_commit TO off')
    const { rows: [flavor] } = await client.query<{ tables: boolean }>(PARENTS_ARE_TABLES_SQL)
    const parentTables = flavor?.tables === true
    const minutes = new Writes('rollup_1m')
    const hours = new Writes('rollup_1h')
    const days = new Writes('rollup_1d')
    /** Minute ranges [from, to) whose hours and days are recomputed from the minutes, in SQL. */
    const changed = { tag: [] as number[], from: [] as number[], to: [] as number[] }

    // In-order flushes: append their contributions. What cannot be appended goes the raw way.
    const appendable = [...claims].filter(([, c]) => c.contributions !== null).map(([tagId]) => tagId)
    const raw = new Set([...claims].filter(([, c]) => c.contributions === null).map(([tagId]) => tagId))
    let appendedTags = 0
    if (appendable.length > 0) {
      const { rows: lasts } = await client.query<LastRows>(lastRowsSql(parentTables), [appendable])
      const found = new Set<number>()
      for (const l of lasts) {
        found.add(l.tag_id)
        const lastMinute = rowOf(l.m)
        const rows = appended(l, lastMinute, claims.get(l.tag_id)!.contributions!)
        if (rows === undefined) { raw.add(l.tag_id); continue }
        appendedTags++
        if (rows.length === 0) continue // no good sample in these flushes
        const fromUs = rows[0]!.bucketUs
        const toUs = rows[rows.length - 1]!.bucketUs + MINUTE_US
        minutes.replace(l.tag_id, fromUs, toUs, rows)
        if (!parentTables) continue
        // The hours and days above: from the last of each, as the minutes were appended.
        const lastHour = rowOf(l.h)
        const hourRows = appendParents(HOUR_US, lastHour, lastMinute, rows)
        const dayRows = hourRows === undefined ? undefined : appendParents(DAY_US, rowOf(l.y), lastHour, hourRows)
        if (hourRows === undefined || dayRows === undefined) { changed.tag.push(l.tag_id); changed.from.push(fromUs); changed.to.push(toUs); continue }
        hours.replace(l.tag_id, hourRows[0]!.bucketUs, hourRows[hourRows.length - 1]!.bucketUs + HOUR_US, hourRows)
        days.replace(l.tag_id, dayRows[0]!.bucketUs, dayRows[dayRows.length - 1]!.bucketUs + DAY_US, dayRows)
      }
      for (const tagId of appendable) if (!found.has(tagId)) raw.add(tagId) // not in tags: the raw path skips it too
    }

    let points = 0
    if (raw.size > 0) {
      const tagIds = [...raw]
      // A statement after the claim: its snapshot holds every point of the claimed flushes.
      const { rows: windows } = await client.query<WindowRow>(WINDOWS_SQL, [tagIds, tagIds.map(t => claims.get(t)!.f), tagIds.map(t => claims.get(t)!.t)])
      const samples = await readSamples(client, windows)
      for (const w of windows) {
        const window: TagWindow = {
          tagId: w.tag_id, kind: w.kind, modulus: w.counter_modulus, ratePeriodS: w.rate_period_s, startUs: w.start_us, endUs: w.end_us,
          before: w.before_t === null ? null : { t: w.before_t, v: w.before_v! },
          after: w.after_t === null ? null : { t: w.after_t, v: w.after_v! },
        }
        const s = samples.get(w.tag_id) ?? { t: new Float64Array(0), v: new Float64Array(0) }
        points += s.t.length
        minutes.replace(w.tag_id, w.start_us, w.end_us, minuteRows(window, s.t, s.v))
        changed.tag.push(w.tag_id); changed.from.push(w.start_us); changed.to.push(w.end_us)
      }
    }
    // The appended-to rows (a tag's last minute, hour, day) and the recomputed windows go, their
    // rows come back; then the hours and days above the windows are recomputed from the minutes.
    await minutes.write(client)
    await hours.write(client)
    await days.write(client)
    if (changed.tag.length > 0) await client.query(PARENTS_SQL, [changed.tag, changed.from, changed.to])
    await client.query('COMMIT')
    contributions?.delete(flushes.map(f => f.id))
    return { ranges, tags: claims.size, appendedTags, points, rows: minutes.copy.rows }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/** Per tag: the claimed ranges merged, and the flushes' contributions if every range has one. */
function mergeClaims (flushes: ReadonlyArray<{ id: number, tag_ids: number[], from_us: number[], to_us: number[] }>, store: ContributionStore | undefined): Map<number, Claim> {
  const claims = new Map<number, Claim>()
  for (const fl of flushes) {
    const packed = store?.get(fl.id)
    const mine = packed === undefined ? undefined : readContributions(packed)
    for (let i = 0; i < fl.tag_ids.length; i++) {
      const tagId = fl.tag_ids[i]!
      let c = claims.get(tagId)
      if (c === undefined) { c = { f: fl.from_us[i]!, t: fl.to_us[i]!, ranges: 0, contributions: [] }; claims.set(tagId, c) }
      c.f = Math.min(c.f, fl.from_us[i]!)
      c.t = Math.max(c.t, fl.to_us[i]!)
      c.ranges++
      const mc = mine?.get(tagId)
      if (mc === undefined) c.contributions = null
      else c.contributions?.push(mc)
    }
  }
  return claims
}

/**
 * The rows to write when the contributions can be appended to the tag's rollups: computed with
 * the tag's current production parameters, each starting after every sample before it (the
 * tag's last rolled-up one, then the contributions' own). Otherwise undefined: the raw path.
 */
function appended (l: LastRows, lastMinute: MinuteRow | null, contributions: readonly Contribution[]): MinuteRow[] | undefined {
  const p: TagProduction = { kind: l.kind, modulus: l.counter_modulus, ratePeriodS: l.rate_period_s }
  if (contributions.some(c => c.kind !== p.kind || c.modulus !== p.modulus || c.ratePeriodS !== p.ratePeriodS)) return undefined
  // The last row holds the tag's last sample and nothing after it; anything else: recompute.
  if (lastMinute !== null && (lastMinute.n === 0 || lastMinute.nextT !== null)) return undefined
  let last = lastMinute
  const out: MinuteRow[] = []
  const sorted = contributions.filter(c => c.rows.length > 0).sort((a, b) => a.rows[0]!.firstT! - b.rows[0]!.firstT!)
  for (const c of sorted) {
    if (last !== null && !(c.rows[0]!.firstT! > last.lastT!)) return undefined
    const rows = appendRows(p, last, c.rows)
    if (last !== null) out.pop() // appendRows returns it updated
    out.push(...rows)
    last = out[out.length - 1]!
  }
  return out
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
