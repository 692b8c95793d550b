// Appending a flush's minute contributions (aggregate/contributions.ts) to a tag's rollups, when
// every sample they hold comes after the tag's last rolled-up sample: the refresher's fast path,
// which reads no raw point back.
//
// Why this equals recomputing from the raw points: a minute row depends on its own samples, on
// the sample after its last one (next_ts, the tail of tw_ext, the last interval's production)
// and on the sample before its first one (the first interval's production). A contribution was
// computed with neither; the only sample it lacked is the tag's last one, L, held by the tag's
// last minute row. Appending therefore touches exactly what the interval from L to the
// contribution's first sample F changes: L's row (next_ts = F, tw_ext + L·(F − L), its share of
// the L→F production), the empty minutes between them (their share), and F's row (its share; merged
// with L's row when they share a minute). Everything after F is the contribution as computed.
//
// The refresher only takes this path when the contribution starts strictly after L; a raw point
// between L and F that is not rolled up yet belongs to a flush whose dirty range is still queued,
// and that range, then older than the tag's last sample, is recomputed from the raw points
// (aggregate/refresh-pass.ts), which repairs the minutes from L to F.
import { increment, MINUTE_US, emptyRow, type MinuteRow, type TagProduction } from './minutes.js'

/**
 * The rows to write for `rows` (a contribution, starting after `last`) appended after the tag's
 * last minute row `last` (null: the tag has none yet): `last` updated, the empty minutes between
 * given their production, then the contribution's rows (shared, not copied). Modifies neither
 * argument.
 */
export function appendRows (p: TagProduction, last: MinuteRow | null, rows: readonly MinuteRow[]): MinuteRow[] {
  if (rows.length === 0) return last === null ? [] : [last]
  if (last === null) return [...rows]
  const f = rows[0]!
  const lt = last.lastT!
  const lv = last.lastV!
  const ft = f.firstT!
  const fv = f.firstV!
  if (!(ft > lt)) throw new RangeError(`appendRows: contribution starts at ${ft}, not after the last sample ${lt}`)
  const out: MinuteRow[] = [{ ...last, nextT: ft, twExt: last.twExt + lv * (ft - lt) / 1e6 }]
  const head: MinuteRow = { ...f }
  if (p.kind !== 'gauge') {
    // The L→F interval's production, minute by minute, as minuteRows apportions it.
    const lastBucket = Math.floor(ft / MINUTE_US) * MINUTE_US
    for (let b = last.bucketUs; b <= lastBucket; b += MINUTE_US) {
      const share = increment(p, lt, lv, ft, fv, Math.max(lt, b), Math.min(ft, b + MINUTE_US))
      if (b === last.bucketUs) out[0]!.volume = out[0]!.volume! + share
      else if (b === f.bucketUs) head.volume = share + head.volume!
      else out.push({ ...emptyRow(b, p.kind), volume: share })
    }
  }
  if (f.bucketUs === last.bucketUs) {
    // F shares L's minute: one row with the samples of both.
    const l = out[0]!
    out[0] = {
      bucketUs: l.bucketUs,
      n: l.n + head.n,
      min: Math.min(l.min!, head.min!),
      max: Math.max(l.max!, head.max!),
      sum: l.sum! + head.sum!,
      firstT: l.firstT,
      firstV: l.firstV,
      lastT: head.lastT,
      lastV: head.lastV,
      nextT: head.nextT,
      twExt: l.twExt + head.twExt,
      volume: l.volume === null ? null : l.volume + head.volume!,
    }
  } else {
    out.push(head)
  }
  for (let i = 1; i < rows.length; i++) out.push(rows[i]!)
  return out
}

/**
 * The parent rows (1 hour over minutes, 1 day over hours; bucket width `widthUs`) that change
 * when the children `rows` replace `oldLast` (the tag's last child before, null: none) and follow
 * it: `parent` is the tag's last parent row before (null: none), the one over `oldLast`. Each
 * column combines as rollup_parents (migration 0008) combines it, so only the last parent is
 * read: its sums lose `oldLast`'s share and gain the new children's. Undefined when `parent` is
 * not the row above `oldLast` (then the parents are recomputed in SQL).
 */
export function appendParents (widthUs: number, parent: MinuteRow | null, oldLast: MinuteRow | null, rows: readonly MinuteRow[]): MinuteRow[] | undefined {
  const bucketOf = (b: number): number => Math.floor(b / widthUs) * widthUs
  if ((parent === null) !== (oldLast === null)) return undefined
  if (parent !== null && (parent.bucketUs !== bucketOf(oldLast!.bucketUs) || parent.n < oldLast!.n || parent.lastT !== oldLast!.lastT)) return undefined
  const out: MinuteRow[] = []
  let p: MinuteRow | undefined
  for (const r of rows) {
    const b = bucketOf(r.bucketUs)
    if (p === undefined || p.bucketUs !== b) {
      if (parent !== null && b === parent.bucketUs) {
        const o = oldLast!
        p = {
          ...parent,
          n: parent.n - o.n,
          sum: parent.n - o.n === 0 ? null : parent.sum! - o.sum!,
          twExt: parent.twExt - o.twExt,
          volume: parent.volume === null ? null : parent.volume - o.volume!,
        }
        if (p.n === 0) Object.assign(p, { min: null, max: null, firstT: null, firstV: null, lastT: null, lastV: null })
      } else {
        p = emptyRow(b, r.volume === null ? 'gauge' : 'counter')
      }
      out.push(p)
    }
    if (r.n > 0) {
      if (p.n === 0 || p.firstT === null) { p.firstT = r.firstT; p.firstV = r.firstV }
      p.min = p.min === null ? r.min : Math.min(p.min, r.min!)
      p.max = p.max === null ? r.max : Math.max(p.max, r.max!)
      p.sum = (p.sum ?? 0) + r.sum!
      p.lastT = r.lastT
      p.lastV = r.lastV
      p.n += r.n
    }
    if (r.nextT !== null && (p.nextT === null || r.nextT > p.nextT)) p.nextT = r.nextT
    p.twExt += r.twExt
    if (r.volume !== null) p.volume = (p.volume ?? 0) + r.volume
  }
  return out
}
