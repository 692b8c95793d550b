// `fieldstream bench modbus`: how many points per second the Modbus collector takes from a pad
// of simulated devices over real loopback sockets. The simulator runs in a worker thread (this
// same file) so the collector's event loop has a core to itself, as it would in the field.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createModbusCollector } from '../../ingest/modbus/index.js'
import type { BatchSink } from '../../ingest/sink.js'
import type { ModbusCollectorConfig } from '../../schemas/config/modbus.js'
import type { PointBatch } from '../../schemas/points.js'
import { startModbusPad } from '../../sim/modbus/index.js'
import { median, printResult } from '../machine.js'

export interface ModbusBenchOptions {
  /** Simulated devices (multi-channel RTUs, one TCP port each). Default 200. */
  devices: number
  /** Registers per device, read as uint16 points in one request (at most 125). Default 120. */
  channels: number
  /** Poll interval of every device, ms. Default 20: more than the collector can take, so the result is its ceiling (see overruns_per_sec). */
  pollIntervalMs: number
  /** Measured seconds per run. Default 10. */
  seconds: number
  /** Runs; medians are reported. Default 3. */
  runs: number
  /** Unmeasured seconds before each run (connections, JIT). Default 2. */
  warmupSeconds: number
  /** First port of the simulated devices. Default 15100. */
  basePort: number
}

export const DEFAULT_MODBUS_BENCH: ModbusBenchOptions = { devices: 200, channels: 120, pollIntervalMs: 20, seconds: 10, runs: 3, warmupSeconds: 2, basePort: 15100 }

interface SimReady { collectorConfig: ModbusCollectorConfig }

/** Counts points; no Kafka. */
class CountingSink implements BatchSink {
  points = 0
  batches = 0
  async write (batch: PointBatch): Promise<void> {
    this.points += batch.tagIndex.length
    this.batches++
  }

  async close (): Promise<void> {}
}

const nullLog = { debug () {}, info () {}, warn () {}, error (m: string) { process.stderr.write(`${m}\n`) } }
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export async function runModbusBench (opts: Partial<ModbusBenchOptions> = {}): Promise<void> {
  const o = { ...DEFAULT_MODBUS_BENCH, ...opts }
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'modbus-sim', o } })
  try {
    const ready = await new Promise<SimReady>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
      worker.once('exit', code => reject(new Error(`simulator worker exited with code ${code}`)))
    })
    const runs: Array<{ requests_per_sec: number, points_per_sec: number, polls_failed: number, overruns: number }> = []
    for (let run = 0; run < o.runs; run++) {
      const sink = new CountingSink()
      const collector = createModbusCollector(ready.collectorConfig, { sink, log: nullLog })
      await collector.start()
      await sleep(o.warmupSeconds * 1000)
      const s0 = { ...collector.stats, points: sink.points }
      const t0 = performance.now()
      await sleep(o.seconds * 1000)
      const s1 = { ...collector.stats, points: sink.points }
      const secs = (performance.now() - t0) / 1000
      await collector.stop()
      runs.push({
        requests_per_sec: Math.round((s1.requests - s0.requests) / secs),
        points_per_sec: Math.round((s1.points - s0.points) / secs),
        polls_failed: s1.pollsFailed - s0.pollsFailed,
        overruns: s1.overruns - s0.overruns,
      })
    }
    const offered = (o.devices * o.channels * 1000) / o.pollIntervalMs
    printResult({
      bench: 'modbus',
      devices: o.devices,
      points_per_request: o.channels,
      poll_interval_ms: o.pollIntervalMs,
      offered_points_per_sec: Math.round(offered),
      requests_per_sec: median(runs.map(r => r.requests_per_sec)),
      points_per_sec: median(runs.map(r => r.points_per_sec)),
      polls_failed: median(runs.map(r => r.polls_failed)),
      overruns_per_sec: Number((median(runs.map(r => r.overruns)) / o.seconds).toFixed(1)),
      runs: runs.map(r => r.points_per_sec),
      seconds: o.seconds,
    })
  } finally {
    await worker.terminate()
  }
}

async function simulatorWorker (o: ModbusBenchOptions): Promise<void> {
  const pad = await startModbusPad({
    pumps: 0, tanks: 0, flowMeters: 0, rtus: o.devices, rtuChannels: o.channels, basePort: o.basePort, pollIntervalMs: o.pollIntervalMs, timeoutMs: 1000,
  })
  parentPort!.postMessage({ collectorConfig: pad.collectorConfig } satisfies SimReady)
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === 'modbus-sim') {
  await simulatorWorker((workerData as { o: ModbusBenchOptions }).o)
}
