// Pages of raw points for one tag, over readRawPoints (typed arrays from binary arrays).
// A page reads forward in windows that start at one hour (the segment granularity) and
// grow fourfold while they come back short; an empty window jumps straight to the tag's next
// stored hour. So a page of a sparse tag over years costs a handful of queries, and a page
// of a dense tag never reads much more than it returns.
import type pg from 'pg'
import { readRawPoints, type RawSeries } from './raw-points.js'

const HOUR_US = 3_600_000_000
const MAX_WINDOW_US = 7 * 24 * HOUR_US

/** Where a page resumes: after `skip` points at exactly `timeUs` (points may share a time). */
export interface PointCursor { timeUs: number, skip: number }

export interface PointPage extends RawSeries { next: PointCursor | undefined }

export async function readPointsPage (db: pg.Pool, tagId: number, fromUs: number, toUs: number, limit: number, after?: PointCursor): Promise<PointPage> {
  // Columns grow as points arrive: a large limit (CSV) must not cost its full size up front.
  let capacity = Math.min(limit, 4096)
  let timeUs = new Float64Array(capacity)
  let value = new Float64Array(capacity)
  let quality = new Uint16Array(capacity)
  let n = 0
  let start = after === undefined ? fromUs : Math.max(fromUs, after.timeUs)
  let skip = after !== undefined && after.timeUs >= fromUs ? after.skip : 0
  let window = HOUR_US
  let next: PointCursor | undefined
  while (start < toUs) {
    const end = Math.min(toUs, Math.floor(start / HOUR_US) * HOUR_US + window)
    const s = await readRawPoints(db, tagId, start, end)
    let i = 0
    // Points at the cursor's time already sent on the previous page.
    while (skip > 0 && i < s.timeUs.length && s.timeUs[i] === start) { i++; skip-- }
    skip = 0
    for (; i < s.timeUs.length; i++) {
      if (n === limit) { next = cursorAfter(timeUs, n, after); break }
      if (n === capacity) {
        capacity = Math.min(limit, capacity * 2)
        timeUs = grow(timeUs, new Float64Array(capacity))
        value = grow(value, new Float64Array(capacity))
        quality = grow(quality, new Uint16Array(capacity))
      }
      timeUs[n] = s.timeUs[i]!
      value[n] = s.value[i]!
      quality[n] = s.quality[i]!
      n++
    }
    if (next !== undefined) break
    start = end
    if (s.timeUs.length === 0 && start < toUs) {
      // Nothing here: jump to the tag's next stored hour (one index probe) instead of
      // walking an empty range window by window, and start small again there.
      const nextHour = await nextStoredHour(db, tagId, start, toUs)
      if (nextHour === undefined) break
      start = Math.max(start, nextHour)
      window = HOUR_US
    } else {
      window = Math.min(MAX_WINDOW_US, window * 4)
    }
  }
  return { timeUs: timeUs.subarray(0, n), value: value.subarray(0, n), quality: quality.subarray(0, n), next }
}

function grow<T extends Float64Array | Uint16Array> (from: T, to: T): T {
  to.set(from)
  return to
}

async function nextStoredHour (db: pg.Pool, tagId: number, fromUs: number, toUs: number): Promise<number | undefined> {
  const { rows } = await db.query<[Date | null]>({
    name: 'fs_api_next_segment',
    text: 'SELECT min(bucket) FROM points WHERE tag_id = $1 AND bucket >= $2 AND bucket < $3',
    values: [tagId, new Date(Math.floor(fromUs / HOUR_US) * HOUR_US / 1000), new Date(toUs / 1000)],
    rowMode: 'array',
  })
  const at = rows[0]?.[0]
  return at === null || at === undefined ? undefined : at.getTime() * 1000
}

/** The cursor after the last point of a full page: its time and how many points share it. */
function cursorAfter (timeUs: Float64Array, n: number, after: PointCursor | undefined): PointCursor {
  const last = timeUs[n - 1]!
  let same = 0
  for (let i = n - 1; i >= 0 && timeUs[i] === last; i--) same++
  // The whole page sat at the cursor's time: count the points skipped before it too.
  if (same === n && after !== undefined && after.timeUs === last) same += after.skip
  return { timeUs: last, skip: same }
}

export function encodeCursor (c: PointCursor): string {
  return Buffer.from(`${c.timeUs}.${c.skip}`).toString('base64url')
}

export function decodeCursor (s: string): PointCursor | undefined {
  const m = /^(-?\d{1,17})\.(\d{1,9})$/.exec(Buffer.from(s, 'base64url').toString('latin1'))
  if (m === null) return undefined
  return { timeUs: Number(m[1]), skip: Number(m[2]) }
}
