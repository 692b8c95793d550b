// Integration: each `bench kafka` client adapter round-trips point batches through the real
// local broker. @platformatic/kafka (the project's client) always runs; kafkajs and
// node-rdkafka run when `fieldstream bench kafka` has installed them into bench/kafka/node_modules.
import t from 'tap'
import { CLIENT_FACTORIES, CLIENT_NAMES } from '../../bench/kafka/clients/index.js'
import { isInstalled } from '../../bench/kafka/install.js'
import { benchMessages } from '../../bench/kafka/kafka.bench.js'
import { createAdmin, ensureTopics } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import { decodeBatch } from '../../schemas/wire/codec.js'

const cfg = loadConfig()
const messages = benchMessages(120, 100) // 50 devices: 2 or 3 batches each

for (const name of CLIENT_NAMES) {
  const installed = name === 'platformatic' || isInstalled(name)
  t.test(`${name}: batches go out and come back whole, in order per device`, { skip: installed ? false : `${name} is not installed in bench/kafka/node_modules (run \`fieldstream bench kafka\` once)` }, async t => {
    const topic = `fieldstream.test.bench-kafka.${name}.${process.pid}.${Date.now()}`
    const admin = createAdmin(cfg.kafka)
    t.teardown(async () => {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      await admin.close()
    })
    await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 1 }])
    const client = CLIENT_FACTORIES[name]({ brokers: cfg.kafka.brokers, clientId: `fieldstream-test-${name}`, sendBatches: 16 })

    const producer = await client.openProducer(topic)
    await producer.sendAll(topic, messages)
    await producer.close()

    const consumer = await client.openConsumer(topic, `${topic}.reader`)
    const received: Buffer[] = []
    await consumer.readAll(messages.length, v => received.push(Buffer.from(v)))
    await consumer.close()

    t.equal(received.length, messages.length, 'every batch came back')
    const seqs = new Map<string, number[]>()
    let points = 0
    for (const value of received) {
      const batch = decodeBatch(value)
      points += batch.tagIndex.length
      seqs.set(batch.source, [...(seqs.get(batch.source) ?? []), batch.seq])
    }
    t.equal(points, messages.length * 100, 'every point decodes')
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
    t.equal(seqs.size, 50, 'every device is there')
    t.ok([...seqs.values()].every(s => s.join() === sorted(s).join()), 'each device\'s batches arrive in the order sent')
    t.same(received.map(v => v.toString('base64')).sort(), messages.map(m => m.value.toString('base64')).sort(), 'values identical byte for byte')
  })
}
