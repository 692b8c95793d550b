// Rows for `COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)`.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4 (binary format),
// array wire layout from src/backend/utils/adt/arrayfuncs.c (array_send).
// Binary saves the server from parsing text floats, which is most of COPY's cost for
// array rows. All integers are big-endian (network order).

/** Type OIDs from pg_type (stable across PostgreSQL versions). */
export const Oid = { int2: 21, int4: 23, float8: 701, timestamptz: 1184 } as const

/** 11-byte signature, 4-byte flags, 4-byte header extension length. */
export const COPY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
/** A field count of -1 ends the data. */
export const COPY_TRAILER = Buffer.from([0xff, 0xff])

/** µs between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC). */
export const PG_EPOCH_US = 946_684_800_000_000

const FIELDS = 5
const ARRAY_HEADER = 20 // ndim, flags, element oid, dim length, lower bound

/** Bytes one segment row takes, so the buffer is sized once. */
export function segmentRowBytes (n: number, withQuality: boolean): number {
  return 2 + // field count
    4 + 4 + // tag_id
    4 + 8 + // bucket
    4 + ARRAY_HEADER + n * 12 + // ts[]
    4 + ARRAY_HEADER + n * 12 + // vals[]
    4 + (withQuality ? ARRAY_HEADER + n * 6 : 0) // quals[] or NULL
}

/** Appends segment rows to one preallocated buffer. */
export class SegmentRowWriter {
  readonly view: DataView
  readonly bytes: Uint8Array
  offset = 0

  constructor (capacity: number) {
    this.bytes = new Uint8Array(capacity)
    this.view = new DataView(this.bytes.buffer)
  }

  /**
   * One row: points idx[from..to) of the columns, all of one tag and one hour.
   * `order` maps row positions to column positions (points grouped by segment).
   */
  writeSegment (tagId: number, bucketUs: number, order: Uint32Array, from: number, to: number,
    timeUs: Float64Array, value: Float64Array, quality: Uint16Array | undefined): void {
    const v = this.view
    const n = to - from
    let o = this.offset
    v.setInt16(o, FIELDS); o += 2
    v.setInt32(o, 4); v.setInt32(o + 4, tagId); o += 8
    v.setInt32(o, 8); o = setInt64(v, o + 4, bucketUs - PG_EPOCH_US)

    v.setInt32(o, ARRAY_HEADER + n * 12); o = arrayHeader(v, o + 4, Oid.timestamptz, n)
    for (let i = from; i < to; i++) {
      v.setInt32(o, 8)
      o = setInt64(v, o + 4, timeUs[order[i]!]! - PG_EPOCH_US)
    }

    v.setInt32(o, ARRAY_HEADER + n * 12); o = arrayHeader(v, o + 4, Oid.float8, n)
    for (let i = from; i < to; i++) {
      v.setInt32(o, 8)
      v.setFloat64(o + 4, value[order[i]!]!)
      o += 12
    }

    if (quality === undefined) {
      v.setInt32(o, -1); o += 4
    } else {
      v.setInt32(o, ARRAY_HEADER + n * 6); o = arrayHeader(v, o + 4, Oid.int2, n)
      for (let i = from; i < to; i++) {
        v.setInt32(o, 2)
        v.setInt16(o + 4, quality[order[i]!]!)
        o += 6
      }
    }
    this.offset = o
  }
}

function arrayHeader (v: DataView, o: number, elementOid: number, n: number): number {
  v.setInt32(o, 1) // dimensions
  v.setInt32(o + 4, 0) // flags: no NULL elements
  v.setInt32(o + 8, elementOid)
  v.setInt32(o + 12, n) // length of dimension 1
  v.setInt32(o + 16, 1) // lower bound
  return o + ARRAY_HEADER
}

/** Signed 64-bit big-endian from an integer-valued double (|x| < 2^53). */
function setInt64 (v: DataView, o: number, x: number): number {
  const hi = Math.floor(x / 4294967296)
  v.setInt32(o, hi)
  v.setUint32(o + 4, x - hi * 4294967296)
  return o + 8
}
