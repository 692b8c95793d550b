// kafkajs 2.2.4 (pure JavaScript), loaded from bench/kafka/node_modules. Idempotent with
// acks=all (which kafkajs requires maxInFlightRequests 1 for). No compression: kafkajs ships
// only gzip; lz4 needs a third-party codec package (kafkajs-lz4), so the comparison sends raw.
import { benchRequire } from '../install.js'
import type { BenchClient, ClientSettings } from './index.js'

// The slice of kafkajs's API used here (its types live in a package the build does not see).
interface KafkajsMessage { value: Buffer | null }
interface KafkajsProducer {
  connect (): Promise<void>
  send (r: { topic: string, acks: number, compression: number, messages: Array<{ key: string, value: Buffer }> }): Promise<unknown>
  disconnect (): Promise<void>
}
interface KafkajsConsumer {
  connect (): Promise<void>
  subscribe (s: { topics: string[], fromBeginning: boolean }): Promise<void>
  run (r: { autoCommit: boolean, eachBatch: (p: { batch: { messages: KafkajsMessage[] } }) => Promise<void> }): Promise<void>
  stop (): Promise<void>
  disconnect (): Promise<void>
  on (event: string, listener: (e: { payload: { error: Error } }) => void): void
  events: { CRASH: string }
}
interface KafkajsLogEntry { namespace: string, level: number, log: { message: string } }
interface Kafkajs {
  Kafka: new (o: { clientId: string, brokers: string[], logLevel: number, logCreator: () => (e: KafkajsLogEntry) => void }) => {
    producer (o: { idempotent: boolean, maxInFlightRequests: number }): KafkajsProducer
    consumer (o: { groupId: string, maxWaitTimeInMs: number }): KafkajsConsumer
  }
  logLevel: { ERROR: number }
  CompressionTypes: { None: number }
}

export function createKafkajsClient (s: ClientSettings): BenchClient {
  const lib = benchRequire('kafkajs') as Kafkajs
  const version = (benchRequire('kafkajs/package.json') as { version: string }).version
  // kafkajs logs to stdout by default; the benchmark's stdout is its one JSON line.
  const logCreator = () => (e: KafkajsLogEntry) => process.stderr.write(`kafkajs ${e.namespace}: ${e.log.message}\n`)
  const kafka = new lib.Kafka({ clientId: s.clientId, brokers: [...s.brokers], logLevel: lib.logLevel.ERROR, logCreator })
  return {
    name: 'kafkajs',
    describe: { version, compression: 'none', idempotent: true },
    async openProducer () {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      return {
        async sendAll (topic, messages) {
          for (let at = 0; at < messages.length; at += s.sendBatches) {
            await producer.send({ topic, acks: -1, compression: lib.CompressionTypes.None, messages: messages.slice(at, at + s.sendBatches).map(m => ({ key: m.key, value: m.value })) })
          }
        },
        close: () => producer.disconnect(),
      }
    },
    async openConsumer (topic, groupId) {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 })
      await consumer.connect()
      return {
        async readAll (count, onValue) {
          await consumer.subscribe({ topics: [topic], fromBeginning: true })
          let seen = 0
          await new Promise<void>((resolve, reject) => {
            consumer.on(consumer.events.CRASH, e => reject(e.payload.error))
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch }) => {
                for (const message of batch.messages) {
                  if (seen === count) break
                  onValue(message.value!)
                  if (++seen === count) resolve()
                }
              },
            }).catch(reject)
          })
          await consumer.stop()
        },
        close: () => consumer.disconnect(),
      }
    },
  }
}
