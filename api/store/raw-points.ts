// Reading raw points of one tag over a time range: one indexed query over the tag's
// segment rows (tag_id, bucket), each array fetched in its binary send form (array_send,
// base64 so the text protocol carries it at 1.33x instead of hex's 2x) and decoded straight
// into typed arrays. Unnesting in SQL would send one row per point, and pg's text parsers
// build a string and a Date per value. (pg's per-query `binary` result mode decodes the
// bytes as UTF-8 text, so it cannot be used.)
import type pg from 'pg'
import { decodeFloat64Array, decodeInt16Array, decodeTimestampArray } from '../../common/pg-binary-array.js'

export interface RawSeries {
  /** µs since the Unix epoch, ascending. */
  timeUs: Float64Array
  value: Float64Array
  quality: Uint16Array
}

const HOUR_US = 3_600_000_000
const GOOD = 0xc0
const SEGMENTS_SQL = `SELECT encode(array_send(ts), 'base64'), encode(array_send(vals), 'base64'), encode(array_send(quals), 'base64')
  FROM points WHERE tag_id = $1 AND bucket >= $2 AND bucket < $3
  ORDER BY bucket, ts[1]`

export async function readRawPoints (db: pg.Pool | pg.PoolClient, tagId: number, fromUs: number, toUs: number): Promise<RawSeries> {
  const firstBucket = new Date(Math.floor(fromUs / HOUR_US) * HOUR_US / 1000)
  const { rows } = await db.query<[string, string, string | null]>({
    text: SEGMENTS_SQL,
    values: [tagId, firstBucket, new Date(toUs / 1000)],
    rowMode: 'array',
  })
  let total = 0
  const parts = rows.map(([ts, vals, quals]) => {
    const part = {
      timeUs: decodeTimestampArray(Buffer.from(ts, 'base64')),
      value: decodeFloat64Array(Buffer.from(vals, 'base64')),
      quality: quals === null ? undefined : decodeInt16Array(Buffer.from(quals, 'base64')),
    }
    total += part.timeUs.length
    return part
  })
  const timeUs = new Float64Array(total)
  const value = new Float64Array(total)
  const quality = new Uint16Array(total)
  let n = 0
  for (const p of parts) {
    for (let i = 0; i < p.timeUs.length; i++) {
      const t = p.timeUs[i]!
      if (t < fromUs || t >= toUs) continue
      timeUs[n] = t
      value[n] = p.value[i]!
      quality[n] = p.quality === undefined ? GOOD : p.quality[i]!
      n++
    }
  }
  return sortByTime({ timeUs: timeUs.subarray(0, n), value: value.subarray(0, n), quality: quality.subarray(0, n) })
}

/**
 * Rows arrive ordered by hour and first timestamp, so the series is already in time order
 * unless late points made segments of one hour overlap: sort only then.
 */
function sortByTime (s: RawSeries): RawSeries {
  let sorted = true
  for (let i = 1; i < s.timeUs.length; i++) if (s.timeUs[i]! < s.timeUs[i - 1]!) { sorted = false; break }
  if (sorted) return s
  const order = Array.from(s.timeUs.keys()).sort((a, b) => s.timeUs[a]! - s.timeUs[b]! || a - b)
  return {
    timeUs: Float64Array.from(order, i => s.timeUs[i]!),
    value: Float64Array.from(order, i => s.value[i]!),
    quality: Uint16Array.from(order, i => s.quality[i]!),
  }
}
