// One spooled batch on disk: a length-prefixed, checksummed record.
//
//   offset 0  u32 LE  payload length n
//   offset 4  u32 LE  CRC-32 of the payload
//   offset 8  payload: f64 seq | f64 spooledAtMs | u16 source length | source (UTF-8) | value
//
// source and seq sit in the header so the drain and the recovery check never decode the
// batch; value is the framed batch exactly as it goes to Kafka (schemas/wire/codec.ts).
import { crc32 } from 'node:zlib'

export const RECORD_HEADER_BYTES = 8
const PAYLOAD_FIXED_BYTES = 8 + 8 + 2
/** Larger lengths can only be garbage: a batch is far below this (Kafka's own limit is ~1 MB). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024

export interface SpoolEntry {
  source: string
  seq: number
  value: Buffer
}

export interface SpoolRecord extends SpoolEntry {
  /** When the batch entered the spool, ms since the epoch. */
  spooledAtMs: number
}

export function encodeRecord (e: SpoolEntry, spooledAtMs: number): Buffer {
  const sourceBytes = Buffer.byteLength(e.source)
  const n = PAYLOAD_FIXED_BYTES + sourceBytes + e.value.length
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + n)
  out.writeUInt32LE(n, 0)
  out.writeDoubleLE(e.seq, 8)
  out.writeDoubleLE(spooledAtMs, 16)
  out.writeUInt16LE(sourceBytes, 24)
  out.write(e.source, 26, 'utf8')
  e.value.copy(out, 26 + sourceBytes)
  out.writeUInt32LE(crc32(out.subarray(RECORD_HEADER_BYTES)), 4)
  return out
}

export type Parsed =
  | { kind: 'record', record: SpoolRecord, bytes: number }
  /** Not enough bytes in the buffer for the record that starts here (needs `bytes` in all). */
  | { kind: 'short', bytes: number }
  | { kind: 'bad', why: string }

/** Parse the record at `at`. The returned value is a copy, independent of `buf`. */
export function parseRecord (buf: Buffer, at: number): Parsed {
  if (buf.length - at < RECORD_HEADER_BYTES) return { kind: 'short', bytes: RECORD_HEADER_BYTES }
  const n = buf.readUInt32LE(at)
  if (n < PAYLOAD_FIXED_BYTES || n > MAX_RECORD_BYTES) return { kind: 'bad', why: `record length ${n} is impossible` }
  const total = RECORD_HEADER_BYTES + n
  if (buf.length - at < total) return { kind: 'short', bytes: total }
  const payload = buf.subarray(at + RECORD_HEADER_BYTES, at + total)
  const expected = buf.readUInt32LE(at + 4)
  if (crc32(payload) !== expected) return { kind: 'bad', why: 'checksum mismatch' }
  const sourceBytes = payload.readUInt16LE(16)
  if (PAYLOAD_FIXED_BYTES + sourceBytes > n) return { kind: 'bad', why: `source length ${sourceBytes} runs past the record` }
  return {
    kind: 'record',
    bytes: total,
    record: {
      seq: payload.readDoubleLE(0),
      spooledAtMs: payload.readDoubleLE(8),
      source: payload.toString('utf8', PAYLOAD_FIXED_BYTES, PAYLOAD_FIXED_BYTES + sourceBytes),
      value: Buffer.from(payload.subarray(PAYLOAD_FIXED_BYTES + sourceBytes)),
    },
  }
}
