// `fieldstream bench kafka`: produce and consume rates of point batches through the local
// broker for three Kafka clients, to choose the project's one client by measurement.
//
// All clients get the same framed PointBatch values (1,000 points, ~24 KB, keyed by device),
// each run a fresh 6-partition topic per client, and the clients take turns in a rotating
// order so machine noise does not favour one. Produce time runs from the first send to the
// last acknowledgement (acks=all). Consume time runs from subscribing (a new consumer group,
// from earliest) to the last value in hand, so it includes the group join; the time to the
// first value is reported beside it. Medians over the runs, after one untimed warm-up per client.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Admin } from '@platformatic/kafka'
import { createAdmin, ensureTopics } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import { batchFromPoints, type Point } from '../../schemas/points.js'
import { decodeBatch, encodeBatch } from '../../schemas/wire/codec.js'
import { median, printResult } from '../machine.js'
import { CLIENT_FACTORIES, CLIENT_NAMES, type BenchClient, type BenchMessage, type ClientName } from './clients/index.js'
import { ensureBenchClients, isInstalled } from './install.js'

export interface KafkaBenchOptions {
  /** Clients compared. Default all three. */
  clients: ClientName[]
  /** Batches produced and consumed per client and run. Default 2,000 (2 M points). */
  batches: number
  /** Points per batch. Default 1,000. */
  batchPoints: number
  /** Timed runs; medians are reported. Default 3. */
  runs: number
  /** Partitions of each bench topic. Default 6. */
  partitions: number
  /** Messages per send() for the clients that send arrays. Default 100. */
  sendBatches: number
  /** Also time a second consumer group that decodes every value. Default false. */
  decode: boolean
  /** Install kafkajs and node-rdkafka into bench/kafka/node_modules when missing. Default true. */
  install: boolean
}

export const DEFAULT_KAFKA_BENCH: KafkaBenchOptions = {
  clients: [...CLIENT_NAMES], batches: 2_000, batchPoints: 1_000, runs: 3, partitions: 6, sendBatches: 100, decode: false, install: true,
}

const DEVICES = 50
const TAGS_PER_DEVICE = 50
const T0_US = Date.UTC(2026, 9, 1) * 1000

/** One device's flush: its tags sampled once a second, as a collector sends them. */
function deviceBatch (device: number, round: number, batchPoints: number): Buffer {
  const samples = Math.ceil(batchPoints / TAGS_PER_DEVICE)
  const points: Point[] = []
  for (let s = 0; s < samples && points.length < batchPoints; s++) {
    const second = round * samples + s
    for (let k = 0; k < TAGS_PER_DEVICE && points.length < batchPoints; k++) {
      points.push({ tag: `bench/dev${device}/tag${k}`, timeUs: T0_US + second * 1_000_000, value: 100 + 50 * Math.sin(second / 600 + k) + ((second * 7 + k) % 13) / 10, quality: k === 3 && s % 10 === 0 ? 0x18 : 0xc0 })
    }
  }
  return encodeBatch(batchFromPoints(`dev${device}`, round + 1, points))
}

/** Distinct batches (no repeated values for lz4 to find), interleaved across devices. */
export function benchMessages (batches: number, batchPoints: number): BenchMessage[] {
  return Array.from({ length: batches }, (_, i) => ({ key: `dev${i % DEVICES}`, value: deviceBatch(i % DEVICES, Math.floor(i / DEVICES), batchPoints) }))
}

export interface RunFigures {
  produce_points_per_sec: number
  produce_mb_per_sec: number
  consume_points_per_sec: number
  consume_mb_per_sec: number
  /** Subscribe to first value in hand: group join plus first fetch, ms. */
  consume_first_value_ms: number
  consume_decode_points_per_sec?: number
}

/**
 * Wait until every partition of a new topic has a leader, then a little longer: the first
 * send to a topic created a moment ago meets NOT_LEADER_OR_FOLLOWER and waits out a retry
 * backoff (about 1 s with @platformatic/kafka), which would be timed as produce.
 */
async function topicReady (admin: Admin, topic: string, partitions: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined)
    const parts = meta?.topics.get(topic)?.partitions ?? []
    if (parts.length === partitions && parts.every(p => p.leader >= 0)) break
    await sleep(100)
  }
  await sleep(1_000)
}

function withTimeout<T> (work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms) })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

async function timedConsume (client: BenchClient, topic: string, groupId: string, count: number, onValue: (v: Buffer) => void, limitMs: number): Promise<{ firstMs: number, totalS: number }> {
  const consumer = await client.openConsumer(topic, groupId)
  const start = process.hrtime.bigint()
  let first = 0n
  let last = 0n
  try {
    await withTimeout(consumer.readAll(count, v => {
      if (first === 0n) first = process.hrtime.bigint()
      onValue(v)
      last = process.hrtime.bigint()
    }), limitMs, `${client.name}: consuming ${count} batches from ${topic}`)
  } finally {
    await consumer.close().catch(() => undefined)
  }
  return { firstMs: Number(first - start) / 1e6, totalS: Number(last - start) / 1e9 }
}

async function runOnce (client: BenchClient, messages: readonly BenchMessage[], o: KafkaBenchOptions, topic: string, log: (l: string) => void): Promise<RunFigures> {
  const points = messages.length * o.batchPoints
  const mb = messages.reduce((sum, m) => sum + m.value.length, 0) / 1e6
  const limitMs = Math.max(120_000, messages.length * 100)

  const producer = await client.openProducer(topic)
  const t0 = process.hrtime.bigint()
  try {
    await withTimeout(producer.sendAll(topic, messages), limitMs, `${client.name}: producing ${messages.length} batches to ${topic}`)
  } finally {
    await producer.close().catch(() => undefined)
  }
  const produceS = Number(process.hrtime.bigint() - t0) / 1e9

  let bytes = 0
  const read = await timedConsume(client, topic, `${topic}.read`, messages.length, v => { bytes += v.length }, limitMs)
  if (Math.abs(bytes / 1e6 - mb) > 1e-6) throw new Error(`${client.name}: read ${bytes} bytes back, produced ${Math.round(mb * 1e6)}`)
  const figures: RunFigures = {
    produce_points_per_sec: Math.round(points / produceS),
    produce_mb_per_sec: Number((mb / produceS).toFixed(1)),
    consume_points_per_sec: Math.round(points / read.totalS),
    consume_mb_per_sec: Number((mb / read.totalS).toFixed(1)),
    consume_first_value_ms: Math.round(read.firstMs),
  }
  if (o.decode) {
    let decoded = 0
    const dec = await timedConsume(client, topic, `${topic}.decode`, messages.length, v => { decoded += decodeBatch(v).tagIndex.length }, limitMs)
    if (decoded !== points) throw new Error(`${client.name}: decoded ${decoded} points, produced ${points}`)
    figures.consume_decode_points_per_sec = Math.round(points / dec.totalS)
  }
  log(`bench kafka: ${client.name}: ${JSON.stringify(figures)}`)
  return figures
}

type ClientResult = Record<string, unknown>

function summarize (client: BenchClient, runs: RunFigures[]): ClientResult {
  const keys = Object.keys(runs[0]!) as Array<keyof RunFigures>
  const out: ClientResult = {}
  for (const k of keys) {
    const values = runs.map(r => r[k]!)
    out[k] = k.endsWith('mb_per_sec') ? Number(median(values).toFixed(1)) : Math.round(median(values))
  }
  out.runs_produce_points_per_sec = runs.map(r => r.produce_points_per_sec)
  out.runs_consume_points_per_sec = runs.map(r => r.consume_points_per_sec)
  return { ...out, ...client.describe }
}

export async function runKafkaBench (o: KafkaBenchOptions = DEFAULT_KAFKA_BENCH, log: (l: string) => void = l => process.stderr.write(`${l}\n`)): Promise<void> {
  const cfg = loadConfig()
  const results: Record<string, ClientResult> = {}
  const optional = o.clients.filter((c): c is 'kafkajs' | 'rdkafka' => c !== 'platformatic')
  if (optional.length > 0) {
    const failed = o.install ? ensureBenchClients(log) : new Map(optional.filter(c => !isInstalled(c)).map(c => [c, `${c} is not installed in bench/kafka/node_modules (run without --no-install)`]))
    for (const [c, why] of failed) if (optional.includes(c)) results[c] = { error: why }
  }
  const clients: BenchClient[] = []
  for (const name of o.clients) {
    if (results[name] !== undefined) continue
    try {
      clients.push(CLIENT_FACTORIES[name]({ brokers: cfg.kafka.brokers, clientId: `fieldstream-bench-${name}`, sendBatches: o.sendBatches }))
    } catch (err) {
      results[name] = { error: `cannot load: ${(err as Error).message}` }
    }
  }

  log(`bench kafka: encoding ${o.batches} batches of ${o.batchPoints} points`)
  const messages = benchMessages(o.batches, o.batchPoints)
  const avgBytes = Math.round(messages.reduce((sum, m) => sum + m.value.length, 0) / messages.length)
  const admin = createAdmin(cfg.kafka)
  const stamp = Date.now()
  const figures = new Map<ClientName, RunFigures[]>(clients.map(c => [c.name, []]))
  try {
    // Untimed warm-up of every client (JIT, connections, lz4 codecs): otherwise whichever
    // client goes first in run 1 pays for the process warming up.
    const warmup = messages.slice(0, Math.min(200, messages.length))
    for (const client of clients) {
      const topic = `fieldstream.bench.kafka.${client.name}.${stamp}.warmup`
      await ensureTopics(admin, [{ name: topic, partitions: o.partitions, replicationFactor: 1 }])
      await topicReady(admin, topic, o.partitions)
      log(`bench kafka: warm-up: ${client.name}`)
      try {
        await runOnce(client, warmup, { ...o, decode: false }, topic, () => undefined)
      } catch (err) {
        const e = err as Error & { code?: unknown }
        results[client.name] = { error: `${e.name}${e.code !== undefined ? ` ${String(e.code)}` : ''}: ${e.message}`, run: 'warm-up' }
        log(`bench kafka: ${client.name} failed: ${e.stack ?? e.message}`)
      } finally {
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      }
    }
    for (let run = 0; run < o.runs; run++) {
      // Rotate the order each run so no client always goes first (or last) on a busy machine.
      const order = clients.map((_, i) => clients[(i + run) % clients.length]!)
      for (const client of order) {
        if (results[client.name] !== undefined) continue // failed in an earlier run
        const topic = `fieldstream.bench.kafka.${client.name}.${stamp}.${run}`
        await ensureTopics(admin, [{ name: topic, partitions: o.partitions, replicationFactor: 1 }])
        await topicReady(admin, topic, o.partitions)
        log(`bench kafka: run ${run + 1}/${o.runs}: ${client.name} on ${topic}`)
        try {
          figures.get(client.name)!.push(await runOnce(client, messages, o, topic, log))
        } catch (err) {
          const e = err as Error & { code?: unknown }
          results[client.name] = { error: `${e.name}${e.code !== undefined ? ` ${String(e.code)}` : ''}: ${e.message}`, run: run + 1 }
          log(`bench kafka: ${client.name} failed: ${e.stack ?? e.message}`)
        } finally {
          await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
        }
      }
    }
  } finally {
    await admin.close()
  }
  for (const client of clients) {
    if (results[client.name] === undefined) results[client.name] = summarize(client, figures.get(client.name)!)
  }
  printResult({
    bench: 'kafka',
    clients: Object.fromEntries(o.clients.map(c => [c, results[c]])),
    batch_points: o.batchPoints,
    batch_bytes: avgBytes,
    batches: o.batches,
    partitions: o.partitions,
    send_batches: o.sendBatches,
    runs: o.runs,
  })
}
