// Integration, on a PRIVATE Kafka broker (stopped and started here; the shared one is never
// touched): the Kafka sink keeps every batch through an outage and a full spool.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { KafkaSink } from '../../ingest/kafka/index.js'
import { startService, stopService } from '../../stack/index.js'
import type { Logger } from '../../common/log.js'
import { numbered, numberOf, sinkConfig } from './kafka-sink/fixtures.js'
import { createTopic, privateKafka, readBack } from './kafka-sink/private-kafka.js'

const quiet: Logger = { debug () {}, info () {}, warn () {}, error () {} }
const log: Logger = { ...quiet, info: m => t.comment(m), warn: m => t.comment(m), error: m => t.comment(m) }
const kafka = await privateKafka(19310)
t.teardown(async () => await kafka.down())

// This case was quarantined in CI after it hung once after the broker restart. Two causes were
// found and fixed in ingest/kafka/sink.ts (see ingest/spool/README.md, "Two hangs fixed"): a send
// that never settled on a force-closed producer stalled the send pump, and a drain that caught up
// with the spool's writer spun on resolved promises and starved the event loop. The watchdog
// below says where a stop stalls if it ever does again.
t.test('Kafka stopped for 30 s mid-stream: every batch arrives exactly once, in order per device', async t => {
  const topic = `fs.test.sink.outage.${process.pid}`
  await createTopic(kafka.broker, topic, 4)
  const sink = await KafkaSink.open(sinkConfig(kafka.broker, topic), { log })
  const devices = ['pump1', 'pump2', 'meter1', 'meter2']
  const written = new Map(devices.map(d => [d, 0]))
  let running = true
  const writers = devices.map(async d => {
    while (running) {
      await sink.write(numbered(d, written.get(d)!))
      written.set(d, written.get(d)! + 1)
      await sleep(20)
    }
  })
  await sleep(3000)
  await stopService('kafka', kafka.opts)
  const stoppedAt = Date.now()
  await sleep(30_000)
  t.equal(sink.stats.state, 'spooling', 'batches go to the spool while Kafka is away')
  const spooledDuringOutage = sink.stats.spool.pendingBatches
  await startService('kafka', kafka.opts)
  const upAt = Date.now()
  while (sink.stats.state !== 'direct' && Date.now() - upAt < 60_000) await sleep(50)
  const recoveryMs = Date.now() - upAt
  t.equal(sink.stats.state, 'direct', 'the spool drains and batches go straight to Kafka again')
  t.comment(`outage ${Math.round((upAt - stoppedAt) / 1000)} s: ${spooledDuringOutage} batches spooled; spool empty ${recoveryMs} ms after the broker was back; ${JSON.stringify(sink.stats)}`)
  await sleep(2000)
  running = false
  const watchdog = setInterval(() => t.comment(`still stopping after the outage: ${JSON.stringify(sink.stats)}`), 10_000)
  await Promise.all(writers)
  t.comment(`writers stopped ${Date.now() - upAt} ms after the broker was back`)
  await sink.close()
  t.comment(`sink closed ${Date.now() - upAt} ms after the broker was back`)
  clearInterval(watchdog)
  const total = [...written.values()].reduce((a, b) => a + b, 0)
  t.ok(sink.stats.sentFromSpool > 0 && sink.stats.sentDirect > 0, 'both paths were used')
  t.equal(sink.stats.sendFailures > 0, true)
  const got = await readBack(kafka.broker, topic, total + 1, 20_000)
  for (const d of devices) {
    const batches = got.get(d) ?? []
    const n = written.get(d)!
    t.same(batches.map(numberOf), Array.from({ length: n }, (_, i) => i), `${d}: all ${n} batches, once each, in order`)
    t.same(batches.map(b => b.seq), Array.from({ length: n }, (_, i) => i + 1), `${d}: seqs 1..${n} without gaps or repeats`)
  }
})

for (const policy of ['reject-new', 'drop-oldest'] as const) {
  t.test(`spool full, policy ${policy}: loud, bounded, and what was kept reaches Kafka in order`, async t => {
    const topic = `fs.test.sink.full.${policy}.${process.pid}`
    await createTopic(kafka.broker, topic, 4)
    // Phase 1: no broker answers (port 1), the spool fills up.
    const cfg = sinkConfig('127.0.0.1:1', topic, { maxMB: 0.25, segmentMB: 1 / 16, policy, sendTimeoutMs: 300 })
    const sink = await KafkaSink.open(cfg, { log: quiet })
    const accepted: number[] = []
    const refused: string[] = []
    for (let n = 0; n < 150; n++) {
      try {
        await sink.write(numbered('rtu7', n, 200))
        accepted.push(n)
      } catch (err) {
        refused.push((err as { code: string }).code)
      }
    }
    const s = sink.stats
    t.ok(s.spool.bytes <= 0.25 * 2 ** 20, `the spool stays within maxMB (${s.spool.bytes} bytes)`)
    if (policy === 'reject-new') {
      t.ok(refused.length > 0, `${refused.length} writes refused`)
      t.same(new Set(refused), new Set(['FS_SPOOL_FULL']), 'with FS_SPOOL_FULL')
      t.equal(s.spoolFull, refused.length, 'and counted')
      t.equal(s.spool.droppedBatches, 0, 'nothing already kept is dropped')
    } else {
      t.equal(refused.length, 0, 'no write is refused')
      t.ok(s.spool.droppedBatches > 0, `${s.spool.droppedBatches} oldest batches dropped and counted`)
      t.equal(s.spool.pendingBatches + s.spool.droppedBatches, 150, 'kept + dropped = written')
    }
    const kept = s.spool.pendingBatches
    await sink.close()
    // Phase 2: the same spool, a broker that answers.
    const again = await KafkaSink.open({ ...cfg, kafka: { ...cfg.kafka, brokers: [kafka.broker] } }, { log: quiet })
    const upAt = Date.now()
    while (!(again.stats.state === 'direct') && Date.now() - upAt < 60_000) await sleep(50)
    t.comment(`${kept} spooled batches sent in ${Date.now() - upAt} ms (includes the Kafka look-back)`)
    await again.close()
    const got = (await readBack(kafka.broker, topic, kept + 1, 10_000)).get('rtu7') ?? []
    const expected = policy === 'reject-new' ? accepted : accepted.slice(accepted.length - kept)
    t.same(got.map(numberOf), expected, policy === 'reject-new' ? 'every accepted batch, in order' : 'the newest batches, in order')
  })
}
