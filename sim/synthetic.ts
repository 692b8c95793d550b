// A synthetic point source: devices whose tags follow smooth signals with noise, sampled
// at a fixed rate and sent as point batches straight to Kafka. It stands in for the field
// (simulated Modbus/Sparkplug devices behind real collectors) where those are not wired.
import { batchFromPoints, type Point } from '../schemas/points.js'
import { encodeBatch } from '../schemas/wire/codec.js'
import type { BatchProducer } from '../common/kafka.js'

export interface SyntheticOptions {
  topic: string
  tags: number
  devices: number
  /** Samples per tag per second. */
  rateHz: number
  /** How often each device seals a batch, ms. Default 200. */
  flushMs?: number
}

export interface SyntheticSource {
  /** Points handed to Kafka and acknowledged. */
  readonly sent: number
  /** Points whose send failed (this source has no spool: they are gone). */
  readonly failed: number
  /** The last send error, if any. */
  readonly lastError: Error | undefined
  stop (): Promise<void>
}

export function startSyntheticSource (producer: BatchProducer, o: SyntheticOptions): SyntheticSource {
  const flushMs = o.flushMs ?? 200
  const tagsPerDevice = Math.max(1, Math.floor(o.tags / o.devices))
  const seq = new Array<number>(o.devices).fill(0)
  const intervalUs = Math.round(1e6 / o.rateHz)
  let nextSampleUs = Math.floor(Date.now() / 1000) * 1e6
  let sent = 0
  let failed = 0
  let lastError: Error | undefined
  let inFlight: Promise<void> = Promise.resolve()
  let stopped = false

  const tick = (): void => {
    const nowUs = Date.now() * 1000
    const messages: Array<{ topic: string, key: string, value: Buffer }> = []
    // Emit every sample time that has passed; whole batches per device.
    const sampleTimes: number[] = []
    while (nextSampleUs <= nowUs) { sampleTimes.push(nextSampleUs); nextSampleUs += intervalUs }
    if (sampleTimes.length === 0) return
    for (let d = 0; d < o.devices; d++) {
      const points: Point[] = []
      for (const timeUs of sampleTimes) {
        for (let k = 0; k < tagsPerDevice; k++) {
          const phase = (d * 31 + k * 7) % 360
          const value = 50 + 40 * Math.sin(timeUs / 6e7 + phase) + (Math.random() - 0.5)
          points.push({ tag: `dev${d}/tag${k}`, timeUs, value, quality: 0xc0 })
        }
      }
      seq[d]! += 1
      messages.push({ topic: o.topic, key: `dev${d}`, value: encodeBatch(batchFromPoints(`dev${d}`, seq[d]!, points)) })
    }
    const count = sampleTimes.length * tagsPerDevice * o.devices
    // Sends are chained so batches of one device stay in order.
    inFlight = inFlight.then(async () => {
      try {
        await producer.send({ messages })
        sent += count
      } catch (err) {
        failed += count
        lastError = err as Error
      }
    })
  }
  const timer = setInterval(tick, flushMs)
  return {
    get sent () { return sent },
    get failed () { return failed },
    get lastError () { return lastError },
    async stop () {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      await inFlight
    },
  }
}
