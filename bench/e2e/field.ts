// The field side of `bench e2e`, run as its own process so the measuring process keeps its
// event loop: the simulated field (the Modbus TCP pad and Sparkplug B edge nodes of the config's
// `sim` section, as sim/field.ts makes them, each simulator on its own thread: sim-thread.ts)
// and the collectors reading it, as `fieldstream collect` wires them (ingest/collect.ts), or,
// for the naive baseline, the same collectors feeding a JSON-per-point kafkajs sink (naive.ts).
//
// Usage (by e2e.bench.ts): node field.js <job.json>. Prints one JSON progress line per second
// on stdout ({"t": ms, "sent": points}) and writes the per-tag ledger to job.ledgerFile at the end.
import { writeFileSync, readFileSync } from 'node:fs'
import type { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { createLogger } from '../../common/log.js'
import { startCollectors } from '../../ingest/collect.js'
import { createModbusCollector } from '../../ingest/modbus/index.js'
import { createMqttCollector } from '../../ingest/mqtt/index.js'
import { loadConfig } from '../../schemas/config/load.js'
import type { Config } from '../../schemas/config/schema.js'
import { sparkplugTags } from './ledger.js'
import { createNaiveSink } from './naive.js'
import { startSimThread, type SimCommand, type SimEvent, type SimJob } from './sim-thread.js'

export interface FieldJob {
  /** `pipeline`: collectors -> KafkaSink (the project's path); `naive`: collectors -> naive JSON sink. */
  mode: 'pipeline' | 'naive'
  /** fieldstream config file (sim, collectors, kafka sections). */
  configFile: string
  /** Seconds the field sends for. */
  seconds: number
  /** Sparkplug round period, ms (the bench drives the rounds, see ledger.ts). */
  tickMs: number
  ledgerFile: string
  /** naive mode: the topic the JSON messages go to. */
  naiveTopic?: string
}

export interface FieldLedger {
  /** Points the simulator sent, per tag. */
  sent: Record<string, number>
  sparkplugRounds: number
  /** Rounds that started late because the previous one had not finished (offered load below plan). */
  sparkplugLateRounds: number
  edge: { births: number, dataMessages: number, metricsPublished: number, rebirthsHonored: number, stored: number, replayed: number } | undefined
  modbus: { answeredPoints: number, polls: number, pollsFailed: number, overruns: number, collectorPoints: number, retries: number, requestsFailed: number } | undefined
  sink: { sentDirect: number, spooled: number, pendingBatches: number, sendFailures: number } | undefined
  mqtt: { pointsWritten: number, pointsShed: number } | undefined
  startedAt: number
  stoppedAt: number
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** A simulator thread and the events it sent, awaitable by type. */
class SimHandle {
  readonly worker: Worker
  points = 0
  readonly #waiting = new Map<SimEvent['type'], (e: SimEvent) => void>()
  readonly #seen = new Map<SimEvent['type'], SimEvent>()
  constructor (job: SimJob) {
    this.worker = startSimThread(job, e => {
      if (e.type === 'progress') { this.points = e.points; return }
      this.#seen.set(e.type, e)
      this.#waiting.get(e.type)?.(e)
    })
    this.worker.on('error', err => { process.stderr.write(`e2e field: ${job.role} simulator thread failed: ${err.stack ?? err.message}\n`); process.exit(1) })
  }

  next<T extends SimEvent['type']> (type: T): Promise<Extract<SimEvent, { type: T }>> {
    const seen = this.#seen.get(type)
    if (seen !== undefined) return Promise.resolve(seen as Extract<SimEvent, { type: T }>)
    return new Promise(resolve => this.#waiting.set(type, e => resolve(e as Extract<SimEvent, { type: T }>)))
  }

  send (c: SimCommand): void { this.worker.postMessage(c) }
}

export async function runField (job: FieldJob): Promise<void> {
  const cfg = loadConfig({ file: job.configFile, env: {} })
  const log = createLogger('e2e-field')
  // The field as sim/field.ts builds it (same devices, same collector config), but each
  // simulator on its own thread.
  const m = cfg.sim.modbus
  const s = cfg.sim.sparkplug
  const hostId = cfg.collectors.mqtt.sparkplug.hostId
  const modbusSim = m.pumps + m.tanks + m.flowMeters + m.rtus > 0
    ? new SimHandle({ role: 'modbus', pad: { pumps: m.pumps, tanks: m.tanks, flowMeters: m.flowMeters, rtus: m.rtus, rtuChannels: m.rtuChannels, pollIntervalMs: m.pollIntervalMs, basePort: m.basePort } })
    : undefined
  const edgeSim = s.nodes > 0
    ? new SimHandle({ role: 'sparkplug', edge: { url: cfg.mqtt.url, groupId: s.groupId, nodes: s.nodes, devicesPerNode: s.devicesPerNode, metricsPerDevice: s.metricsPerDevice, intervalMs: s.intervalMs, primaryHostId: hostId } })
    : undefined
  const modbusReady = await modbusSim?.next('ready')
  await edgeSim?.next('ready')
  const collectorConfig: Readonly<Config> = {
    ...cfg,
    collectors: {
      ...cfg.collectors,
      // One request per poll (no retries), so the ledger's count of answered reads is the count
      // of readings: with retries, a reply that came after its timeout and the retry's reply
      // would both be counted for the one reading the poll keeps.
      modbus: modbusReady?.collectorConfig === undefined ? cfg.collectors.modbus : { ...modbusReady.collectorConfig, devices: modbusReady.collectorConfig.devices.map(d => ({ ...d, retries: 0 })) },
      mqtt: edgeSim === undefined ? cfg.collectors.mqtt : { ...cfg.collectors.mqtt, enabled: true, sparkplug: { ...cfg.collectors.mqtt.sparkplug, enabled: true } },
    },
  }

  let stopCollectors: () => Promise<void>
  let stats: () => Pick<FieldLedger, 'modbus' | 'sink' | 'mqtt'>
  if (job.mode === 'pipeline') {
    const collectors = await startCollectors(collectorConfig, { log })
    stopCollectors = async () => {
      await Promise.allSettled([collectors.modbus?.stop(), collectors.mqtt?.stop()])
      // Batches the sink spooled while Kafka was slow would stay on disk for the next start
      // (ingest/kafka): for the count, wait until the sink has sent them (2 minutes at most).
      const deadline = Date.now() + 120_000
      while (collectors.sink.stats.spool.pendingBatches > 0 && Date.now() < deadline) await sleep(200)
      if (collectors.sink.stats.spool.pendingBatches > 0) log.warn(`${collectors.sink.stats.spool.pendingBatches} batches still in the spool after 2 minutes; they count as lost`)
      await collectors.sink.close()
    }
    stats = () => ({
      modbus: collectors.modbus === undefined ? undefined : { answeredPoints: modbusSim?.points ?? 0, polls: collectors.modbus.stats.polls, pollsFailed: collectors.modbus.stats.pollsFailed, overruns: collectors.modbus.stats.overruns, collectorPoints: collectors.modbus.stats.points, retries: collectors.modbus.stats.retries, requestsFailed: collectors.modbus.stats.requestsFailed },
      sink: { sentDirect: collectors.sink.stats.sentDirect, spooled: collectors.sink.stats.spooled, pendingBatches: collectors.sink.stats.spool.pendingBatches, sendFailures: collectors.sink.stats.sendFailures },
      mqtt: collectors.mqtt === undefined ? undefined : { pointsWritten: collectors.mqtt.stats.batches.pointsWritten, pointsShed: collectors.mqtt.stats.batches.pointsShed },
    })
  } else {
    const sink = await createNaiveSink({ brokers: cfg.kafka.brokers, topic: job.naiveTopic ?? 'naive' })
    const modbus = modbusSim === undefined ? undefined : createModbusCollector(collectorConfig.collectors.modbus, { sink, log })
    const mqtt = edgeSim === undefined ? undefined : createMqttCollector(collectorConfig.collectors.mqtt, { sink, log, mqttUrl: cfg.mqtt.url })
    await modbus?.start()
    await mqtt?.start()
    stopCollectors = async () => {
      await Promise.allSettled([modbus?.stop(), mqtt?.stop()])
      await sink.close()
    }
    stats = () => ({
      modbus: modbus === undefined ? undefined : { answeredPoints: modbusSim?.points ?? 0, polls: modbus.stats.polls, pollsFailed: modbus.stats.pollsFailed, overruns: modbus.stats.overruns, collectorPoints: modbus.stats.points, retries: modbus.stats.retries, requestsFailed: modbus.stats.requestsFailed },
      sink: undefined,
      mqtt: mqtt === undefined ? undefined : { pointsWritten: mqtt.stats.batches.pointsWritten, pointsShed: mqtt.stats.batches.pointsShed },
    })
  }

  edgeSim?.send({ type: 'rounds', seconds: job.seconds, tickMs: job.tickMs })
  await edgeSim?.next('born')
  const startedAt = Date.now()
  const progress = setInterval(() => {
    process.stdout.write(JSON.stringify({ t: Date.now(), sent: (modbusSim?.points ?? 0) + (edgeSim?.points ?? 0) }) + '\n')
  }, 1000)
  const rounds = edgeSim === undefined ? undefined : await edgeSim.next('rounds-done')
  if (rounds === undefined) await sleep(job.seconds * 1000)
  const stoppedAt = Date.now()
  // Let the broker deliver the last rounds while the Modbus devices still answer; then the
  // devices fall silent and the collectors stop.
  await sleep(1500)
  modbusSim?.send({ type: 'silence' })
  const modbusLedger = await modbusSim?.next('silenced')
  // Replies already sent reach the collector; a poll started after the silence cannot time
  // out (1000 ms) before the collectors stop. A poll still in flight at the stop is dropped by
  // the collector, so a reply delayed beyond this by a starved event loop counts as lost.
  await sleep(900)
  clearInterval(progress)
  const snapshot = stats()
  await stopCollectors()
  const sinkAfter = stats().sink
  modbusSim?.send({ type: 'close' })
  edgeSim?.send({ type: 'close' })
  await Promise.all([modbusSim?.next('closed'), edgeSim?.next('closed')])

  const sent = new Map(Object.entries(modbusLedger?.sent ?? {}))
  if (rounds !== undefined) {
    // Each node was born once (rebirths are reported, not assumed), then every round.
    const spTags = sparkplugTags({ groupId: s.groupId, nodes: s.nodes, devicesPerNode: s.devicesPerNode, metricsPerDevice: s.metricsPerDevice })
    for (const tag of spTags) sent.set(tag, rounds.rounds + 1)
    if (rounds.stats.metricsPublished + rounds.stats.stored !== rounds.rounds * spTags.length) log.warn(`edge counters (${rounds.stats.metricsPublished} published + ${rounds.stats.stored} stored) differ from ${rounds.rounds} rounds x ${spTags.length} tags`)
  }
  const out: FieldLedger = {
    sent: Object.fromEntries(sent),
    sparkplugRounds: rounds?.rounds ?? 0,
    sparkplugLateRounds: rounds?.late ?? 0,
    edge: rounds?.stats,
    ...snapshot,
    sink: sinkAfter ?? snapshot.sink,
    startedAt,
    stoppedAt,
  }
  writeFileSync(job.ledgerFile, JSON.stringify(out))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FieldJob
  runField(job).then(() => process.exit(0), (err: Error) => {
    process.stderr.write(`e2e field: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
