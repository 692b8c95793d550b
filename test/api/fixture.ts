// A small, fully known store for the API tests: tags on two assets, three hours of raw
// points at 1 Hz (with bad-quality samples, a late segment and two points sharing a time),
// rollup rows at every level, scores and alerts. Every expected figure in the tests is
// computed from the same generators, not copied from a response.
import type pg from 'pg'
import { PartitionManager } from '../../workers/store/partitions.js'
import { sqlOfPg } from '../../workers/store/sql.js'

export const T0_MS = Date.UTC(2026, 9, 1) // 2026-10-01T00:00:00Z
export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS
export const iso = (ms: number): string => new Date(ms).toISOString()

export interface FixtureTag { id: number, name: string, kind: 'gauge' | 'counter' | 'rate', unit: string | null, asset: string | null }

export const TAGS: FixtureTag[] = [
  { id: 1, name: 'pad1/pump1/pressure', kind: 'gauge', unit: 'bar', asset: 'pad1' },
  { id: 2, name: 'pad1/meter1/total', kind: 'counter', unit: 'm3', asset: 'pad1' },
  { id: 3, name: 'pad1/meter2/total', kind: 'counter', unit: 'bbl', asset: 'pad1' },
  { id: 4, name: 'pad2/tank1/level', kind: 'gauge', unit: 'm', asset: 'pad2' },
  { id: 5, name: 'pad1/meter3/rate', kind: 'rate', unit: 'm3', asset: 'pad1' },
  // (Names without '/' get no asset: since migration 0010 a tag's asset defaults to its name's
  // device part.) Names with LIKE metacharacters, so a search for "%" or "_" must match them literally.
  { id: 6, name: 'lab/100%_valve', kind: 'gauge', unit: '%', asset: 'lab' },
  ...Array.from({ length: 24 }, (_, i): FixtureTag => ({ id: 7 + i, name: `misc_tag${String(i).padStart(2, '0')}`, kind: 'gauge', unit: null, asset: null })),
]

/** Raw points of tag 1: 3 hours at 1 Hz, value = second / 10, quality bad every 1000th second. */
export interface RawPoint { ms: number, v: number, q: number }
export function rawPoints (): RawPoint[] {
  const out: RawPoint[] = []
  for (let s = 0; s < 3 * 3600; s++) out.push({ ms: T0_MS + s * 1000, v: s / 10, q: s % 1000 === 999 ? 0x18 : 0xc0 })
  // A late point sharing the time of second 5000 (another segment of the same hour).
  out.push({ ms: T0_MS + 5000 * 1000, v: -1, q: 0xc0 })
  // A spike at second 7777.
  out.find(p => p.ms === T0_MS + 7777 * 1000)!.v = 5000
  return out.sort((a, b) => a.ms - b.ms)
}

/** One rollup row; `twa` is what rollup_stats must derive from tw_ext. */
export interface RollupRow { tag: number, bucketMs: number, n: number, min: number, max: number, sum: number, firstVal: number, lastVal: number, twa: number, volume: number | null }

const LEVEL_MS = { '1m': 60_000, '1h': HOUR_MS, '1d': DAY_MS } as const
export type FixtureLevel = keyof typeof LEVEL_MS

export function rollupRow (level: FixtureLevel, tag: number, k: number, counter: boolean): RollupRow {
  const size = LEVEL_MS[level]
  const base = tag * 100 + (k % 50)
  return { tag, bucketMs: T0_MS + k * size, n: size / 1000, min: base, max: base + 10, sum: (base + 5) * (size / 1000), firstVal: base, lastVal: base + 10, twa: base + 4, volume: counter ? 100 + tag + k : null }
}

/** Rows per level: 1m for tag 1 over 3 hours; 1h for tags 1, 2, 3, 5 over 48 hours; 1d for tags 2, 3, 5 over 2 days. */
export function fixtureRollups (): Record<FixtureLevel, RollupRow[]> {
  const counter = (tag: number): boolean => TAGS[tag - 1]!.kind !== 'gauge'
  return {
    '1m': Array.from({ length: 180 }, (_, k) => rollupRow('1m', 1, k, false)),
    '1h': [1, 2, 3, 5].flatMap(tag => Array.from({ length: 48 }, (_, k) => rollupRow('1h', tag, k, counter(tag)))),
    '1d': [2, 3, 5].flatMap(tag => Array.from({ length: 2 }, (_, k) => rollupRow('1d', tag, k, counter(tag)))),
  }
}

export async function insertRollups (db: pg.Pool, level: FixtureLevel, rows: RollupRow[]): Promise<void> {
  const size = LEVEL_MS[level]
  for (let i = 0; i < rows.length; i += 1000) {
    const part = rows.slice(i, i + 1000)
    // tw_ext chosen so that the time-weighted average comes out as row.twa:
    // twa = (tw_ext - last_val * (next_ts - last_ts)) / (last_ts - first_ts), last_ts 1 s before next_ts.
    await db.query(
      `INSERT INTO rollup_${level} (tag_id, bucket, n, min, max, sum, first_ts, first_val, last_ts, last_val, next_ts, tw_ext, volume)
       SELECT tag, b, n, mn, mx, sm, b, fv, b + make_interval(secs => $12::float8 - 1), lv, b + make_interval(secs => $12::float8), tw, vol
         FROM unnest($1::int[], $2::timestamptz[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[])
           AS u(tag, b, n, mn, mx, sm, fv, lv, twa, vol, tw)`,
      [part.map(r => r.tag), part.map(r => iso(r.bucketMs)), part.map(r => r.n), part.map(r => r.min), part.map(r => r.max), part.map(r => r.sum),
        part.map(r => r.firstVal), part.map(r => r.lastVal), part.map(r => r.twa), part.map(r => r.volume),
        part.map(r => r.twa * (size / 1000 - 1) + r.lastVal), size / 1000])
  }
}

export const SCORES = Array.from({ length: 12 }, (_, i) => ({ ms: T0_MS + i * 600_000, score: Math.round((i / 12) * 1000) / 1000, model: 'iforest-v1' }))

export const ALERTS = [
  { tag: 1, asset: 'pad1', model: 'iforest-v1', opened: T0_MS + HOUR_MS, closed: T0_MS + 2 * HOUR_MS, peak: 0.91, threshold: 0.8 },
  { tag: 4, asset: 'pad2', model: 'iforest-v1', opened: T0_MS + 3 * HOUR_MS, closed: null, peak: 0.97, threshold: 0.8 },
  { tag: 1, asset: 'pad1', model: 'iforest-v1', opened: T0_MS + 5 * HOUR_MS, closed: null, peak: 0.85, threshold: 0.8 },
]

/** Load everything above into a migrated database. */
export async function loadFixture (db: pg.Pool): Promise<void> {
  for (const t of TAGS) {
    await db.query('INSERT INTO tags (name, kind, unit, asset) VALUES ($1, $2, $3, $4)', [t.name, t.kind, t.unit, t.asset])
  }
  await loadFixtureData(db, 0)
}

/**
 * The points, rollups, scores and alerts of the fixture, `shiftMs` later than T0_MS (the tags
 * must exist). A second copy at another time gives data where a client's own range lands.
 */
export async function loadFixtureData (db: pg.Pool, shiftMs: number): Promise<void> {
  const t0 = T0_MS + shiftMs
  await new PartitionManager(sqlOfPg(db)).ensure((t0 - DAY_MS) * 1000, (t0 + DAY_MS) * 1000)
  // Raw points of tag 1 as segment rows: one per hour, the late duplicate in its own segment.
  const pts = rawPoints().map(p => ({ ...p, ms: p.ms + shiftMs }))
  const late = pts.find(p => p.v === -1)!
  for (let h = 0; h < 3; h++) {
    const seg = pts.filter(p => p !== late && p.ms >= t0 + h * HOUR_MS && p.ms < t0 + (h + 1) * HOUR_MS)
    await insertSegment(db, 1, t0 + h * HOUR_MS, seg)
  }
  await insertSegment(db, 1, t0 + HOUR_MS, [late])
  const r = fixtureRollups()
  for (const level of ['1m', '1h', '1d'] as const) await insertRollups(db, level, r[level].map(row => ({ ...row, bucketMs: row.bucketMs + shiftMs })))
  for (const s of SCORES) await db.query('INSERT INTO anomaly_scores (tag_id, ts, score, model) VALUES (1, $1, $2, $3)', [iso(s.ms + shiftMs), s.score, s.model])
  for (const a of ALERTS) {
    // A tag has at most one open alert: in a shifted copy the open ones closed an hour after opening.
    const closed = a.closed !== null ? a.closed + shiftMs : shiftMs === 0 ? null : a.opened + shiftMs + HOUR_MS
    await db.query('INSERT INTO alerts (tag_id, asset, model, opened_at, closed_at, peak_score, threshold) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [a.tag, a.asset, a.model, iso(a.opened + shiftMs), closed === null ? null : iso(closed), a.peak, a.threshold])
  }
}

export async function insertSegment (db: pg.Pool, tag: number, bucketMs: number, seg: RawPoint[]): Promise<void> {
  const allGood = seg.every(p => p.q === 0xc0)
  await db.query('INSERT INTO points (tag_id, bucket, ts, vals, quals) VALUES ($1, $2, $3::timestamptz[], $4::float8[], $5::int2[])',
    [tag, iso(bucketMs), seg.map(p => iso(p.ms)), seg.map(p => p.v), allGood ? null : seg.map(p => p.q)])
}

/** Counts that must not change when hostile input is thrown at the API. */
export async function storeFingerprint (db: pg.Pool): Promise<string> {
  const { rows } = await db.query(`SELECT (SELECT count(*) FROM tags) AS tags, (SELECT md5(string_agg(name || coalesce(unit, '') || coalesce(asset, '') || kind, ',' ORDER BY id)) FROM tags) AS tag_sum,
    (SELECT count(*) FROM points) AS points, (SELECT count(*) FROM rollup_1h) AS r1h, (SELECT count(*) FROM anomaly_scores) AS scores,
    (SELECT count(*) FROM alerts) AS alerts, (SELECT count(*) FROM api_keys) AS keys`)
  return JSON.stringify(rows[0])
}
