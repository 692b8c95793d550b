// The Modbus collector: polls devices over Modbus TCP or RTU and writes one PointBatch per
// device poll to the sink. Devices poll concurrently, start staggered over their interval,
// and share one connection and one FIFO queue per gateway.
import { setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../../common/log.js'
import type { ModbusCollectorConfig } from '../../schemas/config/modbus.js'
import type { BatchSink } from '../sink.js'
import { resolveModbusConfig } from './config.js'
import { GatewayConnection } from './connection.js'
import { GatewayQueue } from './gateway-queue.js'
import { DevicePoller, emptyStats, type ModbusStats } from './poll.js'

export { loadModbusConfig } from './config.js'
export type { ModbusStats } from './poll.js'

export interface ModbusCollectorDeps {
  sink: BatchSink
  log: Logger
  /** Source clock for point timestamps, µs since the Unix epoch. Default: the system clock at µs resolution. */
  now?: () => number
}

export interface ModbusCollector {
  start (): Promise<void>
  /** Stop polling, fail queued requests, close connections; resolves when no poll is running. */
  stop (): Promise<void>
  /** Live counters. */
  readonly stats: Readonly<ModbusStats>
}

const systemClockUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000)

/** Throws ConfigInvalid (naming option and device) before anything connects. */
export function createModbusCollector (cfg: ModbusCollectorConfig, deps: ModbusCollectorDeps): ModbusCollector {
  const devices = resolveModbusConfig(cfg)
  const stats = emptyStats()
  const gateways = new Map<string, { conn: GatewayConnection, queue: GatewayQueue }>()
  const pollers = devices.map(d => {
    let g = gateways.get(d.gateway.key)
    if (g === undefined) {
      g = { conn: new GatewayConnection(d.gateway), queue: new GatewayQueue(d.gateway.key) }
      gateways.set(d.gateway.key, g)
    }
    return new DevicePoller(d, g.conn, g.queue, { sink: deps.sink, log: deps.log, nowUs: deps.now ?? systemClockUs, stats })
  })
  const abort = new AbortController()
  // Every device loop sleeps on this signal at once: one listener per device is expected, not a leak.
  setMaxListeners(pollers.length + 10, abort.signal)
  const loops: Array<Promise<void>> = []
  let started = false

  async function loop (p: DevicePoller, offsetMs: number): Promise<void> {
    const interval = p.device.cfg.pollIntervalMs
    let next = performance.now() + offsetMs
    while (!abort.signal.aborted) {
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait, undefined, { signal: abort.signal }).catch(() => {})
      if (abort.signal.aborted) break
      await p.poll()
      next += interval
      // Fixed rate, no drift; a poll that outlasts its interval skips the ticks it missed
      // instead of firing them back to back.
      const behind = performance.now() - next
      if (behind > 0) {
        const missed = Math.ceil(behind / interval)
        stats.overruns += missed
        next += missed * interval
      }
    }
  }

  return {
    stats,
    async start () {
      if (started) return
      started = true
      // Stagger first polls evenly over each device's interval, so a pad of devices on one
      // interval does not hit every gateway in the same millisecond.
      pollers.forEach((p, i) => {
        const offset = (p.device.cfg.pollIntervalMs * i) / pollers.length
        loops.push(loop(p, offset).catch(err => deps.log.error(`modbus device ${p.device.cfg.name}: poll loop ended: ${(err as Error).stack ?? String(err)}`)))
      })
    },
    async stop () {
      abort.abort()
      for (const p of pollers) p.stop()
      for (const { queue, conn } of gateways.values()) {
        queue.close()
        conn.close('collector stopping')
      }
      await Promise.all(loops)
    },
  }
}
