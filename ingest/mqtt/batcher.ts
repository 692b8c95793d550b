// Per-source batching: points collect per source (one Kafka key: a device or topic prefix),
// are sealed into a PointBatch every flush interval or when a source's buffer is full, and
// are written to the sink in order per source. The Acks riding with the points are called
// only after the sink says the batch is durable.
//
// Memory bound: every point is counted from add() until its batch is written (or given up).
// QoS 1 intake is bounded by the un-acked window (maxInFlight), but QoS 0 messages (Sparkplug
// data) keep coming however slow the sink is, so once maxBufferedPoints are held, points added
// as sheddable (QoS 0) are dropped whole per message, counted and logged: the newest data is
// lost, what is already held keeps its order and reaches the sink.

import type { Logger } from '../../common/log.js'
import { batchFromPoints, checkTagName, checkTimeUs, type Point } from '../../schemas/points.js'
import { PointInvalid } from '../../schemas/errors.js'
import { isQualityWord } from '../../schemas/quality.js'
import type { BatchSink } from '../sink.js'
import type { Ack } from './acks.js'
import type { RateLimitedLog } from './rate-log.js'

export interface BatcherOptions {
  /** ms */
  flushIntervalMs: number
  maxBatchPoints: number
  /** Points held (collecting + sealed, not yet written) above which sheddable points are dropped. */
  maxBufferedPoints: number
  /** First retry delay after a failed sink write, ms; doubles up to RETRY_MAX_MS. */
  retryMinMs: number
}

const RETRY_MAX_MS = 30_000

export interface BatcherStats {
  pointsIn: number
  batchesWritten: number
  pointsWritten: number
  /** Sink writes that failed and were retried. */
  writeRetries: number
  /** Points dropped because they could not go in a batch (bad tag name, mixed value kinds). */
  pointsInvalid: number
  /** QoS 0 points dropped because maxBufferedPoints were held (the sink was behind). */
  pointsShed: number
  /** Points held now: added and not yet written. */
  bufferedPoints: number
  /** Highest bufferedPoints seen. */
  bufferedPointsPeak: number
}

interface SourceState {
  points: Point[]
  acks: Ack[]
  seq: number
  /** The last write of this source: the next one starts after it (order per source). */
  tail: Promise<void>
}

export class Batcher {
  readonly stats: BatcherStats = { pointsIn: 0, batchesWritten: 0, pointsWritten: 0, writeRetries: 0, pointsInvalid: 0, pointsShed: 0, bufferedPoints: 0, bufferedPointsPeak: 0 }
  readonly #sink: BatchSink
  readonly #opts: BatcherOptions
  readonly #log: Logger
  readonly #warn: RateLimitedLog
  readonly #nowUs: () => number
  readonly #sources = new Map<string, SourceState>()
  #timer: NodeJS.Timeout | undefined
  #stopping = false
  /** Set while shedding: when it started and pointsShed then, for the line logged when it ends. */
  #shedding: { sinceMs: number, shedBefore: number } | undefined

  constructor (sink: BatchSink, opts: BatcherOptions, log: Logger, warn: RateLimitedLog, nowUs: () => number) {
    this.#sink = sink
    this.#opts = opts
    this.#log = log
    this.#warn = warn
    this.#nowUs = nowUs
  }

  start (): void {
    this.#stopping = false
    this.#timer ??= setInterval(() => this.flush(), this.#opts.flushIntervalMs)
  }

  /**
   * Add points of one source; `ack` (if any) is called once they are durable. `sheddable`
   * points (from a QoS 0 message) are dropped instead when maxBufferedPoints are held;
   * returns false then.
   */
  add (source: string, points: readonly Point[], ack?: Ack, sheddable = false): boolean {
    if (sheddable && points.length > 0 && !this.#admit(points.length)) return false
    let state = this.#sources.get(source)
    if (state === undefined) {
      state = { points: [], acks: [], seq: 0, tail: Promise.resolve() }
      this.#sources.set(source, state)
    }
    for (const p of points) state.points.push(p)
    if (ack !== undefined) state.acks.push(ack)
    this.stats.pointsIn += points.length
    this.stats.bufferedPoints += points.length
    if (this.stats.bufferedPoints > this.stats.bufferedPointsPeak) this.stats.bufferedPointsPeak = this.stats.bufferedPoints
    if (state.points.length >= this.#opts.maxBatchPoints) this.#seal(source, state)
    return true
  }

  /** Room for `count` more sheddable points? Counts and logs what is shed. */
  #admit (count: number): boolean {
    const max = this.#opts.maxBufferedPoints
    if (this.stats.bufferedPoints < max) {
      if (this.#shedding !== undefined) {
        const shed = this.stats.pointsShed - this.#shedding.shedBefore
        this.#log.warn(`buffer below collectors.mqtt.maxBufferedPoints (${max}) again after ${Date.now() - this.#shedding.sinceMs} ms; ${shed} QoS 0 points were dropped meanwhile (${this.stats.pointsShed} in all)`)
        this.#shedding = undefined
      }
      return true
    }
    if (this.#shedding === undefined) {
      this.#shedding = { sinceMs: Date.now(), shedBefore: this.stats.pointsShed }
      this.#log.warn(`${this.stats.bufferedPoints} points wait for the sink (collectors.mqtt.maxBufferedPoints ${max}): dropping the points of new QoS 0 messages (Sparkplug data) until it catches up`)
    }
    this.stats.pointsShed += count
    this.#warn.warn('shed', `still dropping QoS 0 points: ${this.stats.pointsShed} dropped so far, ${this.stats.bufferedPoints} held (collectors.mqtt.maxBufferedPoints ${max})`)
    return false
  }

  /** Seal every source's pending points now. */
  flush (): void {
    for (const [source, state] of this.#sources) this.#seal(source, state)
  }

  /** Drain, then stop retrying: a batch the sink still refuses is not acknowledged (the broker redelivers it). */
  async stop (): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.flush()
    this.#stopping = true
    await Promise.all([...this.#sources.values()].map(s => s.tail))
  }

  #seal (source: string, state: SourceState): void {
    if (state.points.length === 0 && state.acks.length === 0) return
    const points = state.points
    const acks = state.acks
    state.points = []
    state.acks = []
    const batch = points.length === 0 ? undefined : this.#build(source, state, points)
    state.tail = state.tail.then(async () => {
      try {
        if (batch !== undefined && !(await this.#write(batch.batch, source))) return
        if (batch !== undefined) {
          this.stats.batchesWritten++
          this.stats.pointsWritten += batch.count
        }
        for (const ack of acks) ack()
      } finally {
        // Written, or given up at stop: no longer held here (invalid ones were never sent).
        this.stats.bufferedPoints -= points.length
      }
    })
  }

  #build (source: string, state: SourceState, points: Point[]): { batch: ReturnType<typeof batchFromPoints>, count: number } | undefined {
    let good = points
    try {
      return { batch: batchFromPoints(source, state.seq++, good, this.#nowUs()), count: good.length }
    } catch (err) {
      if (!(err instanceof PointInvalid)) throw err
      good = validPoints(points)
      this.stats.pointsInvalid += points.length - good.length
      this.#warn.warn(`invalid-point:${source}`, `source ${source}: dropped ${points.length - good.length} invalid point(s): ${err.message}`)
      return good.length === 0 ? undefined : { batch: batchFromPoints(source, state.seq - 1, good, this.#nowUs()), count: good.length }
    }
  }

  /** true once durable; false when given up because the collector is stopping. */
  async #write (batch: ReturnType<typeof batchFromPoints>, source: string): Promise<boolean> {
    for (let delay = this.#opts.retryMinMs; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await this.#sink.write(batch)
        return true
      } catch (err) {
        if (this.#stopping) {
          this.#log.error(`source ${source}: batch ${batch.seq} not written at stop (${(err as Error).message}); it stays un-acknowledged for redelivery`)
          return false
        }
        this.stats.writeRetries++
        this.#warn.warn(`sink:${source}`, `source ${source}: sink write failed (${(err as Error).message}), retrying in ${delay} ms`)
        await new Promise(resolve => setTimeout(resolve, delay))
      }
    }
  }
}

/** The points batchFromPoints accepts: the same checks, applied one by one; the first kind of a tag wins. */
function validPoints (points: readonly Point[]): Point[] {
  const kinds = new Map<string, string>()
  return points.filter(p => {
    if (checkTagName(p.tag) !== undefined || checkTimeUs(p.timeUs) !== undefined || !isQualityWord(p.quality)) return false
    if (typeof p.value !== 'number' && typeof p.value !== 'boolean') return false
    const kind = kinds.get(p.tag)
    if (kind === undefined) kinds.set(p.tag, typeof p.value)
    return kind === undefined || kind === typeof p.value
  })
}
