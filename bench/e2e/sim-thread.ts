// The simulators of `bench e2e`'s field process, each in its own worker thread so the
// collectors (on the process's main thread) are not starved by them, as in the field the
// devices are other machines: the Modbus pad (sim/modbus) with the ledger counting what it
// answers, and the Sparkplug B edge nodes (sim/sparkplug/edge.ts) with their rounds driven
// on a fixed schedule. Messages in and out are the small types below.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import type { ModbusCollectorConfig } from '../../schemas/config/modbus.js'
import { startModbusPad, type ModbusPadOptions } from '../../sim/modbus/index.js'
import { startSparkplugEdge, type SparkplugEdgeOptions, type SparkplugEdgeStats } from '../../sim/sparkplug/edge.js'
import { ModbusLedger } from './ledger.js'

export type SimJob =
  | { role: 'modbus', pad: ModbusPadOptions }
  | { role: 'sparkplug', edge: SparkplugEdgeOptions }

/** Thread -> process. */
export type SimEvent =
  | { type: 'ready', collectorConfig?: ModbusCollectorConfig }
  | { type: 'progress', points: number }
  | { type: 'born' }
  | { type: 'rounds-done', rounds: number, late: number, stats: SparkplugEdgeStats }
  | { type: 'silenced', sent: Record<string, number>, points: number }
  | { type: 'closed' }

/** Process -> thread. */
export type SimCommand =
  | { type: 'rounds', seconds: number, tickMs: number }
  | { type: 'silence', completedPolls?: boolean }
  | { type: 'close' }

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export function startSimThread (job: SimJob, onEvent: (e: SimEvent) => void): Worker {
  const w = new Worker(new URL(import.meta.url), { workerData: job })
  w.on('message', onEvent)
  return w
}

async function modbusThread (job: Extract<SimJob, { role: 'modbus' }>): Promise<void> {
  const ledger = new ModbusLedger()
  ledger.install()
  const pad = await startModbusPad(job.pad)
  const post = (e: SimEvent): void => parentPort!.postMessage(e)
  post({ type: 'ready', collectorConfig: pad.collectorConfig })
  const progress = setInterval(() => post({ type: 'progress', points: ledger.points }), 1000)
  parentPort!.on('message', (c: SimCommand) => {
    if (c.type === 'silence') {
      // The devices fall silent (a dropout: no reply at all) and the counts freeze: every read
      // answered so far is on its way to the collector, none is answered later.
      for (const d of pad.devices) pad.inject({ device: d.name, kind: 'dropout', durationMs: 600_000 })
      ledger.stop()
      clearInterval(progress)
      post({ type: 'silenced', sent: Object.fromEntries(ledger.perTag({ completedPolls: c.completedPolls })), points: ledger.points })
    } else if (c.type === 'close') {
      void pad.close().then(() => { post({ type: 'closed' }); parentPort!.close() })
    }
  })
}

async function sparkplugThread (job: Extract<SimJob, { role: 'sparkplug' }>): Promise<void> {
  const edge = await startSparkplugEdge(job.edge)
  const post = (e: SimEvent): void => parentPort!.postMessage(e)
  post({ type: 'ready' })
  const progress = setInterval(() => post({ type: 'progress', points: edge.stats.metricsPublished + edge.stats.stored }), 1000)
  parentPort!.on('message', (c: SimCommand) => {
    if (c.type === 'rounds') {
      void (async () => {
        // Nodes birth once the collector's primary host is online; rounds start after that,
        // so every round reaches a born session.
        const deadline = Date.now() + 60_000
        while (edge.stats.births < job.edge.nodes && Date.now() < deadline) await sleep(20)
        post({ type: 'born' })
        await sleep(Math.max(c.tickMs, 100)) // no round shares a millisecond with the births
        const until = Date.now() + c.seconds * 1000
        let rounds = 0
        let late = 0
        // Rounds on a fixed schedule; when they fall more than a round behind, the schedule
        // restarts from now (counted as late) rather than bursting to catch up.
        let next = Date.now()
        let lastEnded = 0
        while (Date.now() < until) {
          const wait = next - Date.now()
          if (wait > 0) await sleep(wait)
          else if (wait < -c.tickMs) { late++; next = Date.now() }
          // Each node stamps its round with Date.now() (ms): a late round started in the
          // millisecond the previous one ended could give a metric two values at one timestamp,
          // which the store (and the count) would see as one point doubled and one lost. The
          // ledger counts one point per metric per round, so each round starts in a later ms.
          while (Date.now() <= lastEnded) await sleep(1)
          await edge.tick()
          lastEnded = Date.now()
          rounds++
          next += c.tickMs
        }
        post({ type: 'rounds-done', rounds, late, stats: { ...edge.stats } })
      })()
    } else if (c.type === 'close') {
      clearInterval(progress)
      void edge.stop().then(() => { post({ type: 'closed' }); parentPort!.close() })
    }
  })
}

if (!isMainThread && (workerData as SimJob | null)?.role === 'modbus') await modbusThread(workerData as Extract<SimJob, { role: 'modbus' }>)
if (!isMainThread && (workerData as SimJob | null)?.role === 'sparkplug') await sparkplugThread(workerData as Extract<SimJob, { role: 'sparkplug' }>)
