// The JSON side of the MQTT collector against the real Mosquitto broker.
import t, { type Test } from 'tap'
import type { MqttClient } from 'mqtt'
import { createMqttCollector, type MqttCollector } from '../../../ingest/mqtt/index.js'
import type { PointBatch } from '../../../schemas/points.js'
import { captureLog, connectRaw, mqttConfig, MQTT_URL, RecordingSink, sleep, uniqueId, until } from './helpers.js'

async function start (t: Test, sink: RecordingSink, extra: Record<string, unknown> = {}, prefix = uniqueId('site')): Promise<{ collector: MqttCollector, prefix: string, pub: MqttClient, log: ReturnType<typeof captureLog>, clientId: string }> {
  const clientId = (extra.clientId as string | undefined) ?? uniqueId('fs')
  const log = captureLog()
  const cfg = mqttConfig({
    enabled: true,
    clientId,
    flushIntervalMs: 20,
    logIntervalMs: 0,
    subscriptions: [{ topic: `${prefix}/+/+/telemetry`, tag: '{1}/{2}/{key}', source: '{1}/{2}', payload: { points: 'points', key: 'name', value: 'v', timestamp: 't', timestampUnit: 'ms' } }],
    ...extra,
  })
  const collector = createMqttCollector(cfg, { sink, log, mqttUrl: MQTT_URL })
  await collector.start()
  const pub = await connectRaw()
  t.teardown(async () => {
    await pub.endAsync()
    await collector.stop()
  })
  return { collector, prefix, pub, log, clientId }
}

const message = (i: number, names = ['flow', 'level']): string => JSON.stringify({ points: names.map((name, k) => ({ name, v: i + k / 10, t: 1704067200000 + i })) })

t.test('points flow per device into batches with a seq per source', async t => {
  const sink = new RecordingSink()
  const { prefix, pub } = await start(t, sink)
  for (let i = 0; i < 20; i++) {
    await pub.publishAsync(`${prefix}/pad1/pump1/telemetry`, message(i), { qos: 1 })
    await pub.publishAsync(`${prefix}/pad1/pump2/telemetry`, message(i), { qos: 1 })
  }
  const points = await sink.waitFor(ps => ps.length === 80)
  t.same(points.filter(p => p.tag === 'pad1/pump1/flow').map(p => p.value), Array.from({ length: 20 }, (_, i) => i))
  t.ok(points.every(p => p.quality === 0xc0))
  for (const source of ['pad1/pump1', 'pad1/pump2']) {
    const seqs = sink.batches.filter(b => b.source === source).map(b => b.seq)
    t.same(seqs, seqs.map((_, i) => i), `${source}: seq 0, 1, 2 ...`)
  }
})

t.test('a garbage payload is counted, logged with its topic and skipped; good ones keep flowing', async t => {
  const sink = new RecordingSink()
  const { collector, prefix, pub, log } = await start(t, sink)
  await pub.publishAsync(`${prefix}/pad1/pump1/telemetry`, message(0), { qos: 1 })
  await pub.publishAsync(`${prefix}/pad1/bad/telemetry`, '\u0000\u0001garbage', { qos: 1 })
  await pub.publishAsync(`${prefix}/pad1/bad/telemetry`, JSON.stringify({ points: [{ name: 'x', v: 'NaN', t: 1 }] }), { qos: 1 })
  await pub.publishAsync(`${prefix}/pad1/pump1/telemetry`, message(1), { qos: 1 })
  await sink.waitFor(ps => ps.length === 4)
  t.equal(collector.stats.json?.payloadInvalid, 2)
  t.ok(log.lines.some(l => l.includes(`FS_MQTT_PAYLOAD_INVALID: topic ${prefix}/pad1/bad/telemetry: not JSON`)), 'logged with the topic and the problem')
  await until(() => collector.stats.inFlight === 0, 2000, 'all acknowledged')
  t.pass('the bad messages were acknowledged too (not redelivered forever)')
})

t.test('slow sink: at most maxInFlight un-acked, nothing lost, the subscription keeps flowing afterwards', async t => {
  const sink = new RecordingSink()
  sink.delayMs = 150
  const maxInFlight = 10
  const { collector, prefix, pub } = await start(t, sink, { maxInFlight, flushIntervalMs: 1000 })
  let peak = 0
  const probe = setInterval(() => { peak = Math.max(peak, collector.stats.inFlight) }, 1)
  t.teardown(() => clearInterval(probe))
  const n = 200
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`${prefix}/pad1/pump${i % 3}/telemetry`, message(i, ['flow']), { qos: 1 })))
  const points = await sink.waitFor(ps => ps.length >= n, 30_000)
  t.equal(points.length, n, 'every message, once')
  t.ok(peak <= maxInFlight, `peak un-acked ${peak} <= ${maxInFlight}`)
  t.ok(peak > 0, 'messages did wait for the sink')
  t.ok(sink.batches.length < n, 'a full window seals at once instead of waiting for the 1 s flush tick')
  sink.delayMs = 0
  await pub.publishAsync(`${prefix}/pad1/pump9/telemetry`, message(1000, ['flow']), { qos: 1 })
  await sink.waitFor(ps => ps.some(p => p.tag === 'pad1/pump9/flow'))
  t.pass('still flowing after the slow spell')
})

t.test('a batch the sink refuses is not acknowledged: the next session gets the messages again', async t => {
  const prefix = uniqueId('site')
  const clientId = uniqueId('fs')
  const failing = new RecordingSink()
  failing.write = async (_batch: PointBatch) => { throw new Error('kafka away') }
  const first = createMqttCollector(mqttConfig({ enabled: true, clientId, flushIntervalMs: 20, retryMinMs: 50, subscriptions: [{ topic: `${prefix}/+/+/telemetry`, tag: '{1}/{2}/{key}', source: '{1}/{2}', payload: { points: 'points', key: 'name', value: 'v', timestamp: 't' } }] }), { sink: failing, log: captureLog(), mqttUrl: MQTT_URL })
  await first.start()
  const pub = await connectRaw()
  for (let i = 0; i < 5; i++) await pub.publishAsync(`${prefix}/pad1/pump1/telemetry`, message(i, ['flow']), { qos: 1 })
  await until(() => first.stats.batches.writeRetries >= 2, 3000, 'retries')
  t.equal(first.stats.inFlight, 5, 'nothing acknowledged while the sink refuses')
  await first.stop()
  await pub.endAsync()

  const sink = new RecordingSink()
  const second = createMqttCollector(mqttConfig({ enabled: true, clientId, flushIntervalMs: 20, subscriptions: [{ topic: `${prefix}/+/+/telemetry`, tag: '{1}/{2}/{key}', source: '{1}/{2}', payload: { points: 'points', key: 'name', value: 'v', timestamp: 't' } }] }), { sink, log: captureLog(), mqttUrl: MQTT_URL })
  await second.start()
  t.teardown(() => second.stop())
  const points = await sink.waitFor(ps => ps.length >= 5, 5000)
  t.same(points.map(p => p.value), [0, 1, 2, 3, 4], 'redelivered by the broker from the persistent session')
  await sleep(100)
})
