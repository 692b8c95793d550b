import { readFileSync, writeFileSync } from 'node:fs'
import t from 'tap'
import protobuf from 'protobufjs'
import { decodeBatch, encodeBatch, FRAME_BYTES } from '../../../schemas/wire/codec.js'
import { batchFromPoints, pointsOfBatch, type Point } from '../../../schemas/points.js'
import { PointInvalid } from '../../../schemas/errors.js'
import { repoPath } from '../../helpers/repo.js'

interface Vector { name: string, source: string, seq: number, producedAtUs: number, points: Point[], hex?: string }
const vectorsFile = repoPath('test/fixtures/wire/vectors.json')
const vectors = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { about: string, cases: Vector[] }

t.test('golden vectors: encode gives the committed bytes, decode gives the points back', async t => {
  if (process.env.UPDATE_GOLDEN === '1') {
    for (const v of vectors.cases) v.hex = encodeBatch(batchFromPoints(v.source, v.seq, v.points, v.producedAtUs)).toString('hex')
    writeFileSync(vectorsFile, JSON.stringify(vectors, null, 2) + '\n')
  }
  for (const v of vectors.cases) {
    t.ok(v.hex, `${v.name}: has golden bytes`)
    const encoded = encodeBatch(batchFromPoints(v.source, v.seq, v.points, v.producedAtUs))
    t.equal(encoded.toString('hex'), v.hex, `${v.name}: encoding is byte-exact`)
    const decoded = decodeBatch(Buffer.from(v.hex!, 'hex'))
    t.equal(decoded.source, v.source)
    t.equal(decoded.seq, v.seq)
    t.equal(decoded.producedAtUs, v.producedAtUs)
    t.same(pointsOfBatch(decoded), v.points, `${v.name}: points round-trip`)
  }
})

t.test('the body is plain protobuf: an independent decoder reading points.proto agrees', async t => {
  const root = await protobuf.load(repoPath('schemas/wire/points.proto'))
  const Batch = root.lookupType('fieldstream.wire.v1.PointBatch')
  for (const v of vectors.cases.filter(c => c.points.length > 0)) {
    const body = Buffer.from(v.hex!, 'hex').subarray(FRAME_BYTES)
    const msg = Batch.toObject(Batch.decode(body), { longs: Number, enums: Number, defaults: true }) as {
      source: string, tags: string[], tagKinds: number[], tagIndex: number[], timeUs: number[], value: number[], quality: number[]
    }
    t.equal(msg.source, v.source)
    const points = msg.tagIndex.map((ti, i) => ({
      tag: msg.tags[ti],
      timeUs: msg.timeUs[i],
      value: msg.tagKinds[ti] === 1 ? msg.value[i] === 1 : msg.value[i],
      quality: msg.quality.length === 0 ? 192 : msg.quality[i],
    }))
    t.same(points, v.points, `${v.name}: protobufjs reflection decode matches`)
  }
})

t.test('round trip of a large batch keeps every column exactly', async t => {
  const points: Point[] = []
  for (let i = 0; i < 10_000; i++) {
    points.push({ tag: `tag-${i % 97}`, timeUs: 1_700_000_000_000_000 + i * 1013, value: Math.sin(i) * 1e6, quality: i % 5 === 0 ? 0x18 : 0xc0 })
  }
  const back = pointsOfBatch(decodeBatch(encodeBatch(batchFromPoints('dev', 2 ** 40, points))))
  t.same(back, points)
})

function sample (): Buffer {
  return Buffer.from(vectors.cases[0]!.hex!, 'hex')
}


t.test('corrupt input is rejected with a specific error', async t => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['too short', Buffer.from([0x46, 0x53, 1]), /shorter than the 8-byte frame header/],
    ['bad magic', Buffer.concat([Buffer.from('XX'), sample().subarray(2)]), /bad magic 0x5858/],
    ['future version', (() => { const b = Buffer.from(sample()); b[2] = 9; return b })(), /unsupported wire version 9/],
    ['unknown flags', (() => { const b = Buffer.from(sample()); b[3] = 1; return b })(), /unknown frame flags/],
    ['flipped bit in a value', (() => { const b = Buffer.from(sample()); b[b.length - 3]! ^= 0x10; return b })(), /checksum mismatch/],
    ['truncated', sample().subarray(0, sample().length - 5), /checksum mismatch/],
    ['JSON instead of a batch', Buffer.from('{"tag":"x","value":1}'), /bad magic/],
  ]
  for (const [name, input, message] of cases) {
    t.throws(() => decodeBatch(input), { name: 'BatchCorrupt', code: 'FS_BATCH_CORRUPT', message }, name)
  }
})

t.test('structurally inconsistent bodies are rejected even with a valid checksum', async t => {
  const { crc32 } = await import('node:zlib')
  const root = await protobuf.load(repoPath('schemas/wire/points.proto'))
  const Batch = root.lookupType('fieldstream.wire.v1.PointBatch')
  const frame = (fields: Record<string, unknown>): Buffer => {
    const body = Buffer.from(Batch.encode(Batch.fromObject(fields)).finish())
    const head = Buffer.from([0x46, 0x53, 1, 0, 0, 0, 0, 0])
    head.writeUInt32BE(crc32(body), 4)
    return Buffer.concat([head, body])
  }
  const good = { source: 's', tags: ['a'], tagKinds: [0], tagIndex: [0], timeUs: [1_700_000_000_000_000], value: [1] }
  t.ok(decodeBatch(frame(good)), 'the baseline is valid')
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['tag index out of range', { ...good, tagIndex: [3] }, /tag_index\[0\] = 3 is out of range \(1 tags/],
    ['missing time column entry', { ...good, timeUs: [] }, /column lengths differ/],
    ['kinds do not match tags', { ...good, tagKinds: [] }, /tag_kinds has 0 entries for 1 tags/],
    ['timestamp in nanoseconds', { ...good, timeUs: [1_700_000_000_000_000_000] }, /outside 1970..2200/],
    ['boolean tag with value 0.5', { ...good, tagKinds: [1], value: [0.5] }, /boolean tag "a"/],
    ['quality beyond 16 bits', { ...good, quality: [70000] }, /quality\[0\] = 70000/],
    ['quality column too short', { ...good, tagIndex: [0, 0], timeUs: [1, 2], value: [1, 2], quality: [192] }, /quality has 1 entries for 2 points/],
    ['duplicate tag in dictionary', { ...good, tags: ['a', 'a'], tagKinds: [0, 0] }, /appears twice/],
    ['empty source', { ...good, source: '' }, /source is empty/],
    ['control character in tag', { ...good, tags: ['a\nb'] }, /control character/],
  ]
  for (const [name, fields, message] of cases) {
    t.throws(() => decodeBatch(frame(fields)), { code: 'FS_BATCH_CORRUPT', message }, name)
  }
  const garbage = Buffer.from([0x46, 0x53, 1, 0, 0, 0, 0, 0, 0x0a, 0xff, 0xff])
  garbage.writeUInt32BE(crc32(garbage.subarray(8)), 4)
  t.throws(() => decodeBatch(garbage), { code: 'FS_BATCH_CORRUPT', message: /protobuf body is malformed/ }, 'length prefix past the end')
})

t.test('invalid points are refused before encoding, naming the point', async t => {
  const base = { tag: 'a', timeUs: 1_700_000_000_000_000, value: 1, quality: 192 }
  t.throws(() => batchFromPoints('s', 0, [base, { ...base, timeUs: 1_700_000_000_000_000_000 }]), PointInvalid, 'nanoseconds by mistake')
  t.throws(() => batchFromPoints('s', 0, [{ ...base, tag: '' }]), { message: /point 0 .*non-empty/ })
  t.throws(() => batchFromPoints('s', 0, [{ ...base, timeUs: 1.5 }]), { message: /point 0 .*integer/ })
  t.throws(() => batchFromPoints('s', 0, [base, { ...base, value: true }]), { message: /point 1 .*boolean.*number/ })
  t.throws(() => batchFromPoints('s', 0, [{ ...base, quality: -1 }]), { message: /quality -1/ })
})
