// Encode and decode fieldstream point batches (schemas/wire/points.proto, wire version 1).
//
// The protobuf framing (field tags, lengths, strings) goes through protobufjs's Writer
// and Reader. The per-point columns are packed fixed-width fields, whose protobuf encoding
// is exactly a little-endian array: they are copied in and out in one block instead of one
// protobufjs call per value, which is what makes millions of points per second possible.
import { endianness } from 'node:os'
import { crc32 } from 'node:zlib'
import protobuf from 'protobufjs/minimal.js'
import { BatchCorrupt } from '../errors.js'
import { checkTagName, MAX_TIME_US, MIN_TIME_US, ValueKind, type PointBatch } from '../points.js'
import { isQualityWord } from '../quality.js'

export const WIRE_VERSION = 1
export const FRAME_BYTES = 8
const MAGIC_0 = 0x46 // 'F'
const MAGIC_1 = 0x53 // 'S'
const GOOD_QUALITY = 0xc0

/** Field numbers of PointBatch in points.proto. */
const Field = {
  source: 1,
  seq: 2,
  producedAtUs: 3,
  tags: 4,
  tagKinds: 5,
  tagIndex: 6,
  timeUs: 7,
  value: 8,
  quality: 9,
} as const

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
const WireType = { varint: 0, i64: 1, len: 2, i32: 5 } as const

if (endianness() !== 'LE') {
  // Typed arrays use the platform's byte order; the wire is little-endian.
  throw new Error('fieldstream wire codec needs a little-endian platform')
}

const TWO_32 = 2 ** 32

/** Encode a batch into a framed Kafka message value. */
export function encodeBatch (batch: PointBatch): Buffer {
  const n = batch.tagIndex.length
  if (batch.timeUs.length !== n || batch.value.length !== n || batch.quality.length !== n) {
    throw new BatchCorrupt(`cannot encode batch from ${batch.source}: column lengths differ (tagIndex ${n}, timeUs ${batch.timeUs.length}, value ${batch.value.length}, quality ${batch.quality.length})`)
  }
  const w = protobuf.Writer.create()
  if (batch.source !== '') w.uint32(tag(Field.source, WireType.len)).string(batch.source)
  if (batch.seq !== 0) w.uint32(tag(Field.seq, WireType.varint)).uint64(batch.seq)
  if (batch.producedAtUs !== 0) w.uint32(tag(Field.producedAtUs, WireType.varint)).sint64(batch.producedAtUs)
  for (const name of batch.tags) w.uint32(tag(Field.tags, WireType.len)).string(name)
  if (batch.tagKinds.length > 0) w.uint32(tag(Field.tagKinds, WireType.len)).bytes(Uint8Array.from(batch.tagKinds))
  if (n > 0) {
    w.uint32(tag(Field.tagIndex, WireType.len)).bytes(bytesOf(batch.tagIndex))
    w.uint32(tag(Field.timeUs, WireType.len)).bytes(int64Column(batch.timeUs))
    w.uint32(tag(Field.value, WireType.len)).bytes(bytesOf(batch.value))
    if (!allGood(batch.quality)) w.uint32(tag(Field.quality, WireType.len)).bytes(varintColumn(batch.quality))
  }
  const body = w.finish()
  const out = Buffer.allocUnsafe(FRAME_BYTES + body.length)
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = WIRE_VERSION
  out[3] = 0
  out.writeUInt32BE(crc32(body), 4)
  out.set(body, FRAME_BYTES)
  return out
}

/**
 * Decode a framed Kafka message value. Anything that is not a well-formed, internally
 * consistent batch throws BatchCorrupt with a message saying what is wrong.
 */
export function decodeBatch (data: Uint8Array): PointBatch {
  if (data.length < FRAME_BYTES) throw corrupt(`${data.length} bytes is shorter than the ${FRAME_BYTES}-byte frame header`)
  if (data[0] !== MAGIC_0 || data[1] !== MAGIC_1) {
    throw corrupt(`bad magic 0x${hex(data[0]!)}${hex(data[1]!)} (expected 0x4653 "FS"): not a fieldstream point batch`)
  }
  if (data[2] !== WIRE_VERSION) throw corrupt(`unsupported wire version ${data[2]} (this build reads version ${WIRE_VERSION})`)
  if (data[3] !== 0) throw corrupt(`unknown frame flags 0x${hex(data[3]!)} (version ${WIRE_VERSION} defines none)`)
  const body = data.subarray(FRAME_BYTES)
  const expected = ((data[4]! << 24) | (data[5]! << 16) | (data[6]! << 8) | data[7]!) >>> 0
  const actual = crc32(body)
  if (expected !== actual) throw corrupt(`checksum mismatch (frame says 0x${expected.toString(16)}, body is 0x${actual.toString(16)}): the batch was altered or truncated`)
  let fields: RawFields
  try {
    fields = readFields(body)
  } catch (err) {
    if (err instanceof BatchCorrupt) throw err
    throw corrupt(`protobuf body is malformed: ${(err as Error).message}`)
  }
  return checkBatch(fields)
}

interface RawFields {
  source: string
  seq: number
  producedAtUs: number
  tags: string[]
  tagKinds: number[]
  tagIndex: Uint32Array
  timeUs: Float64Array
  value: Float64Array
  quality: number[] | undefined
}

function readFields (body: Uint8Array): RawFields {
  const r = protobuf.Reader.create(body)
  const f: RawFields = {
    source: '', seq: 0, producedAtUs: 0, tags: [], tagKinds: [],
    tagIndex: new Uint32Array(0), timeUs: new Float64Array(0), value: new Float64Array(0), quality: undefined,
  }
  const tagIndexParts: Uint8Array[] = []
  const timeParts: Uint8Array[] = []
  const valueParts: Uint8Array[] = []
  while (r.pos < r.len) {
    const key = r.uint32()
    const field = key >>> 3
    const wireType = key & 7
    switch (field) {
      case Field.source: expectWire(field, wireType, WireType.len); f.source = r.string(); break
      case Field.seq: expectWire(field, wireType, WireType.varint); f.seq = safeNumber(r.uint64(), 'seq'); break
      case Field.producedAtUs: expectWire(field, wireType, WireType.varint); f.producedAtUs = safeNumber(r.sint64(), 'produced_at_us'); break
      case Field.tags: expectWire(field, wireType, WireType.len); f.tags.push(r.string()); break
      case Field.tagKinds:
        // Repeated scalars may arrive packed or one by one; both are valid protobuf.
        if (wireType === WireType.len) f.tagKinds.push(...readPackedVarints(r))
        else { expectWire(field, wireType, WireType.varint); f.tagKinds.push(r.uint32()) }
        break
      case Field.tagIndex: tagIndexParts.push(readFixed(r, field, wireType, 4)); break
      case Field.timeUs: timeParts.push(readFixed(r, field, wireType, 8)); break
      case Field.value: valueParts.push(readFixed(r, field, wireType, 8)); break
      case Field.quality:
        f.quality ??= []
        if (wireType === WireType.len) f.quality.push(...readPackedVarints(r))
        else { expectWire(field, wireType, WireType.varint); f.quality.push(r.uint32()) }
        break
      default:
        // Unknown fields are skipped, so newer writers with extra fields stay readable.
        r.skipType(wireType)
    }
  }
  f.tagIndex = new Uint32Array(concatAligned(tagIndexParts))
  f.value = new Float64Array(concatAligned(valueParts))
  f.timeUs = timeFromInt64(concatAligned(timeParts))
  return f
}

function checkBatch (f: RawFields): PointBatch {
  const n = f.tagIndex.length
  if (f.source === '') throw corrupt('source is empty (every batch names the device or source it came from)')
  if (f.timeUs.length !== n || f.value.length !== n) {
    throw corrupt(`column lengths differ: tag_index ${n}, time_us ${f.timeUs.length}, value ${f.value.length}`)
  }
  if (f.quality !== undefined && f.quality.length !== n) throw corrupt(`quality has ${f.quality.length} entries for ${n} points`)
  if (f.tagKinds.length !== f.tags.length) throw corrupt(`tag_kinds has ${f.tagKinds.length} entries for ${f.tags.length} tags`)
  const seen = new Set<string>()
  for (let t = 0; t < f.tags.length; t++) {
    const name = f.tags[t]!
    const problem = checkTagName(name)
    if (problem !== undefined) throw corrupt(`tags[${t}]: ${problem}`)
    if (seen.has(name)) throw corrupt(`tags[${t}] ${JSON.stringify(name)} appears twice in the dictionary`)
    seen.add(name)
    const kind = f.tagKinds[t]!
    if (kind !== ValueKind.number && kind !== ValueKind.bool) throw corrupt(`tag_kinds[${t}] = ${kind} is not a known value kind`)
  }
  const tagCount = f.tags.length
  for (let i = 0; i < n; i++) {
    const t = f.tagIndex[i]!
    if (t >= tagCount) throw corrupt(`tag_index[${i}] = ${t} is out of range (${tagCount} tags in the dictionary)`)
    const time = f.timeUs[i]!
    if (!(time >= MIN_TIME_US && time < MAX_TIME_US)) throw corrupt(`time_us[${i}] = ${time} is outside 1970..2200`)
    if (f.tagKinds[t] === ValueKind.bool) {
      const v = f.value[i]!
      if (v !== 0 && v !== 1) throw corrupt(`value[${i}] = ${v} for boolean tag ${JSON.stringify(f.tags[t])} (must be 0 or 1)`)
    }
  }
  const quality = new Uint16Array(n)
  if (f.quality === undefined) quality.fill(GOOD_QUALITY)
  else {
    for (let i = 0; i < n; i++) {
      const q = f.quality[i]!
      if (!isQualityWord(q)) throw corrupt(`quality[${i}] = ${q} is not a 16-bit OPC quality word`)
      quality[i] = q
    }
  }
  return {
    source: f.source,
    seq: f.seq,
    producedAtUs: f.producedAtUs,
    tags: f.tags,
    tagKinds: f.tagKinds as ValueKind[],
    tagIndex: f.tagIndex,
    timeUs: f.timeUs,
    value: f.value,
    quality,
  }
}

function tag (field: number, wireType: number): number {
  return (field << 3) | wireType
}

function corrupt (what: string): BatchCorrupt {
  return new BatchCorrupt(`corrupt point batch: ${what}`)
}

function hex (byte: number): string {
  return byte.toString(16).padStart(2, '0')
}

function expectWire (field: number, got: number, want: number): void {
  if (got !== want) throw corrupt(`field ${field} has wire type ${got}, expected ${want}`)
}

// protobufjs yields a number for 64-bit fields unless the optional `long` package is installed.
function safeNumber (value: unknown, name: string): number {
  const n = typeof value === 'number' ? value : Number(String(value))
  if (!Number.isSafeInteger(n)) throw corrupt(`${name} ${n} is beyond 2^53`)
  return n
}

function readPackedVarints (r: protobuf.Reader): number[] {
  const end = r.uint32() + r.pos
  if (end > r.len) throw corrupt('packed field runs past the end of the body')
  const out: number[] = []
  while (r.pos < end) out.push(r.uint32())
  if (r.pos !== end) throw corrupt('packed varint overruns its length')
  return out
}

/** A packed fixed-width field (one block), or a single unpacked value (wire type i32/i64). */
function readFixed (r: protobuf.Reader, field: number, wireType: number, width: 4 | 8): Uint8Array {
  if (wireType === WireType.len) {
    const bytes = r.bytes()
    if (bytes.length % width !== 0) throw corrupt(`packed field ${field} is ${bytes.length} bytes, not a multiple of ${width}`)
    return bytes
  }
  expectWire(field, wireType, width === 4 ? WireType.i32 : WireType.i64)
  const start = r.pos
  r.skip(width)
  return r.buf.subarray(start, start + width)
}

/** Copy parts into one fresh, aligned ArrayBuffer that a typed array can view. */
function concatAligned (parts: Uint8Array[]): ArrayBuffer {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out.buffer
}

function bytesOf (column: Uint32Array | Float64Array): Uint8Array {
  return new Uint8Array(column.buffer, column.byteOffset, column.byteLength)
}

/** sfixed64 column from non-negative integer µs held in float64 (exact below 2^53). */
function int64Column (timeUs: Float64Array): Uint8Array {
  const words = new Uint32Array(timeUs.length * 2)
  for (let i = 0; i < timeUs.length; i++) {
    const t = timeUs[i]!
    const hi = Math.floor(t / TWO_32)
    words[2 * i] = t - hi * TWO_32
    words[2 * i + 1] = hi
  }
  return new Uint8Array(words.buffer)
}

function timeFromInt64 (buffer: ArrayBuffer): Float64Array {
  const words = new Int32Array(buffer)
  const out = new Float64Array(words.length / 2)
  for (let i = 0; i < out.length; i++) {
    out[i] = words[2 * i + 1]! * TWO_32 + (words[2 * i]! >>> 0)
  }
  return out
}

function allGood (quality: Uint16Array): boolean {
  for (let i = 0; i < quality.length; i++) if (quality[i] !== GOOD_QUALITY) return false
  return true
}

function varintColumn (values: Uint16Array): Uint8Array {
  const out = new Uint8Array(values.length * 3) // a 16-bit value takes at most 3 varint bytes
  let at = 0
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!
    while (v > 0x7f) { out[at++] = (v & 0x7f) | 0x80; v >>>= 7 }
    out[at++] = v
  }
  return out.subarray(0, at)
}
