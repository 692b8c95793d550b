// Point batches for tests: deterministic, with every point identifiable by (tag, time).
import { batchFromPoints, type Point, type PointBatch } from '../../schemas/points.js'

export const T0_US = Date.UTC(2026, 10, 23, 0, 0, 0) * 1000

/** `batches` batches from `devices` devices, `tagsPerDevice` tags each, `samples` samples per tag per batch. */
export function makeBatches (o: { devices: number, batches: number, tagsPerDevice: number, samples: number, startUs?: number, prefix?: string }): PointBatch[] {
  const out: PointBatch[] = []
  const start = o.startUs ?? T0_US
  for (let b = 0; b < o.batches; b++) {
    const device = b % o.devices
    const round = Math.floor(b / o.devices)
    const points: Point[] = []
    for (let s = 0; s < o.samples; s++) {
      for (let k = 0; k < o.tagsPerDevice; k++) {
        const timeUs = start + (round * o.samples + s) * 1_000_000
        points.push({ tag: `${o.prefix ?? 't'}/dev${device}/tag${k}`, timeUs, value: device * 1000 + k + s / 1000, quality: (s + k) % 50 === 0 ? 0x18 : 0xc0 })
      }
    }
    out.push(batchFromPoints(`dev${device}`, round + 1, points))
  }
  return out
}

export function pointCount (batches: readonly PointBatch[]): number {
  return batches.reduce((sum, b) => sum + b.tagIndex.length, 0)
}
