// MQTT collector throughput: Sparkplug B and JSON publishers (batched payloads, many metrics
// per message, pre-encoded with Tahu's codec / JSON.stringify) in a worker thread, through
// Mosquitto, into the collector with a sink that counts points. One JSON line per call.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import mqtt, { type MqttClient } from 'mqtt'
import sparkplug from 'sparkplug-payload'
import { createMqttCollector } from '../../ingest/mqtt/index.js'
import type { BatchSink } from '../../ingest/sink.js'
import { createLogger } from '../../common/log.js'
import { Ajv } from 'ajv'
import { Type } from '@sinclair/typebox'
import { MqttCollectorSchema, type MqttCollectorConfig } from '../../schemas/config/mqtt-collector.js'
import type { PointBatch } from '../../schemas/points.js'
import { deviceTopic, nodeTopic } from '../../schemas/sparkplug/topic.js'
import { median, printResult } from '../machine.js'

export interface MqttBenchOptions {
  /** Broker. Default mqtt://127.0.0.1:1883. */
  url?: string
  /** Measured seconds per run. Default 5. */
  seconds?: number
  runs?: number
  /** Sparkplug edge nodes (one connection each, one device each). Default 4. */
  sparkplugNodes?: number
  /** JSON publisher connections. Default 2. */
  jsonPublishers?: number
  /** Metrics (points) per message. Default 500. */
  metricsPerMessage?: number
  /**
   * Offered load, points/s, spread evenly over the publishers. MQTT has no end-to-end flow
   * control (a PUBACK comes from the broker, not the subscriber) and Mosquitto drops QoS 0
   * messages for a subscriber that falls behind, so publishers are paced: the result is the
   * delivered rate at this offered rate. Default 600000.
   */
  offeredPointsPerSec?: number
}

interface PublisherJob { url: string, group: string, jsonPrefix: string, nodes: number, json: number, metrics: number, seconds: number, messagesPerSecEach: number }

const tahu = sparkplug.get('spBv1.0')!

/** Send `send()` at `perSec` messages per second until `until`, catching up in 5 ms steps. */
async function paced (perSec: number, until: number, send: () => Promise<unknown>): Promise<void> {
  const start = Date.now()
  let sent = 0
  for (let now = start; now < until; now = Date.now()) {
    const due = Math.floor((now - start) / 1000 * perSec)
    const burst: Promise<unknown>[] = []
    for (; sent < due; sent++) burst.push(send())
    await Promise.all(burst)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** Worker side: publish pre-encoded payloads at the offered rate. */
async function publish (job: PublisherJob): Promise<void> {
  const t0 = Date.now()
  const names = Array.from({ length: job.metrics }, (_, i) => `m${i}`)
  const dbirth = Buffer.from(tahu.encodePayload({ timestamp: t0, seq: 1, metrics: names.map((name, i) => ({ name, alias: i + 10, type: 'Double', value: 0 })) }))
  // seq 2..255, 0, 1 follow the birth's 0 (NBIRTH) and 1 (DBIRTH): a ring of 256 payloads.
  const ring = Array.from({ length: 256 }, (_, s) => Buffer.from(tahu.encodePayload({ timestamp: t0 + s, seq: s, metrics: names.map((_, i) => ({ alias: i + 10, type: 'Double', value: s + i / 1000 })) })))
  const jsonPayload = Buffer.from(JSON.stringify({ points: names.map((name, i) => ({ name, v: i, t: t0 })) }))
  const clients: MqttClient[] = []
  const loops: Promise<void>[] = []
  const until = Date.now() + job.seconds * 1000
  for (let n = 0; n < job.nodes; n++) {
    const node = `n${n}`
    const c = await mqtt.connectAsync(job.url, { protocolVersion: 5 })
    clients.push(c)
    await c.publishAsync(nodeTopic(job.group, 'NBIRTH', node), Buffer.from(tahu.encodePayload({ timestamp: t0, seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] })))
    await c.publishAsync(deviceTopic(job.group, 'DBIRTH', node, 'd'), dbirth)
  }
  // Births of every node first: under full load the broker may drop QoS 0 messages to a slow subscriber.
  clients.forEach((c, n) => {
    const topic = deviceTopic(job.group, 'DDATA', `n${n}`, 'd')
    let s = 2
    loops.push(paced(job.messagesPerSecEach, until, () => c.publishAsync(topic, ring[s++ % 256]!, { qos: 0 })))
  })
  for (let j = 0; j < job.json; j++) {
    const c = await mqtt.connectAsync(job.url, { protocolVersion: 5 })
    clients.push(c)
    const topic = `${job.jsonPrefix}/pad${j}/rtu/telemetry`
    loops.push(paced(job.messagesPerSecEach, until, () => c.publishAsync(topic, jsonPayload, { qos: 1 })))
  }
  parentPort!.postMessage('started')
  await Promise.all(loops)
  await Promise.all(clients.map(c => c.endAsync()))
}

class CountingSink implements BatchSink {
  points = 0
  sparkplugPoints = 0
  constructor (readonly sparkplugGroup: string) {}
  async write (batch: PointBatch): Promise<void> {
    this.points += batch.tagIndex.length
    if (batch.source.startsWith(`${this.sparkplugGroup}/`)) this.sparkplugPoints += batch.tagIndex.length
  }
  async close (): Promise<void> {}
}

async function runOnce (opts: Required<MqttBenchOptions>, run: number): Promise<{ rate: number, sparkplug: number, json: number }> {
  const tag = `${process.pid}x${run}x${Date.now().toString(36)}`
  const group = `bench${tag}`
  const jsonPrefix = `benchjson${tag}`
  const raw = {
    mqtt: {
      enabled: true, clientId: `bench-${tag}`, flushIntervalMs: 50, maxBatchPoints: 20_000, maxInFlight: 256,
      subscriptions: opts.jsonPublishers === 0 ? [] : [{ topic: `${jsonPrefix}/+/+/telemetry`, tag: '{1}/{2}/{key}', source: '{1}/{2}', payload: { points: 'points', key: 'name', value: 'v', timestamp: 't' } }],
      sparkplug: { enabled: opts.sparkplugNodes > 0, hostId: `bench-${tag}`, groupIds: [group], rebirthMinIntervalMs: 60_000 },
    },
  }
  const validate = new Ajv({ useDefaults: true, allowUnionTypes: true }).compile(Type.Object({ mqtt: MqttCollectorSchema }))
  if (!validate(raw)) throw new Error(JSON.stringify(validate.errors))
  const sink = new CountingSink(group)
  const collector = createMqttCollector(raw.mqtt as MqttCollectorConfig, { sink, log: createLogger('bench-mqtt'), mqttUrl: opts.url })
  await collector.start()
  const publishers = opts.sparkplugNodes + opts.jsonPublishers
  const messagesPerSecEach = opts.offeredPointsPerSec / opts.metricsPerMessage / publishers
  const job: PublisherJob = { url: opts.url, group, jsonPrefix, nodes: opts.sparkplugNodes, json: opts.jsonPublishers, metrics: opts.metricsPerMessage, seconds: opts.seconds + 1, messagesPerSecEach }
  const worker = new Worker(new URL(import.meta.url), { workerData: job })
  const exited = new Promise<void>(resolve => worker.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => { worker.once('message', () => resolve()); worker.once('error', reject) })
  // One second of warm-up (births, JIT), then the measured window.
  await new Promise(resolve => setTimeout(resolve, 1000))
  const p0 = sink.points
  const sp0 = sink.sparkplugPoints
  const t0 = performance.now()
  await new Promise(resolve => setTimeout(resolve, opts.seconds * 1000))
  const elapsed = (performance.now() - t0) / 1000
  const points = sink.points - p0
  const sp = sink.sparkplugPoints - sp0
  await exited
  await collector.stop()
  return { rate: points / elapsed, sparkplug: sp / elapsed, json: (points - sp) / elapsed }
}

export async function runMqttBench (options: MqttBenchOptions = {}): Promise<void> {
  const opts: Required<MqttBenchOptions> = {
    url: options.url ?? process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    seconds: options.seconds ?? 5,
    runs: options.runs ?? 3,
    sparkplugNodes: options.sparkplugNodes ?? 4,
    jsonPublishers: options.jsonPublishers ?? 2,
    metricsPerMessage: options.metricsPerMessage ?? 500,
    offeredPointsPerSec: options.offeredPointsPerSec ?? 600_000,
  }
  const runs = []
  for (let i = 0; i < opts.runs; i++) runs.push(await runOnce(opts, i))
  printResult({
    bench: 'mqtt',
    points_per_sec: Math.round(median(runs.map(r => r.rate))),
    sparkplug_points_per_sec: Math.round(median(runs.map(r => r.sparkplug))),
    json_points_per_sec: Math.round(median(runs.map(r => r.json))),
    runs: runs.map(r => Math.round(r.rate)),
    seconds: opts.seconds,
    sparkplug_nodes: opts.sparkplugNodes,
    json_publishers: opts.jsonPublishers,
    metrics_per_message: opts.metricsPerMessage,
    offered_points_per_sec: opts.offeredPointsPerSec,
  })
}

if (!isMainThread) await publish(workerData as PublisherJob)
