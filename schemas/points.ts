// The point model: what every stage agrees a sensor reading is.
import { PointInvalid } from './errors.js'
import { Quality, isQualityWord } from './quality.js'

/** One sensor reading. */
export interface Point {
  /** Tag name, e.g. `pad7/pump2/discharge_pressure`. */
  tag: string
  /** Source timestamp, microseconds since the Unix epoch (an integer). */
  timeUs: number
  value: number | boolean
  /** OPC DA quality word; see schemas/quality.ts. */
  quality: number
}

export const ValueKind = { number: 0, bool: 1 } as const
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind]

/**
 * A batch of points in columnar form, as it travels on Kafka.
 * Column i of tagIndex/timeUs/value/quality describes point i.
 */
export interface PointBatch {
  source: string
  seq: number
  producedAtUs: number
  /** Tag dictionary; tagIndex refers into it. */
  tags: string[]
  /** Value kind of each dictionary entry. */
  tagKinds: ValueKind[]
  tagIndex: Uint32Array
  timeUs: Float64Array
  value: Float64Array
  quality: Uint16Array
}

export const MAX_TAG_NAME_BYTES = 256
/** Timestamps outside [1970, 2200) are refused: they are unit mistakes (ns or s instead of µs). */
export const MIN_TIME_US = 0
export const MAX_TIME_US = Date.UTC(2200, 0, 1) * 1000

export function batchLength (batch: PointBatch): number {
  return batch.tagIndex.length
}

export function checkTagName (tag: unknown): string | undefined {
  if (typeof tag !== 'string' || tag.length === 0) return 'tag name must be a non-empty string'
  if (Buffer.byteLength(tag) > MAX_TAG_NAME_BYTES) return `tag name longer than ${MAX_TAG_NAME_BYTES} bytes`
  if (/[\u0000-\u001f\u007f]/.test(tag)) return 'tag name contains a control character'
  return undefined
}

export function checkTimeUs (timeUs: unknown): string | undefined {
  if (typeof timeUs !== 'number' || !Number.isInteger(timeUs)) return 'timeUs must be an integer (microseconds since the Unix epoch)'
  if (timeUs < MIN_TIME_US || timeUs >= MAX_TIME_US) return `timeUs ${timeUs} is outside 1970..2200 (microseconds expected)`
  return undefined
}

/**
 * Build a columnar batch from points, checking each one.
 * Throws PointInvalid naming the point index and the problem.
 */
export function batchFromPoints (source: string, seq: number, points: readonly Point[], producedAtUs = Date.now() * 1000): PointBatch {
  const n = points.length
  const tags: string[] = []
  const tagKinds: ValueKind[] = []
  const dictionary = new Map<string, number>()
  const tagIndex = new Uint32Array(n)
  const timeUs = new Float64Array(n)
  const value = new Float64Array(n)
  const quality = new Uint16Array(n)
  for (let i = 0; i < n; i++) {
    const p = points[i]!
    const problem = checkTagName(p.tag) ?? checkTimeUs(p.timeUs) ??
      (isQualityWord(p.quality) ? undefined : `quality ${String(p.quality)} is not a 16-bit OPC quality word`) ??
      (typeof p.value === 'number' || typeof p.value === 'boolean' ? undefined : `value must be a number or boolean, got ${typeof p.value}`)
    if (problem !== undefined) throw new PointInvalid(`point ${i} (tag ${JSON.stringify(p.tag)}): ${problem}`)
    const kind = typeof p.value === 'boolean' ? ValueKind.bool : ValueKind.number
    let index = dictionary.get(p.tag)
    if (index === undefined) {
      index = tags.length
      dictionary.set(p.tag, index)
      tags.push(p.tag)
      tagKinds.push(kind)
    } else if (tagKinds[index] !== kind) {
      throw new PointInvalid(`point ${i} (tag ${JSON.stringify(p.tag)}): value is a ${typeof p.value} but earlier points of this tag in the batch were ${tagKinds[index] === ValueKind.bool ? 'boolean' : 'number'}`)
    }
    tagIndex[i] = index
    timeUs[i] = p.timeUs
    value[i] = typeof p.value === 'boolean' ? (p.value ? 1 : 0) : p.value
    quality[i] = p.quality
  }
  return { source, seq, producedAtUs, tags, tagKinds, tagIndex, timeUs, value, quality }
}

/** Expand a batch back into point objects (for tests, the API and small consumers; the hot path stays columnar). */
export function pointsOfBatch (batch: PointBatch): Point[] {
  const out: Point[] = new Array(batch.tagIndex.length)
  for (let i = 0; i < out.length; i++) {
    const t = batch.tagIndex[i]!
    const v = batch.value[i]!
    out[i] = {
      tag: batch.tags[t]!,
      timeUs: batch.timeUs[i]!,
      value: batch.tagKinds[t] === ValueKind.bool ? v !== 0 : v,
      quality: batch.quality[i]!,
    }
  }
  return out
}

export const GOOD = Quality.good
