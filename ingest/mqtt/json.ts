// JSON payloads -> point readings, following the configured paths. Pure: no MQTT here.
import type { JsonPayloadConfig, TimestampUnit } from '../../schemas/config/mqtt-collector.js'
import { checkTimeUs } from '../../schemas/points.js'
import { Quality, isQualityWord } from '../../schemas/quality.js'
import { MqttPayloadInvalid } from './errors.js'

/** A point before its tag name is known (the template needs `key`). */
export interface Reading {
  key: string | undefined
  timeUs: number
  value: number | boolean
  quality: number
}

/** Parse one payload; throws MqttPayloadInvalid saying what is wrong. */
export type JsonExtractor = (payload: Uint8Array, receivedUs: number) => Reading[]

type Getter = (node: unknown) => unknown

function compilePath (path: string): Getter {
  if (path === '') return node => node
  const keys = path.split('.')
  return node => {
    let cur = node
    for (const k of keys) {
      // Own members only: `constructor` or `__proto__` in a path must not reach Object.prototype.
      if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, k)) return undefined
      cur = (cur as Record<string, unknown>)[k]
    }
    return cur
  }
}

const toMicros: Record<TimestampUnit, (raw: unknown) => number | undefined> = {
  ms: raw => typeof raw === 'number' ? Math.round(raw * 1e3) : undefined,
  s: raw => typeof raw === 'number' ? Math.round(raw * 1e6) : undefined,
  us: raw => typeof raw === 'number' ? Math.round(raw) : undefined,
  iso: raw => {
    if (typeof raw !== 'string') return undefined
    const ms = Date.parse(raw)
    return Number.isNaN(ms) ? undefined : ms * 1e3
  },
}

export function compileJsonPayload (cfg: JsonPayloadConfig): JsonExtractor {
  const points = compilePath(cfg.points)
  const value = compilePath(cfg.value)
  const timestamp = cfg.timestamp === '' ? undefined : compilePath(cfg.timestamp)
  const quality = cfg.quality === '' ? undefined : compilePath(cfg.quality)
  const key = cfg.key === '' ? undefined : compilePath(cfg.key)
  const micros = toMicros[cfg.timestampUnit]

  function reading (node: unknown, index: number, receivedUs: number): Reading {
    const where = `point ${index}`
    const v = value(node)
    if (!((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean')) {
      throw new MqttPayloadInvalid(`${where}: value at "${cfg.value}" must be a finite number or a boolean, got ${describe(v)}`)
    }
    let timeUs = receivedUs
    if (timestamp !== undefined) {
      const raw = timestamp(node)
      const us = micros(raw)
      if (us === undefined) throw new MqttPayloadInvalid(`${where}: timestamp at "${cfg.timestamp}" must be ${cfg.timestampUnit === 'iso' ? 'an ISO 8601 string' : `a number (${cfg.timestampUnit})`}, got ${describe(raw)}`)
      const problem = checkTimeUs(us)
      if (problem !== undefined) throw new MqttPayloadInvalid(`${where}: timestamp at "${cfg.timestamp}" (${cfg.timestampUnit}): ${problem}`)
      timeUs = us
    }
    let q: number = Quality.good
    if (quality !== undefined) {
      const raw = quality(node)
      if (typeof raw !== 'number' || !isQualityWord(raw)) throw new MqttPayloadInvalid(`${where}: quality at "${cfg.quality}" must be an integer 0..65535, got ${describe(raw)}`)
      q = raw
    }
    let k: string | undefined
    if (key !== undefined) {
      const raw = key(node)
      if (typeof raw !== 'string' || raw === '') throw new MqttPayloadInvalid(`${where}: key at "${cfg.key}" must be a non-empty string, got ${describe(raw)}`)
      k = raw
    }
    return { key: k, timeUs, value: v, quality: q }
  }

  return (payload, receivedUs) => {
    let doc: unknown
    try {
      doc = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'))
    } catch (err) {
      throw new MqttPayloadInvalid(`not JSON: ${(err as Error).message}`)
    }
    const list = points(doc)
    if (Array.isArray(list)) return list.map((node, i) => reading(node, i, receivedUs))
    if (cfg.points !== '') throw new MqttPayloadInvalid(`points at "${cfg.points}" must be an array, got ${describe(list)}`)
    return [reading(list, 0, receivedUs)]
  }
}

/**
 * A short description for error messages. Containers are named, not serialized: a payload may
 * nest deep enough to overflow JSON.stringify's stack, or be megabytes long.
 */
function describe (v: unknown): string {
  if (v === undefined) return 'nothing'
  if (Array.isArray(v)) return `an array (${v.length} items)`
  if (typeof v === 'object' && v !== null) return 'an object'
  // String(), not JSON.stringify: 1e400 parses to Infinity, which JSON would write as null.
  if (typeof v === 'number') return String(v)
  const text = JSON.stringify(typeof v === 'string' && v.length > 40 ? v.slice(0, 41) : v)
  return text.length > 40 ? `${text.slice(0, 40)}...` : text
}
