// A private single-node Kafka broker for tests that stop it (the shared one on 9092 is never
// touched), plus helpers to read a topic back per source.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdmin, createBatchConsumer, ensureTopics } from '../../../common/kafka.js'
import { stackDown, stackOptionsFromConfig, stackUp, type StackOptions } from '../../../stack/index.js'
import { decodeBatch } from '../../../schemas/wire/codec.js'
import { loadConfig } from '../../../schemas/config/load.js'
import type { PointBatch } from '../../../schemas/points.js'

export interface PrivateKafka {
  broker: string
  opts: StackOptions
  down (): Promise<void>
}

export async function privateKafka (port: number): Promise<PrivateKafka> {
  const defaults = loadConfig({ env: {} })
  const broker = `127.0.0.1:${port}`
  const opts = stackOptionsFromConfig({
    kafka: { brokers: [broker] },
    database: { ...defaults.database },
    mqtt: { ...defaults.mqtt },
    stack: { dataDir: mkdtempSync(join(tmpdir(), 'fs-private-kafka-')) },
  }, () => undefined)
  await stackUp(opts, ['kafka'])
  return { broker, opts, down: async () => await stackDown(opts, ['kafka']) }
}

export async function createTopic (broker: string, topic: string, partitions: number): Promise<void> {
  const admin = createAdmin({ brokers: [broker], clientId: 'fs-test' })
  await ensureTopics(admin, [{ name: topic, partitions, replicationFactor: 1 }])
  await admin.close()
}

/** Every batch in the topic (read from the start until `count` arrived or `timeoutMs` passed), per source in offset order. */
export async function readBack (broker: string, topic: string, count: number, timeoutMs = 30_000): Promise<Map<string, PointBatch[]>> {
  const consumer = createBatchConsumer({ brokers: [broker], clientId: 'fs-test' }, `fs-test-reader-${process.pid}-${Date.now()}`)
  const out = new Map<string, PointBatch[]>()
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
  let n = 0
  const timer = setTimeout(() => { void stream.close() }, timeoutMs)
  try {
    for await (const m of stream) {
      const b = decodeBatch(m.value)
      out.set(b.source, [...(out.get(b.source) ?? []), b])
      if (++n >= count) break
    }
  } finally {
    clearTimeout(timer)
    await stream.close().catch(() => undefined)
    await consumer.close(true)
  }
  return out
}
