// A flush's minute contributions: per tag, the 1-minute rows its own good samples make on
// their own (no sample before them, none after), computed where the points are already decoded
// (the Piscina encode thread) and kept in memory by the worker process that wrote the flush,
// under the id of the flush's rollup_dirty row (ContributionStore). The refresher appends them
// to the tag's last minute row when they come after everything already rolled up
// (aggregate/append.ts) instead of reading the raw points back.
//
// They are only a shortcut, so they are not stored: a flush whose contributions are missing
// (the worker restarted, another worker process wrote it, the store was full, a rebuild) is
// rolled up from the raw points, as is a tag with no entry in them. Keeping them in PostgreSQL
// was measured: the TOAST write and delete of ~1.6 bytes per point cost more than they saved.
//
// Packed layout (moved from the encode thread as one buffer), little-endian float64 throughout (timestamps in µs since the Unix epoch, exact
// below 2^53; NaN stands for NULL, never a value, since only finite samples are rolled up):
//
//   header   VERSION, tag count
//   per tag  tag id, kind (KIND_CODE), counter modulus, rate period (s), row count,
//            then row count rows of ROW_FIELDS: bucket, n, min, max, sum, first_ts, first_val,
//            last_ts, last_val, next_ts, tw_ext, volume (bucket order)
//
// A tag with a written range and no entry (its kind was not known to the encoder) is rolled up
// from the raw points; an entry with no rows (no good sample in the flush) changes nothing.
import { increment, MINUTE_US, type MinuteRow, type TagKind, type TagProduction } from './minutes.js'

const VERSION = 1
const HEADER = 2
const TAG_FIELDS = 5
const ROW_FIELDS = 12
const GOOD = 0xc0

export const KIND_CODE: Readonly<Record<TagKind, number>> = { gauge: 0, counter: 1, rate: 2 }
const KIND_OF: readonly TagKind[] = ['gauge', 'counter', 'rate']

/** One tag's share of a flush. */
export interface Contribution extends TagProduction {
  tagId: number
  /** The rows, in bucket order; the first holds the first sample, the last the last one. */
  rows: MinuteRow[]
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f

/**
 * Collects the tags of one flush, then packs them (`bytes()`). The rows are those minuteRows
 * (aggregate/minutes.ts) gives for the samples alone, computed in one pass straight into the
 * packed layout, with the same operations in the same order (so the same bits; the tests
 * compare the two): the encode thread runs this for every point the workers store.
 */
export class ContributionWriter {
  #out = new Float64Array(1024)
  #len = HEADER
  #tags = 0
  #t = new Float64Array(256)
  #v = new Float64Array(256)

  get tags (): number { return this.#tags }

  /**
   * One tag's samples from the flush, all of them (quality and value checked here). `order`
   * lists their positions in time order (ties in any order).
   */
  add (tagId: number, p: TagProduction, order: ArrayLike<number>, timeUs: ArrayLike<number>, value: ArrayLike<number>, quality: ArrayLike<number>): void {
    if (this.#t.length < order.length) { this.#t = new Float64Array(order.length * 2); this.#v = new Float64Array(order.length * 2) }
    let n = 0
    for (let i = 0; i < order.length; i++) {
      const k = order[i]!
      const vk = value[k]!
      if ((quality[k]! & GOOD) !== GOOD || !Number.isFinite(vk)) continue
      this.#t[n] = timeUs[k]!
      this.#v[n++] = vk
    }
    const { t, v } = sortByTimeThenValue(this.#t.subarray(0, n), this.#v.subarray(0, n))
    this.#reserve(TAG_FIELDS)
    const head = this.#len
    const o = this.#out
    o[head] = tagId; o[head + 1] = KIND_CODE[p.kind]; o[head + 2] = p.modulus ?? NaN; o[head + 3] = p.ratePeriodS; o[head + 4] = 0
    this.#len += TAG_FIELDS
    this.#tags++
    const gauge = p.kind === 'gauge'
    let row = -1 // offset of the open row
    let rows = 0
    for (let i = 0; i < n; i++) {
      const ti = t[i]!
      const vi = v[i]!
      const b = Math.floor(ti / MINUTE_US) * MINUTE_US
      if (row < 0 || this.#out[row]! !== b) { row = this.#openRow(b, gauge); rows++ }
      const r = this.#out
      if (r[row + 1] === 0) { r[row + 2] = vi; r[row + 3] = vi; r[row + 4] = 0; r[row + 5] = ti; r[row + 6] = vi } else {
        if (vi < r[row + 2]!) r[row + 2] = vi
        if (vi > r[row + 3]!) r[row + 3] = vi
      }
      r[row + 1]!++
      r[row + 4]! += vi
      r[row + 7] = ti
      r[row + 8] = vi
      const nextT = i + 1 < n ? t[i + 1]! : NaN
      r[row + 9] = nextT
      r[row + 10]! += vi * ((i + 1 < n ? nextT : ti) - ti) / 1e6
      if (gauge || i + 1 === n || !(nextT > ti)) continue
      // The interval to the next sample: its production, minute by minute, as apportion() spreads it.
      const vn = v[i + 1]!
      const last = Math.floor(nextT / MINUTE_US) * MINUTE_US
      for (let m = b; m <= last; m += MINUTE_US) {
        if (m !== b) { row = this.#openRow(m, gauge); rows++ }
        this.#out[row + 11]! += increment(p, ti, vi, nextT, vn, Math.max(ti, m), Math.min(nextT, m + MINUTE_US))
      }
    }
    this.#out[head + 4] = rows
  }

  /** Appends an empty row for minute `b`; returns its offset. */
  #openRow (b: number, gauge: boolean): number {
    this.#reserve(ROW_FIELDS)
    const r = this.#out
    const row = this.#len
    r[row] = b; r[row + 1] = 0
    r.fill(NaN, row + 2, row + 10)
    r[row + 10] = 0
    r[row + 11] = gauge ? NaN : 0
    this.#len += ROW_FIELDS
    return row
  }

  #reserve (fields: number): void {
    if (this.#len + fields <= this.#out.length) return
    const grown = new Float64Array(Math.max(this.#out.length * 2, this.#len + fields))
    grown.set(this.#out.subarray(0, this.#len))
    this.#out = grown
  }

  bytes (): Uint8Array {
    this.#out[0] = VERSION
    this.#out[1] = this.#tags
    const out = new Uint8Array(this.#out.buffer.slice(0, this.#len * 8))
    if (!LITTLE_ENDIAN) for (let i = 0; i < out.length; i += 8) out.subarray(i, i + 8).reverse()
    return out
  }
}

/**
 * Packed contributions by rollup_dirty id, until the refresher folds that flush. Bounded: past
 * `maxBytes` the oldest are dropped (their flushes are then rolled up from the raw points).
 */
export class ContributionStore {
  readonly #byId = new Map<number, Uint8Array>()
  #bytes = 0

  /** `maxBytes`: memory bound. Default 64 MiB (about 40 M points at 1 Hz). */
  constructor (readonly maxBytes = 64 * 2 ** 20) {}

  get size (): number { return this.#byId.size }

  put (dirtyId: number, packed: Uint8Array): void {
    this.#byId.set(dirtyId, packed)
    this.#bytes += packed.byteLength
    for (const [id, old] of this.#byId) {
      if (this.#bytes <= this.maxBytes) break
      this.#byId.delete(id)
      this.#bytes -= old.byteLength
    }
  }

  get (dirtyId: number): Uint8Array | undefined {
    return this.#byId.get(dirtyId)
  }

  /** After the pass that folded them committed. */
  delete (dirtyIds: Iterable<number>): void {
    for (const id of dirtyIds) {
      const old = this.#byId.get(id)
      if (old === undefined) continue
      this.#byId.delete(id)
      this.#bytes -= old.byteLength
    }
  }
}

/** The contributions packed by ContributionWriter, by tag id. */
export function readContributions (bytes: Uint8Array): Map<number, Contribution> {
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let o = 0
  const get = (): number => { const x = d.getFloat64(o, true); o += 8; return x }
  const orNull = (x: number): number | null => Number.isNaN(x) ? null : x
  const out = new Map<number, Contribution>()
  if (bytes.byteLength < HEADER * 8) throw new RangeError(`rollup contributions: ${bytes.byteLength} bytes, too short`)
  const version = get()
  if (version !== VERSION) throw new RangeError(`rollup contributions: version ${version}, expected ${VERSION}`)
  const tags = get()
  for (let k = 0; k < tags; k++) {
    const tagId = get()
    const kind = KIND_OF[get()]!
    const modulus = orNull(get())
    const ratePeriodS = get()
    const count = get()
    const rows: MinuteRow[] = new Array(count)
    for (let i = 0; i < count; i++) {
      rows[i] = {
        bucketUs: get(), n: get(), min: orNull(get()), max: orNull(get()), sum: orNull(get()), firstT: orNull(get()), firstV: orNull(get()),
        lastT: orNull(get()), lastV: orNull(get()), nextT: orNull(get()), twExt: get(), volume: orNull(get()),
      }
    }
    out.set(tagId, { tagId, kind, modulus, ratePeriodS, rows })
  }
  return out
}

/** Sorted by time then value, the order every rollup computation uses (in place when already so). */
export function sortByTimeThenValue (t: Float64Array, v: Float64Array): { t: Float64Array, v: Float64Array } {
  let sorted = true
  for (let i = 1; i < t.length; i++) if (t[i]! < t[i - 1]! || (t[i] === t[i - 1] && v[i]! < v[i - 1]!)) { sorted = false; break }
  if (sorted) return { t, v }
  const order = Array.from(t.keys()).sort((a, b) => t[a]! - t[b]! || v[a]! - v[b]!)
  return { t: Float64Array.from(order, i => t[i]!), v: Float64Array.from(order, i => v[i]!) }
}
