// @platformatic/kafka, configured exactly as the pipeline uses it (common/kafka.ts):
// idempotent, acks=all, lz4, one send() in flight at a time (overlapping idempotent sends
// fail with OUT_OF_ORDER_SEQUENCE_NUMBER in 1.35), each send carrying many messages.
import { readFileSync } from 'node:fs'
import { createBatchConsumer, createBatchProducer } from '../../../common/kafka.js'
import type { BenchClient, ClientSettings } from './index.js'

// The package does not export its package.json; it sits beside dist/.
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('@platformatic/kafka')), 'utf8')) as { version: string }).version

export function createPlatformaticClient (s: ClientSettings): BenchClient {
  const kafka = { brokers: s.brokers, clientId: s.clientId }
  return {
    name: 'platformatic',
    describe: { version, compression: 'lz4', idempotent: true },
    async openProducer (topic) {
      const producer = createBatchProducer(kafka)
      await producer.metadata({ topics: [topic] })
      return {
        async sendAll (topic, messages) {
          for (let at = 0; at < messages.length; at += s.sendBatches) {
            await producer.send({ messages: messages.slice(at, at + s.sendBatches).map(m => ({ topic, key: m.key, value: m.value })) })
          }
        },
        close: () => producer.close(),
      }
    },
    async openConsumer (topic, groupId) {
      const consumer = createBatchConsumer(kafka, groupId)
      return {
        async readAll (count, onValue) {
          const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 })
          let seen = 0
          try {
            for await (const message of stream) {
              onValue(message.value)
              if (++seen === count) break
            }
          } finally {
            await stream.close()
          }
        },
        async close () { await consumer.close(true) },
      }
    },
  }
}
