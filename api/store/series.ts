// Chart series: about N bins over any range, from the coarsest level that still has
// several rows per bin, so a five-year range reads daily rollups and an hour reads raw
// points. Bins keep min and max, so a one-sample spike stays visible however far out the
// chart is zoomed. One SQL statement per request whatever the range: the binning happens
// in the GROUP BY (rollup levels) or in one pass over the raw columns.
import type pg from 'pg'
import { readRawPoints } from './raw-points.js'
import { LEVELS, type Level } from './sql.js'

export type SeriesLevel = Level | 'raw'

export interface SeriesPlan { level: SeriesLevel, binUs: number, startUs: number }

export interface SeriesBin { t: number, min: number | null, max: number | null, avg: number | null, n: number }

const COARSEST_FIRST: Level[] = ['1d', '1h', '1m']

/**
 * The level is the coarsest whose bucket fits in one bin; the bin width is then rounded up
 * to whole buckets of that level (raw: whole milliseconds) so no bucket straddles two bins.
 * Bins are aligned to multiples of their width since the Unix epoch, so the same request
 * always gets the same bin edges.
 */
export function planSeries (fromUs: number, toUs: number, points: number): SeriesPlan {
  const wanted = Math.ceil((toUs - fromUs) / points)
  const level = COARSEST_FIRST.find(l => LEVELS[l].us <= wanted)
  const unit = level === undefined ? 1000 : LEVELS[level].us
  const binUs = Math.max(unit, Math.ceil(wanted / unit) * unit)
  return { level: level ?? 'raw', binUs, startUs: Math.floor(fromUs / binUs) * binUs }
}

const rollupStatements = new Map<Level, string>()
function rollupSql (level: Level): string {
  let text = rollupStatements.get(level)
  if (text === undefined) {
    // $4 bin width in seconds. date_bin (C, per row) groups; the epoch conversion, slower,
    // runs once per bin.
    text = `SELECT date_part('epoch', b.t) * 1000, b.min, b.max, b.avg, b.n FROM (
              SELECT date_bin(make_interval(secs => $4::float8), r.bucket, TIMESTAMPTZ 'epoch') AS t,
                     min(r.min) AS min, max(r.max) AS max, sum(r.sum) / nullif(sum(r.n), 0) AS avg, sum(r.n)::float8 AS n
                FROM ${LEVELS[level].relation} r
               WHERE r.tag_id = $1 AND r.bucket >= $2::timestamptz AND r.bucket < $3::timestamptz AND r.n > 0
               GROUP BY 1) b
            ORDER BY b.t`
    rollupStatements.set(level, text)
  }
  return text
}

/** Bins of one tag; buckets overlapping [from, to) are included whole. Empty bins are left out. */
export async function readSeries (db: pg.Pool, tagId: number, fromUs: number, toUs: number, plan: SeriesPlan): Promise<SeriesBin[]> {
  if (plan.level === 'raw') return binRaw(db, tagId, fromUs, toUs, plan.binUs)
  const levelUs = LEVELS[plan.level].us
  const firstBucketUs = Math.floor(fromUs / levelUs) * levelUs
  const { rows } = await db.query<number[]>({
    name: `fs_api_series_${plan.level}`,
    text: rollupSql(plan.level),
    values: [tagId, new Date(firstBucketUs / 1000), new Date(Math.ceil(toUs / 1000)), plan.binUs / 1e6],
    rowMode: 'array',
  })
  return rows.map(r => ({ t: r[0]! * 1000, min: r[1]!, max: r[2]!, avg: r[3]!, n: r[4]! }))
}

/** Raw level: one read of the tag's segments, binned in one pass over the typed arrays. */
async function binRaw (db: pg.Pool, tagId: number, fromUs: number, toUs: number, binUs: number): Promise<SeriesBin[]> {
  const s = await readRawPoints(db, tagId, fromUs, toUs)
  const out: SeriesBin[] = []
  let cur: SeriesBin | undefined
  let sum = 0
  for (let i = 0; i < s.timeUs.length; i++) {
    // Only good-quality finite samples count, as in the rollups (a NaN would make the bin NaN).
    const v = s.value[i]!
    if ((s.quality[i]! & 0xc0) !== 0xc0 || !Number.isFinite(v)) continue
    const b = Math.floor(s.timeUs[i]! / binUs) * binUs
    if (cur === undefined || cur.t !== b) {
      if (cur !== undefined) cur.avg = sum / cur.n
      cur = { t: b, min: v, max: v, avg: null, n: 0 }
      sum = 0
      out.push(cur)
    }
    if (v < cur.min!) cur.min = v
    if (v > cur.max!) cur.max = v
    sum += v
    cur.n++
  }
  if (cur !== undefined) cur.avg = sum / cur.n
  return out
}
