// Shared by the MQTT / Sparkplug tests: a config with defaults, a sink that can be awaited,
// and a raw MQTT client for publishing what a field device would.
import { randomBytes } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import mqtt, { type MqttClient } from 'mqtt'
import type { Logger } from '../../../common/log.js'
import type { BatchSink } from '../../../ingest/sink.js'
import { MqttCollectorSchema, type MqttCollectorConfig } from '../../../schemas/config/mqtt-collector.js'
import { pointsOfBatch, type Point, type PointBatch } from '../../../schemas/points.js'

/** The broker under test: the stack's Mosquitto unless MQTT_URL says otherwise. */
export const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883'

// Wrapped in a section like the real config, so the section's own defaults apply as in loadConfig.
const validate = new Ajv({ useDefaults: true, strict: true, allowUnionTypes: true }).compile(Type.Object({ mqtt: MqttCollectorSchema }))

/** collectors.mqtt with defaults filled in, as loadConfig would produce it. */
export function mqttConfig (raw: Record<string, unknown>): MqttCollectorConfig {
  const doc = { mqtt: structuredClone(raw) }
  if (!validate(doc)) throw new Error(`test config invalid: ${JSON.stringify(validate.errors)}`)
  return doc.mqtt as MqttCollectorConfig
}

/** A prefix no other test run (or engineer) on the shared broker uses. */
export function uniqueId (label: string): string {
  return `${label}${randomBytes(4).toString('hex')}`
}

export interface CapturedLog extends Logger { lines: string[] }

export function captureLog (): CapturedLog {
  const lines: string[] = []
  const push = (level: string) => (m: string) => { lines.push(`${level} ${m}`) }
  return { lines, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') }
}

/** A sink that records batches, can be slowed down, and lets a test wait for points. */
export class RecordingSink implements BatchSink {
  readonly batches: PointBatch[] = []
  /** Delay of every write, ms. */
  delayMs = 0
  writesInProgress = 0
  #waiters: (() => void)[] = []

  async write (batch: PointBatch): Promise<void> {
    this.writesInProgress++
    if (this.delayMs > 0) await new Promise(resolve => setTimeout(resolve, this.delayMs))
    this.writesInProgress--
    this.batches.push(batch)
    for (const w of this.#waiters.splice(0)) w()
  }

  async close (): Promise<void> {}

  points (): Point[] {
    return this.batches.flatMap(b => pointsOfBatch(b))
  }

  /** Resolve once `predicate` holds over the recorded points; reject after `timeoutMs`. */
  async waitFor (predicate: (points: Point[]) => boolean, timeoutMs = 5000): Promise<Point[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const points = this.points()
      if (predicate(points)) return points
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for points (have ${points.length})`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.min(left, 100))
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
}

export async function connectRaw (options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5, reconnectPeriod: 0, ...options })
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Resolve when `predicate` holds, polling; reject after `timeoutMs`. */
export async function until (predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}
