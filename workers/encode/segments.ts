// Turn decoded point batches into segment rows: the points of one tag within one UTC hour,
// in time order, one COPY row each (see schemas/sql/migrations/0002_points.postgres.sql).
import { ContributionWriter } from '../../aggregate/contributions.js'
import type { TagProduction } from '../../aggregate/minutes.js'
import type { PointBatch } from '../../schemas/points.js'
import { SegmentRowWriter, segmentRowBytes } from './copy-binary.js'

export const HOUR_US = 3_600_000_000
/** Hours since 1970 stay below 2^21 until after 2200 (the wire format's limit). */
const HOUR_KEY_SPAN = 2 ** 21
const GOOD = 0xc0

export interface EncodedSegments {
  /** COPY binary rows, without the COPY header and trailer. */
  rows: Uint8Array
  rowCount: number
  pointCount: number
  /** First and last hour bucket written (µs since the epoch); -1 when empty. */
  minBucketUs: number
  maxBucketUs: number
  /** Per tag, the time range this flush wrote (for the rollup refresher). */
  written: WrittenRanges
  /**
   * Per tag, the minute rows its samples make (aggregate/contributions.ts), for the tags whose
   * production parameters were given; undefined when none were.
   */
  contributions: Uint8Array | undefined
}

/** A tag's kind and production parameters; undefined: not known here (rolled up from the raw points). */
export type ProductionOf = (tagId: number) => TagProduction | undefined

/** tagIds[i] got points in [fromUs[i], toUs[i]]. */
export interface WrittenRanges {
  tagIds: Int32Array
  fromUs: Float64Array
  toUs: Float64Array
}

/**
 * Encode batches whose dictionary entries are already resolved to tag ids
 * (tagIds[b][t] is the id of batches[b].tags[t]).
 */
export function encodeSegments (batches: readonly PointBatch[], tagIds: ReadonlyArray<ArrayLike<number>>, productionOf?: ProductionOf): EncodedSegments {
  let n = 0
  for (const b of batches) n += b.tagIndex.length
  const tagId = new Int32Array(n)
  const timeUs = new Float64Array(n)
  const value = new Float64Array(n)
  const quality = new Uint16Array(n)
  let at = 0
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b]!
    const ids = tagIds[b]!
    const len = batch.tagIndex.length
    for (let i = 0; i < len; i++) tagId[at + i] = ids[batch.tagIndex[i]!]!
    timeUs.set(batch.timeUs, at)
    value.set(batch.value, at)
    quality.set(batch.quality, at)
    at += len
  }

  // Group points by (tag, hour) with a counting sort that keeps arrival order in a group.
  const groupOf = new Uint32Array(n)
  const groups = new Map<number, number>()
  const groupKey: number[] = []
  const groupSize: number[] = []
  for (let i = 0; i < n; i++) {
    const key = tagId[i]! * HOUR_KEY_SPAN + Math.floor(timeUs[i]! / HOUR_US)
    let g = groups.get(key)
    if (g === undefined) {
      g = groupKey.length
      groups.set(key, g)
      groupKey.push(key)
      groupSize.push(0)
    }
    groupOf[i] = g
    groupSize[g]!++
  }
  const groupStart = new Uint32Array(groupKey.length + 1)
  for (let g = 0; g < groupKey.length; g++) groupStart[g + 1] = groupStart[g]! + groupSize[g]!
  const fill = groupStart.slice(0, groupKey.length)
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[fill[groupOf[i]!]!++] = i

  let bytes = 0
  const hasBadQuality = new Uint8Array(groupKey.length)
  for (let g = 0; g < groupKey.length; g++) {
    const from = groupStart[g]!
    const to = groupStart[g + 1]!
    sortByTime(order, from, to, timeUs)
    for (let i = from; i < to; i++) if (quality[order[i]!] !== GOOD) { hasBadQuality[g] = 1; break }
    bytes += segmentRowBytes(to - from, hasBadQuality[g] === 1)
  }

  const writer = new SegmentRowWriter(bytes)
  const ranges = new Map<number, [fromUs: number, toUs: number]>()
  let minBucketUs = -1
  let maxBucketUs = -1
  for (let g = 0; g < groupKey.length; g++) {
    const key = groupKey[g]!
    const hour = key % HOUR_KEY_SPAN
    const bucketUs = hour * HOUR_US
    const tag = (key - hour) / HOUR_KEY_SPAN
    if (minBucketUs < 0 || bucketUs < minBucketUs) minBucketUs = bucketUs
    if (bucketUs > maxBucketUs) maxBucketUs = bucketUs
    writer.writeSegment(tag, bucketUs, order, groupStart[g]!, groupStart[g + 1]!,
      timeUs, value, hasBadQuality[g] === 1 ? quality : undefined)
    // The group is time-ordered: its first and last points bound it.
    const first = timeUs[order[groupStart[g]!]!]!
    const last = timeUs[order[groupStart[g + 1]! - 1]!]!
    const r = ranges.get(tag)
    if (r === undefined) ranges.set(tag, [first, last])
    else { if (first < r[0]) r[0] = first; if (last > r[1]) r[1] = last }
  }
  const written: WrittenRanges = { tagIds: new Int32Array(ranges.size), fromUs: new Float64Array(ranges.size), toUs: new Float64Array(ranges.size) }
  let i = 0
  for (const [tag, [from, to]] of ranges) {
    written.tagIds[i] = tag
    written.fromUs[i] = from
    written.toUs[i++] = to
  }
  const contributions = productionOf === undefined ? undefined : contribute(productionOf, groupKey, groupStart, order, timeUs, value, quality)
  return { rows: writer.bytes, rowCount: groupKey.length, pointCount: n, minBucketUs, maxBucketUs, written, contributions }
}

/** The flush's minute contributions, from its (tag, hour) groups, each already in time order. */
function contribute (productionOf: ProductionOf, groupKey: readonly number[], groupStart: Uint32Array, order: Uint32Array,
  timeUs: Float64Array, value: Float64Array, quality: Uint16Array): Uint8Array | undefined {
  const groupsOf = new Map<number, number[]>()
  for (let g = 0; g < groupKey.length; g++) {
    const tag = Math.floor(groupKey[g]! / HOUR_KEY_SPAN)
    const list = groupsOf.get(tag)
    if (list === undefined) groupsOf.set(tag, [g])
    else list.push(g)
  }
  const out = new ContributionWriter()
  for (const [tag, groups] of groupsOf) {
    const p = productionOf(tag)
    if (p === undefined) continue
    let positions: ArrayLike<number>
    if (groups.length === 1) {
      positions = order.subarray(groupStart[groups[0]!]!, groupStart[groups[0]! + 1]!)
    } else {
      groups.sort((a, b) => groupKey[a]! - groupKey[b]!) // hour order
      let total = 0
      for (const g of groups) total += groupStart[g + 1]! - groupStart[g]!
      const all = new Uint32Array(total)
      let at = 0
      for (const g of groups) { all.set(order.subarray(groupStart[g]!, groupStart[g + 1]!), at); at += groupStart[g + 1]! - groupStart[g]! }
      positions = all
    }
    out.add(tag, p, positions, timeUs, value, quality)
  }
  return out.tags === 0 ? undefined : out.bytes()
}

/** Sort order[from..to) by time; devices mostly send in order, so check before sorting. */
function sortByTime (order: Uint32Array, from: number, to: number, timeUs: Float64Array): void {
  for (let i = from + 1; i < to; i++) {
    if (timeUs[order[i]!]! < timeUs[order[i - 1]!]!) {
      const slice = Array.from(order.subarray(from, to))
      slice.sort((a, b) => timeUs[a]! - timeUs[b]! || a - b)
      order.set(slice, from)
      return
    }
  }
}
