// Integration: point batches through the real local Kafka broker (started by `fieldstream stack up`).
import t from 'tap'
import { createAdmin, createBatchConsumer, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import { batchFromPoints, pointsOfBatch, type Point } from '../../schemas/points.js'
import { decodeBatch, encodeBatch } from '../../schemas/wire/codec.js'

const cfg = loadConfig()
const topic = `fieldstream.test.roundtrip.${process.pid}.${Date.now()}`

t.test('batches produced to Kafka are read back, decoded, in order per device', async t => {
  const admin = createAdmin(cfg.kafka)
  t.teardown(() => admin.close())
  t.same(await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 1 }]), [topic], 'topic created')
  t.same(await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 1 }]), [], 'second ensure is a no-op')

  const sent = new Map<string, Point[][]>()
  const messages = []
  for (let device = 0; device < 4; device++) {
    for (let seq = 1; seq <= 5; seq++) {
      const points: Point[] = Array.from({ length: 50 }, (_, i) => ({
        tag: `dev${device}/tag${i % 5}`, timeUs: 1_767_225_600_000_000 + seq * 1_000_000 + i, value: device * 1000 + seq + i / 100, quality: i === 7 ? 0x18 : 0xc0,
      }))
      const key = `dev${device}`
      sent.set(key, [...(sent.get(key) ?? []), points])
      messages.push({ topic, key, value: encodeBatch(batchFromPoints(key, seq, points)) })
    }
  }
  const producer = createBatchProducer(cfg.kafka)
  t.teardown(() => producer.close())
  await producer.send({ messages })

  const consumer = createBatchConsumer(cfg.kafka, `${topic}.reader`)
  t.teardown(() => consumer.close(true))
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
  const received = new Map<string, Array<{ seq: number, points: Point[] }>>()
  let count = 0
  for await (const message of stream) {
    const batch = decodeBatch(message.value)
    t.equal(batch.source, message.key, 'the key is the batch source')
    received.set(batch.source, [...(received.get(batch.source) ?? []), { seq: batch.seq, points: pointsOfBatch(batch) }])
    if (++count === messages.length) break
  }
  await stream.close()
  t.equal(count, 20, 'every batch arrived')
  for (const [key, batches] of sent) {
    const got = received.get(key) ?? []
    t.same(got.map(b => b.seq), [1, 2, 3, 4, 5], `${key}: batches in order`)
    t.same(got.map(b => b.points), batches, `${key}: points identical`)
  }
  await admin.deleteTopics({ topics: [topic] })
})
