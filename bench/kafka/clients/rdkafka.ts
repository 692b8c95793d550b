// node-rdkafka 3.6.1 (native librdkafka), loaded from bench/kafka/node_modules. Idempotent,
// acks=all, lz4, librdkafka's own batching (linger.ms), Java-compatible murmur2 partitioner
// so keys land on the same partitions as with the JavaScript clients.
import { setTimeout as sleep } from 'node:timers/promises'
import { benchRequire } from '../install.js'
import type { BenchClient, ClientSettings } from './index.js'

// The slice of node-rdkafka's API used here (its types live in a package the build does not see).
type Callback = (err: (Error & { code?: number }) | null | undefined) => void
interface RdMessage { value: Buffer | null }
interface RdProducer {
  connect (o: object, cb: Callback): void
  produce (topic: string, partition: number | null, value: Buffer, key: string): boolean
  setPollInterval (ms: number): void
  on (event: 'delivery-report', listener: (err: Error | null) => void): void
  on (event: 'event.error', listener: (err: Error) => void): void
  flush (timeoutMs: number, cb: Callback): void
  disconnect (cb: Callback): void
}
interface RdConsumer {
  connect (o: object, cb: Callback): void
  subscribe (topics: string[]): void
  setDefaultConsumeTimeout (ms: number): void
  consume (n: number, cb: (err: Error | null, messages: RdMessage[]) => void): void
  disconnect (cb: Callback): void
}
interface Rdkafka {
  Producer: new (global: Record<string, unknown>, topic?: Record<string, unknown>) => RdProducer
  KafkaConsumer: new (global: Record<string, unknown>, topic?: Record<string, unknown>) => RdConsumer
  CODES: { ERRORS: { ERR__QUEUE_FULL: number } }
  librdkafkaVersion: string
}

const done = (run: (cb: Callback) => void): Promise<void> =>
  new Promise((resolve, reject) => run(err => (err ? reject(err) : resolve())))

export function createRdkafkaClient (s: ClientSettings): BenchClient {
  const lib = benchRequire('node-rdkafka') as Rdkafka
  const version = `${(benchRequire('node-rdkafka/package.json') as { version: string }).version} (librdkafka ${lib.librdkafkaVersion})`
  const brokers = s.brokers.join(',')
  return {
    name: 'rdkafka',
    describe: { version, compression: 'lz4', idempotent: true },
    async openProducer () {
      const producer = new lib.Producer({
        'metadata.broker.list': brokers,
        'client.id': `${s.clientId}-producer`,
        'enable.idempotence': true,
        acks: 'all',
        'compression.codec': 'lz4',
        'linger.ms': 5,
        partitioner: 'murmur2_random',
        dr_cb: true,
      })
      await done(cb => producer.connect({}, cb))
      producer.setPollInterval(5)
      let delivered = 0
      let failed: Error | undefined
      let wake: (() => void) | undefined
      producer.on('delivery-report', err => {
        if (err) failed ??= err
        delivered++
        wake?.()
      })
      producer.on('event.error', err => { failed ??= err; wake?.() })
      return {
        async sendAll (topic, messages) {
          delivered = 0
          for (const m of messages) {
            for (;;) {
              try {
                producer.produce(topic, null, m.value, m.key)
                break
              } catch (err) {
                // The local queue is full: let delivery reports drain it, then retry.
                if ((err as { code?: number }).code !== lib.CODES.ERRORS.ERR__QUEUE_FULL) throw err
                await sleep(1)
              }
            }
          }
          while (delivered < messages.length && failed === undefined) await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
          if (failed !== undefined) throw failed
        },
        async close () {
          await done(cb => producer.flush(10_000, cb))
          await done(cb => producer.disconnect(cb))
        },
      }
    },
    async openConsumer (topic, groupId) {
      const consumer = new lib.KafkaConsumer({
        'metadata.broker.list': brokers,
        'client.id': `${s.clientId}-consumer`,
        'group.id': groupId,
        'enable.auto.commit': false,
        'fetch.wait.max.ms': 500,
      }, { 'auto.offset.reset': 'earliest' })
      await done(cb => consumer.connect({}, cb))
      consumer.setDefaultConsumeTimeout(100)
      return {
        async readAll (count, onValue) {
          consumer.subscribe([topic])
          let seen = 0
          while (seen < count) {
            const messages = await new Promise<RdMessage[]>((resolve, reject) => consumer.consume(1000, (err, ms) => (err ? reject(err) : resolve(ms))))
            for (const message of messages) {
              if (seen === count) break
              onValue(message.value!)
              seen++
            }
          }
        },
        close: () => done(cb => consumer.disconnect(cb)),
      }
    },
  }
}
