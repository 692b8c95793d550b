// `fieldstream bench codec`: encode and decode rates of point batches (schemas/wire).
// Batches look like what collectors send: a device's tags, several samples each.
import { decodeBatch, encodeBatch } from '../../../schemas/wire/codec.js'
import { batchFromPoints, type Point, type PointBatch } from '../../../schemas/points.js'
import { median, printResult } from '../../machine.js'

export interface CodecBenchOptions {
  /** Points per batch. Default 1000. */
  batchPoints: number
  /** Distinct tags per batch. Default 100. */
  batchTags: number
  /** Timed runs; the median is reported. Default 7. */
  runs: number
  /** Points encoded and decoded per run. Default 2,000,000. */
  pointsPerRun: number
}

export const DEFAULT_CODEC_BENCH: CodecBenchOptions = { batchPoints: 1000, batchTags: 100, runs: 7, pointsPerRun: 2_000_000 }

function sampleBatch (o: CodecBenchOptions, seq: number): PointBatch {
  const points: Point[] = []
  const start = 1_767_225_600_000_000 + seq * 1_000_000
  for (let i = 0; i < o.batchPoints; i++) {
    const tag = i % o.batchTags
    const sample = Math.floor(i / o.batchTags)
    points.push({
      tag: `pad${seq % 10}/device${seq % 50}/tag${tag}`,
      timeUs: start + sample * 100_000 + tag,
      value: 100 + Math.sin(seq + i) * 20,
      quality: i % 200 === 0 ? 0x18 : 0xc0,
    })
  }
  return batchFromPoints(`device${seq % 50}`, seq, points)
}

export function runCodecBench (o: CodecBenchOptions = DEFAULT_CODEC_BENCH): void {
  const batches = Array.from({ length: 64 }, (_, i) => sampleBatch(o, i))
  const encoded = batches.map(encodeBatch)
  const batchesPerRun = Math.ceil(o.pointsPerRun / o.batchPoints)
  const encodeRates: number[] = []
  const decodeRates: number[] = []
  let sink = 0
  for (let run = 0; run < o.runs + 1; run++) {
    let t0 = process.hrtime.bigint()
    for (let b = 0; b < batchesPerRun; b++) sink += encodeBatch(batches[b % batches.length]!).length
    const encodeNs = Number(process.hrtime.bigint() - t0)
    t0 = process.hrtime.bigint()
    for (let b = 0; b < batchesPerRun; b++) sink += decodeBatch(encoded[b % encoded.length]!).tagIndex.length
    const decodeNs = Number(process.hrtime.bigint() - t0)
    if (run === 0) continue // warm-up: JIT
    encodeRates.push((batchesPerRun * o.batchPoints) / (encodeNs / 1e9))
    decodeRates.push((batchesPerRun * o.batchPoints) / (decodeNs / 1e9))
  }
  const bytes = encoded.reduce((sum, e) => sum + e.length, 0)
  printResult({
    bench: 'codec',
    points_per_sec_encode: Math.round(median(encodeRates)),
    points_per_sec_decode: Math.round(median(decodeRates)),
    bytes_per_point: Number((bytes / (encoded.length * o.batchPoints)).toFixed(2)),
    batch_points: o.batchPoints,
    batch_tags: o.batchTags,
    runs: o.runs,
    checksum: sink % 1000,
  })
}
