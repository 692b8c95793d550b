// The naive baseline of `bench e2e`: the pipeline a user would put together from tutorials.
//
//   producer: one JSON message per point ({"tag","time","value"}), kafkajs with its defaults
//             (acks all, no compression, no idempotence), `await producer.send()` once per
//             collector batch cut into chunks of at most 100 messages (about one device message,
//             as a tutorial's MQTT on('message') handler would send them);
//   consumer: kafkajs `eachMessage` (one message at a time, partitionsConsumedConcurrently 1,
//             auto-commit), `JSON.parse`, and one
//             `INSERT INTO naive_points (time, tag, value) VALUES ($1, $2, $3)` per point on one
//             pg connection, into a narrow table with a (tag, time) index.
//
// The field and its collectors are the project's own (field.ts, mode naive), so the baseline
// gets the same decoded points from the same simulator; only the transport and the storage
// are naive. kafkajs comes from bench/kafka/node_modules (installed on demand by
// bench/kafka/install.ts), never from the project's dependencies.
//
// Usage (by e2e.bench.ts): node naive.js consume <job.json>; the consumer runs until SIGTERM.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { BatchSink } from '../../ingest/sink.js'
import type { PointBatch } from '../../schemas/points.js'
import { benchRequire, ensureBenchClients, isInstalled } from '../kafka/install.js'

// The slice of kafkajs's API used here (its types live in a package the build does not see).
interface KafkajsProducer {
  connect (): Promise<void>
  send (r: { topic: string, messages: Array<{ value: string }> }): Promise<unknown>
  disconnect (): Promise<void>
}
interface KafkajsConsumer {
  connect (): Promise<void>
  subscribe (s: { topics: string[], fromBeginning: boolean }): Promise<void>
  run (r: { eachMessage: (p: { message: { value: Buffer | null } }) => Promise<void> }): Promise<void>
  disconnect (): Promise<void>
}
interface KafkajsLogEntry { namespace: string, log: { message: string } }
interface Kafkajs {
  Kafka: new (o: { clientId: string, brokers: string[], logLevel: number, logCreator: () => (e: KafkajsLogEntry) => void }) => {
    producer (): KafkajsProducer
    consumer (o: { groupId: string }): KafkajsConsumer
  }
  logLevel: { ERROR: number }
}

export const NAIVE_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS naive_points (time timestamptz NOT NULL, tag text NOT NULL, value double precision);
  CREATE INDEX IF NOT EXISTS naive_points_tag_time_idx ON naive_points (tag, time);`

/** Chunk size of the naive producer's sends (see the header). */
export const NAIVE_SEND_CHUNK = 100

function loadKafkajs (): Kafkajs {
  if (!isInstalled('kafkajs')) {
    const failed = ensureBenchClients(line => process.stderr.write(`${line}\n`))
    if (failed.has('kafkajs')) throw new Error(`bench e2e: the naive baseline needs kafkajs: ${failed.get('kafkajs')}`)
  }
  return benchRequire('kafkajs') as Kafkajs
}

function kafkaOf (lib: Kafkajs, brokers: readonly string[], clientId: string): InstanceType<Kafkajs['Kafka']> {
  // kafkajs logs to stdout by default; the field's stdout carries progress lines.
  const logCreator = () => (e: KafkajsLogEntry) => process.stderr.write(`kafkajs ${e.namespace}: ${e.log.message}\n`)
  return new lib.Kafka({ clientId, brokers: [...brokers], logLevel: lib.logLevel.ERROR, logCreator })
}

/** Make sure kafkajs is there before the run starts (installing it takes a while). */
export function ensureKafkajs (): void {
  loadKafkajs()
}

export async function createNaiveSink (o: { brokers: readonly string[], topic: string }): Promise<BatchSink> {
  const lib = loadKafkajs()
  const producer = kafkaOf(lib, o.brokers, 'naive-producer').producer()
  await producer.connect()
  return {
    async write (batch: PointBatch) {
      const messages: Array<{ value: string }> = []
      for (let i = 0; i < batch.tagIndex.length; i++) {
        messages.push({ value: JSON.stringify({ tag: batch.tags[batch.tagIndex[i]!], time: new Date(batch.timeUs[i]! / 1000).toISOString(), value: batch.value[i] }) })
      }
      for (let at = 0; at < messages.length; at += NAIVE_SEND_CHUNK) {
        await producer.send({ topic: o.topic, messages: messages.slice(at, at + NAIVE_SEND_CHUNK) })
      }
    },
    close: () => producer.disconnect(),
  }
}

export interface NaiveConsumerJob { brokers: string[], topic: string, groupId: string, databaseUrl: string }

export async function runNaiveConsumer (job: NaiveConsumerJob): Promise<void> {
  const lib = loadKafkajs()
  const db = new pg.Client({ connectionString: job.databaseUrl })
  await db.connect()
  const consumer = kafkaOf(lib, job.brokers, 'naive-consumer').consumer({ groupId: job.groupId })
  await consumer.connect()
  await consumer.subscribe({ topics: [job.topic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const p = JSON.parse(String(message.value)) as { tag: string, time: string, value: number }
      await db.query('INSERT INTO naive_points (time, tag, value) VALUES ($1, $2, $3)', [p.time, p.tag, p.value])
    },
  })
  await new Promise<void>(resolve => process.once('SIGTERM', () => resolve()))
  await consumer.disconnect().catch(() => undefined)
  await db.end().catch(() => undefined)
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'consume') {
  const job = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as NaiveConsumerJob
  runNaiveConsumer(job).then(() => process.exit(0), (err: Error) => {
    process.stderr.write(`e2e naive consumer: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
