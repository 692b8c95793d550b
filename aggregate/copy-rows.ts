// Rollup rows for `COPY rollup_1m|1h|1d (...) FROM STDIN (FORMAT binary)`: the refresher writes
// every row it computed this way, after deleting the rows they replace. Binary COPY spares the
// server parsing thirteen text arrays and the executor's per-row work of INSERT ... SELECT FROM
// unnest(...), which cost most of a pass (EXPLAIN ANALYZE). Layout as in
// workers/encode/copy-binary.ts (https://www.postgresql.org/docs/current/sql-copy.html).
import type { MinuteRow } from './minutes.js'

export type RollupTable = 'rollup_1m' | 'rollup_1h' | 'rollup_1d'

export function copyRollupRows (table: RollupTable): string {
  return `COPY ${table} (tag_id, bucket, n, min, max, sum, first_ts, first_val, last_ts, last_val, next_ts, tw_ext, volume) FROM STDIN (FORMAT binary)`
}

/** µs between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
const PG_EPOCH_US = 946_684_800_000_000
const FIELDS = 13
/** Signature, flags, header extension length. */
const HEADER = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
/** Field count, tag_id and n (4 + 4 bytes each), ten 8-byte columns. */
const ROW_BYTES = 2 + 2 * 8 + 10 * 12

/** Collects rows, then gives the whole COPY stream (header, rows, trailer) as one buffer. */
export class MinuteRowCopy {
  #bytes = new Uint8Array(64 * 1024)
  #view = new DataView(this.#bytes.buffer)
  #o = HEADER.length
  rows = 0

  constructor () { this.#bytes.set(HEADER) }

  push (tagId: number, r: MinuteRow): void {
    if (this.#o + ROW_BYTES + 2 > this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2)
      grown.set(this.#bytes.subarray(0, this.#o))
      this.#bytes = grown
      this.#view = new DataView(grown.buffer)
    }
    const v = this.#view
    let o = this.#o
    v.setInt16(o, FIELDS); o += 2
    v.setInt32(o, 4); v.setInt32(o + 4, tagId); o += 8
    o = ts(v, o, r.bucketUs)
    v.setInt32(o, 4); v.setInt32(o + 4, r.n); o += 8
    o = f8(v, o, r.min)
    o = f8(v, o, r.max)
    o = f8(v, o, r.sum)
    o = ts(v, o, r.firstT)
    o = f8(v, o, r.firstV)
    o = ts(v, o, r.lastT)
    o = f8(v, o, r.lastV)
    o = ts(v, o, r.nextT)
    o = f8(v, o, r.twExt)
    o = f8(v, o, r.volume)
    this.#o = o
    this.rows++
  }

  /** The COPY data, trailer included. */
  end (): Uint8Array {
    this.#view.setInt16(this.#o, -1)
    return this.#bytes.subarray(0, this.#o + 2)
  }
}

function f8 (v: DataView, o: number, x: number | null): number {
  if (x === null) { v.setInt32(o, -1); return o + 4 }
  v.setInt32(o, 8)
  v.setFloat64(o + 4, x)
  return o + 12
}

/** µs since the Unix epoch (an integer below 2^53) as a timestamptz. */
function ts (v: DataView, o: number, us: number | null): number {
  if (us === null) { v.setInt32(o, -1); return o + 4 }
  const x = us - PG_EPOCH_US
  const hi = Math.floor(x / 4294967296)
  v.setInt32(o, 8)
  v.setInt32(o + 4, hi)
  v.setUint32(o + 8, x - hi * 4294967296)
  return o + 12
}
