// Fuzzing the Kafka batch decoder (schemas/wire/codec.ts decodeBatch): whatever bytes a
// topic holds, the worker gets either a batch that is internally consistent or BatchCorrupt.
// The interesting inputs are near-misses of valid batches, so most cases mutate real encodings.
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import protobuf from 'protobufjs/minimal.js'
import t from 'tap'
import { BatchCorrupt } from '../../schemas/errors.js'
import { batchFromPoints, MAX_TIME_US, pointsOfBatch, ValueKind, type Point, type PointBatch } from '../../schemas/points.js'
import { decodeBatch, encodeBatch, FRAME_BYTES } from '../../schemas/wire/codec.js'
import { fuzzParams, mutate, mutationsArb, typedOutcome, type Mutation } from './helpers.js'

const decode = (bytes: Uint8Array) => typedOutcome(() => decodeBatch(bytes), [BatchCorrupt], 'decodeBatch')

/**
 * What a decoded batch must satisfy, checked by other code than the decoder's own checks:
 * the encoder-side validation (batchFromPoints) accepts its points, the dictionary has no
 * duplicates, and it survives a re-encode unchanged.
 */
function assertConsistent (b: PointBatch): void {
  const n = b.tagIndex.length
  if (b.timeUs.length !== n || b.value.length !== n || b.quality.length !== n) throw new Error(`column lengths differ: ${n}/${b.timeUs.length}/${b.value.length}/${b.quality.length}`)
  if (b.tagKinds.length !== b.tags.length) throw new Error('tag kinds do not match tags')
  if (new Set(b.tags).size !== b.tags.length) throw new Error('duplicate tag in the dictionary')
  if (typeof b.source !== 'string' || b.source === '') throw new Error('empty source')
  if (!Number.isSafeInteger(b.seq) || b.seq < 0) throw new Error(`seq ${b.seq}`)
  if (!Number.isSafeInteger(b.producedAtUs)) throw new Error(`producedAtUs ${b.producedAtUs}`)
  for (let i = 0; i < n; i++) if (b.tagIndex[i]! >= b.tags.length) throw new Error(`tag_index[${i}] out of range`)
  if (!b.tagKinds.every(k => k === ValueKind.number || k === ValueKind.bool)) throw new Error(`tag kinds ${JSON.stringify(b.tagKinds)}`)
  // pointsOfBatch reads any non-zero as true, so the raw column is checked here.
  for (let i = 0; i < n; i++) {
    if (b.tagKinds[b.tagIndex[i]!] === ValueKind.bool && b.value[i] !== 0 && b.value[i] !== 1) throw new Error(`boolean point ${i} has value ${b.value[i]}`)
  }
  // Throws PointInvalid for a bad tag name, time or quality, or a tag with two value kinds.
  batchFromPoints(b.source, b.seq, pointsOfBatch(b), b.producedAtUs)
  const again = encodeBatch(b)
  if (!encodeBatch(decodeBatch(again)).equals(again)) throw new Error('re-encoding is not stable')
}

const tagName = fc.oneof(
  fc.constantFrom('pad1/pump1/pressure', 'pad1/pump1/running', 'tank/level', 'a', 'ü/温度'),
  fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter(s => !/[\u0000-\u001f\u007f]/.test(s)),
)
const timeUs = fc.oneof(
  fc.constantFrom(0, 1_767_225_600_000_000, MAX_TIME_US - 1),
  fc.double({ min: 0, max: MAX_TIME_US - 1, noNaN: true }).map(Math.floor),
)
const quality = fc.oneof(fc.constant(0xc0), fc.constantFrom(0x00, 0x18, 0x54, 0x1c0), fc.nat({ max: 0xffff }))

/** A valid batch: a small dictionary with one value kind per tag, and points over it. */
const batchArb: fc.Arbitrary<PointBatch> = fc.record({
  source: fc.oneof(fc.constantFrom('pad1/pump1', 'rtu-7'), fc.string({ minLength: 1, maxLength: 12 })),
  seq: fc.oneof(fc.nat({ max: 1000 }), fc.constant(2 ** 53 - 1)),
  producedAtUs: fc.oneof(fc.constant(0), fc.constant(1_767_225_600_123_456)),
  tags: fc.uniqueArray(fc.record({ name: tagName, bool: fc.boolean() }), { minLength: 1, maxLength: 5, selector: x => x.name }),
  picks: fc.array(fc.record({ at: fc.nat(), timeUs, quality, num: fc.double(), flag: fc.boolean() }), { maxLength: 24 }),
}).map(({ source, seq, producedAtUs, tags, picks }) => {
  const points: Point[] = picks.map(p => {
    const tag = tags[p.at % tags.length]!
    return { tag: tag.name, timeUs: p.timeUs, value: tag.bool ? p.flag : p.num, quality: p.quality }
  })
  return batchFromPoints(source, seq, points, producedAtUs)
})

/** The body re-framed with a correct checksum: what a buggy writer (not line noise) would send. */
function reframe (body: Uint8Array): Buffer {
  const head = Buffer.from([0x46, 0x53, 1, 0, 0, 0, 0, 0])
  head.writeUInt32BE(crc32(body), 4)
  return Buffer.concat([head, body])
}

t.test('arbitrary bytes: BatchCorrupt or a consistent batch', async t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), bytes => {
    const r = decode(bytes)
    if (r.ok) assertConsistent(r.value)
  }), fuzzParams(t, 'arbitrary bytes', 1500))
  t.pass('only BatchCorrupt or consistent batches')
})

t.test('arbitrary bodies behind a valid frame header and checksum reach the protobuf reader', async t => {
  // Raw protobuf-ish bodies: a field key, a length or varint, more bytes. Plain random bytes
  // mostly stop at the first key; this mix makes the reader walk further.
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 12 }),
    fc.constantFrom(0x0a, 0x10, 0x18, 0x22, 0x2a, 0x32, 0x3a, 0x42, 0x4a, 0x31, 0x35, 0x3d, 0x41, 0x45, 0x48).map(k => Uint8Array.of(k)),
    fc.nat({ max: 300 }).map(n => n < 128 ? Uint8Array.of(n) : Uint8Array.of((n & 0x7f) | 0x80, n >> 7)),
  )
  fc.assert(fc.property(fc.array(chunk, { maxLength: 40 }), parts => {
    const r = decode(reframe(Buffer.concat(parts)))
    if (r.ok) assertConsistent(r.value)
  }), fuzzParams(t, 'framed bodies', 1500))
  t.pass('only BatchCorrupt or consistent batches')
})

t.test('valid batches round-trip', async t => {
  fc.assert(fc.property(batchArb, b => {
    const bytes = encodeBatch(b)
    const r = decode(bytes)
    if (!r.ok) throw new Error(`valid batch refused: ${r.error.message}`)
    assertConsistent(r.value)
    if (!encodeBatch(r.value).equals(bytes)) throw new Error('decode(encode(b)) differs from b')
  }), fuzzParams(t, 'round trip', 200))
  t.pass('every valid batch decodes to itself')
})

t.test('mutated batches (flips, truncation, extension, splicing) are refused unless the bytes are a valid original', async t => {
  // The CRC-32 over the body catches every change of up to 32 bits and any other with odds
  // of 2^-32, and the header bytes are compared exactly; so a mutation that decodes must have
  // left the bytes equal to one of the two valid batches it was built from.
  fc.assert(fc.property(batchArb, batchArb, mutationsArb(), (a, b, mutations) => {
    const bytesA = encodeBatch(a)
    const bytesB = encodeBatch(b)
    const bad = mutate(bytesA, mutations, bytesB)
    const r = decode(bad)
    if (!r.ok) return
    const same = bad.equals(bytesA) ? bytesA : bad.equals(bytesB) ? bytesB : undefined
    if (same === undefined) throw new Error(`a mutated batch decoded: ${bad.toString('hex')}`)
    if (!encodeBatch(r.value).equals(same)) throw new Error('decoded to other points than the original')
  }), fuzzParams(t, 'mutated batches', 1000))
  t.pass('no mutation decoded to other points')
})

/** One protobuf field of a body, kept raw: its key and everything after the key. */
interface RawField { key: number, rest: Uint8Array }

function splitFields (body: Uint8Array): RawField[] {
  const r = protobuf.Reader.create(body)
  const out: RawField[] = []
  while (r.pos < r.len) {
    const key = r.uint32()
    const start = r.pos
    r.skipType(key & 7)
    out.push({ key, rest: body.subarray(start, r.pos) })
  }
  return out
}

function joinFields (fields: readonly RawField[]): Buffer {
  return Buffer.from(fields.flatMap(f => [...varint(f.key), ...f.rest]))
}

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7 }
  out.push(n)
  return out
}

/**
 * Field-level edits: what a writer with a bug does (a field twice, one missing, fields out of
 * order, a length-delimited field with other contents). Byte flips almost never produce a
 * second dictionary entry with a matching kind, say; these do.
 */
type FieldEdit = { op: 'dup' | 'drop' | 'move' | 'fromOther', at: number, to: number } | { op: 'content', at: number, mutations: Mutation[] }
const fieldEditsArb: fc.Arbitrary<FieldEdit[]> = fc.array(fc.oneof(
  fc.record({ op: fc.constantFrom('dup' as const, 'drop' as const, 'move' as const, 'fromOther' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('content' as const), at: fc.nat(), mutations: mutationsArb() }),
), { minLength: 1, maxLength: 4 })

function editFields (body: Uint8Array, edits: readonly FieldEdit[], other: Uint8Array): Buffer {
  const fields = splitFields(body)
  const others = splitFields(other)
  for (const e of edits) {
    if (fields.length === 0) break
    const i = e.at % fields.length
    switch (e.op) {
      case 'dup': fields.splice(e.to % (fields.length + 1), 0, fields[i]!); break
      case 'drop': fields.splice(i, 1); break
      case 'move': fields.splice(e.to % fields.length, 0, ...fields.splice(i, 1)); break
      case 'fromOther': if (others.length > 0) fields.splice(e.to % (fields.length + 1), 0, others[i % others.length]!); break
      case 'content': {
        const f = fields[i]!
        if ((f.key & 7) !== 2) break
        const r = protobuf.Reader.create(f.rest)
        const content = mutate(r.bytes(), e.mutations)
        fields[i] = { key: f.key, rest: Buffer.from([...varint(content.length), ...content]) }
      }
    }
  }
  return joinFields(fields)
}

t.test('field-level edits of valid bodies with a recomputed checksum: BatchCorrupt or a consistent batch', async t => {
  const seen = { decoded: 0, refused: 0 }
  fc.assert(fc.property(batchArb, batchArb, fieldEditsArb, (a, b, edits) => {
    const body = editFields(encodeBatch(a).subarray(FRAME_BYTES), edits, encodeBatch(b).subarray(FRAME_BYTES))
    const r = decode(reframe(body))
    seen[r.ok ? 'decoded' : 'refused']++
    if (r.ok) assertConsistent(r.value)
  }), fuzzParams(t, 'field edits, re-framed', 1000))
  t.ok(seen.decoded > 0 && seen.refused > 0, `some edits decode, some are refused (${seen.decoded} decoded, ${seen.refused} refused)`)
})

t.test('mutated bodies with a recomputed checksum: BatchCorrupt or a consistent batch', async t => {
  // Past the checksum only the structural checks stand between a buggy writer and the store.
  const seen = { decoded: 0, refused: 0 }
  fc.assert(fc.property(batchArb, batchArb, mutationsArb(), (a, b, mutations) => {
    const body = mutate(encodeBatch(a).subarray(FRAME_BYTES), mutations, encodeBatch(b).subarray(FRAME_BYTES))
    const r = decode(reframe(body))
    seen[r.ok ? 'decoded' : 'refused']++
    if (r.ok) assertConsistent(r.value)
  }), fuzzParams(t, 'mutated bodies, re-framed', 1000))
  // Both sides must be reached, or the property says nothing about the structural checks.
  t.ok(seen.decoded > 0 && seen.refused > 0, `some mutations decode, some are refused (${seen.decoded} decoded, ${seen.refused} refused)`)
})
