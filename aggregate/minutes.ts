// One tag's 1-minute rollup rows over a window of minutes, from its good samples there and the
// samples just outside (the definitions are in schemas/sql/migrations/0005_rollups.postgres.sql;
// rollup_compute in 0008 is the same computation in SQL, used to rebuild and to check this one).
// Plain loops over typed arrays: the refresher runs this for every point the workers store.

export const MINUTE_US = 60_000_000

export type TagKind = 'gauge' | 'counter' | 'rate'

export interface Sample { t: number, v: number }

/** What a tag's production depends on (tags.kind, counter_modulus, rate_period_s). */
export interface TagProduction {
  kind: TagKind
  /** counter: the value at which it wraps to 0; null: no rollover. */
  modulus: number | null
  /** rate: its unit is per this many seconds. */
  ratePeriodS: number
}

export interface TagWindow extends TagProduction {
  tagId: number
  /** Minute-aligned window [startUs, endUs). */
  startUs: number
  endUs: number
  /** The tag's last sample before the window and first after it, if any. */
  before: Sample | null
  after: Sample | null
}

export interface MinuteRow {
  bucketUs: number
  n: number
  min: number | null
  max: number | null
  sum: number | null
  firstT: number | null
  firstV: number | null
  lastT: number | null
  lastV: number | null
  nextT: number | null
  twExt: number
  volume: number | null
}

/** The production between samples (t0, v0) and (t1, v1) that falls in [a, b]. */
export function increment (w: TagProduction, t0: number, v0: number, t1: number, v1: number, a: number, b: number): number {
  const span = (t1 - t0) / 1e6
  if (w.kind === 'counter') {
    const d = v1 >= v0 ? v1 - v0 : (w.modulus !== null && v0 > w.modulus / 2 ? v1 + w.modulus - v0 : v1)
    return d * ((b - a) / 1e6) / span
  }
  const va = v0 + (v1 - v0) * ((a - t0) / 1e6) / span
  const vb = v0 + (v1 - v0) * ((b - t0) / 1e6) / span
  return (va + vb) / 2 * ((b - a) / 1e6) / w.ratePeriodS
}

export function emptyRow (bucketUs: number, kind: TagKind): MinuteRow {
  return { bucketUs, n: 0, min: null, max: null, sum: null, firstT: null, firstV: null, lastT: null, lastV: null, nextT: null, twExt: 0, volume: kind === 'gauge' ? null : 0 }
}

/**
 * Rows for the minutes of the window. `t`/`v` are the good samples inside the window, sorted by
 * time then value (the order every rollup computation uses, so ties resolve alike).
 */
export function minuteRows (w: TagWindow, t: ArrayLike<number>, v: ArrayLike<number>): MinuteRow[] {
  const rows = new Map<number, MinuteRow>()
  let last: MinuteRow | undefined // samples and intervals come in time order: mostly the same row again
  const rowAt = (bucketUs: number): MinuteRow => {
    if (last?.bucketUs === bucketUs) return last
    let r = rows.get(bucketUs)
    if (r === undefined) { r = emptyRow(bucketUs, w.kind); rows.set(bucketUs, r) }
    last = r
    return r
  }
  const n = t.length
  for (let i = 0; i < n; i++) {
    const ti = t[i]!
    const vi = v[i]!
    const r = rowAt(Math.floor(ti / MINUTE_US) * MINUTE_US)
    if (r.n === 0) { r.min = vi; r.max = vi; r.sum = 0; r.firstT = ti; r.firstV = vi } else {
      if (vi < r.min!) r.min = vi
      if (vi > r.max!) r.max = vi
    }
    r.n++
    r.sum! += vi
    r.lastT = ti
    r.lastV = vi
    const nextT = i + 1 < n ? t[i + 1]! : (w.after?.t ?? null)
    r.nextT = nextT
    r.twExt += vi * ((nextT ?? ti) - ti) / 1e6
  }
  if (w.kind !== 'gauge') {
    // Sample-to-sample intervals, from the sample before the window to the one after it.
    let prevT = w.before?.t ?? NaN
    let prevV = w.before?.v ?? NaN
    const last = w.after === null ? n : n + 1
    for (let i = 0; i < last; i++) {
      const ti = i < n ? t[i]! : w.after!.t
      const vi = i < n ? v[i]! : w.after!.v
      if (ti > prevT) apportion(w, prevT, prevV, ti, vi, rowAt)
      prevT = ti
      prevV = vi
    }
  }
  return [...rows.values()].sort((a, b) => a.bucketUs - b.bucketUs)
}

/** Spread one interval's production over the window's minutes it overlaps. */
function apportion (w: TagWindow, t0: number, v0: number, t1: number, v1: number, rowAt: (bucketUs: number) => MinuteRow): void {
  const first = Math.max(Math.floor(t0 / MINUTE_US) * MINUTE_US, w.startUs)
  const lastBucket = Math.floor(Math.min(t1, w.endUs - 1) / MINUTE_US) * MINUTE_US
  for (let b = first; b <= lastBucket; b += MINUTE_US) {
    const r = rowAt(b)
    r.volume! += increment(w, t0, v0, t1, v1, Math.max(t0, b), Math.min(t1, b + MINUTE_US))
  }
}
