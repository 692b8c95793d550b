// An independent oracle for rollups, straight from the definitions in
// schemas/sql/migrations/0005_rollups.postgres.sql, in TypeScript: what a bucket's statistics
// and production must be, given a tag's good samples.

export interface Sample { t: number, v: number } // t: µs since the epoch
export interface StatsRow {
  tag_id: number
  bucket: Date
  n: number
  min: number | null
  max: number | null
  avg: number | null
  twa: number | null
  sum: number | null
  first: number | null
  last: number | null
  volume: number | null
}

const WIDTH_US: Record<string, number> = { '1 minute': 60e6, '1 hour': 3600e6, '1 day': 86400e6 }

/** The production between two samples in [a, b] (a, b within [s0.t, s1.t]). */
export function increment (kind: string, s0: Sample, s1: Sample, a: number, b: number, p: { modulus: number | null, ratePeriodS: number }): number {
  const span = (s1.t - s0.t) / 1e6
  if (kind === 'counter') {
    const d = s1.v >= s0.v ? s1.v - s0.v : (p.modulus !== null && s0.v > p.modulus / 2 ? s1.v + p.modulus - s0.v : s1.v)
    return d * ((b - a) / 1e6) / span
  }
  const at = (x: number): number => s0.v + (s1.v - s0.v) * ((x - s0.t) / 1e6) / span
  return (at(a) + at(b)) / 2 * ((b - a) / 1e6) / p.ratePeriodS
}

export function expectedStats (samples: readonly Sample[], kind: string, tagId: number, width: string, p: { modulus: number | null, ratePeriodS: number }): StatsRow[] {
  const w = WIDTH_US[width]!
  const s = [...samples].sort((a, b) => a.t - b.t || a.v - b.v)
  const rows = new Map<number, StatsRow>()
  const row = (bucket: number): StatsRow => {
    let r = rows.get(bucket)
    if (r === undefined) {
      r = { tag_id: tagId, bucket: new Date(bucket / 1000), n: 0, min: null, max: null, avg: null, twa: null, sum: null, first: null, last: null, volume: kind === 'gauge' ? null : 0 }
      rows.set(bucket, r)
    }
    return r
  }
  const integral = new Map<number, number>()
  const firstT = new Map<number, number>()
  const lastT = new Map<number, number>()
  s.forEach((x, i) => {
    const bucket = Math.floor(x.t / w) * w
    const r = row(bucket)
    r.n++
    r.min = r.min === null ? x.v : Math.min(r.min, x.v)
    r.max = r.max === null ? x.v : Math.max(r.max, x.v)
    r.sum = (r.sum ?? 0) + x.v
    if (r.first === null) { r.first = x.v; firstT.set(bucket, x.t) }
    r.last = x.v
    lastT.set(bucket, x.t)
    const next = s[i + 1]
    // Held until the next sample, counted only while the next sample is in the same bucket.
    if (next !== undefined && Math.floor(next.t / w) * w === bucket) integral.set(bucket, (integral.get(bucket) ?? 0) + x.v * (next.t - x.t) / 1e6)
  })
  for (const [bucket, r] of rows) {
    r.avg = r.sum! / r.n
    const span = (lastT.get(bucket)! - firstT.get(bucket)!) / 1e6
    r.twa = span === 0 ? r.first : (integral.get(bucket) ?? 0) / span
  }
  if (kind !== 'gauge') {
    for (let i = 0; i + 1 < s.length; i++) {
      const a = s[i]!
      const b = s[i + 1]!
      if (b.t <= a.t) continue
      for (let bucket = Math.floor(a.t / w) * w; bucket <= b.t; bucket += w) {
        const r = row(bucket)
        r.volume = r.volume! + increment(kind, a, b, Math.max(a.t, bucket), Math.min(b.t, bucket + w), p)
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.bucket.getTime() - b.bucket.getTime())
}

const FIELDS = ['n', 'min', 'max', 'avg', 'twa', 'sum', 'first', 'last', 'volume'] as const

function close (a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b
  return Math.abs(a - b) <= 1e-7 * Math.max(1, Math.abs(a), Math.abs(b))
}

/** Throws naming the first differing row and field (rows keyed by tag and bucket). */
export function sameStats (actual: readonly StatsRow[], expected: readonly StatsRow[], what: string): void {
  const key = (r: StatsRow): string => `${r.tag_id}@${r.bucket.toISOString()}`
  const want = new Map(expected.map(r => [key(r), r]))
  const got = new Map(actual.map(r => [key(r), r]))
  for (const k of want.keys()) if (!got.has(k)) throw new Error(`${what}: missing row ${k}: ${JSON.stringify(want.get(k))}`)
  for (const k of got.keys()) if (!want.has(k)) throw new Error(`${what}: unexpected row ${k}: ${JSON.stringify(got.get(k))}`)
  for (const [k, g] of got) {
    const e = want.get(k)!
    for (const f of FIELDS) {
      if (!close(g[f], e[f])) throw new Error(`${what}: ${k} ${f} is ${g[f]}, expected ${e[f]}`)
    }
  }
}
