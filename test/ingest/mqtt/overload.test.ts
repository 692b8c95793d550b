// Sparkplug data arrives at QoS 0: the broker does not slow down for us, so the collector's own
// memory bound (collectors.mqtt.maxBufferedPoints) is what stands between a slow sink and an
// unbounded heap. Shown here with a slow sink and a real broker: points are held up to the bound
// plus one message, QoS 0 points beyond it are dropped, counted and logged, and everything that
// was not dropped arrives; QoS 1 (the NDEATH's stale marks) is never dropped.
import t from 'tap'
import { createMqttCollector } from '../../../ingest/mqtt/index.js'
import { startSparkplugEdge } from '../../../sim/sparkplug/edge.js'
import { captureLog, mqttConfig, MQTT_URL, RecordingSink, sleep, uniqueId, until } from './helpers.js'

t.test('slow sink: QoS 0 Sparkplug points beyond maxBufferedPoints are shed, counted and logged; memory stays bounded', async t => {
  const group = uniqueId('ovl')
  const hostId = uniqueId('ovlhost')
  const MAX = 200
  const METRICS = 50
  const cfg = mqttConfig({ enabled: true, clientId: uniqueId('fs-ovl'), flushIntervalMs: 20, maxBufferedPoints: MAX, logIntervalMs: 60_000, sparkplug: { enabled: true, hostId, groupIds: [group] } })
  const sink = new RecordingSink()
  sink.delayMs = 300 // a sink far slower than the intake
  const log = captureLog()
  const collector = createMqttCollector(cfg, { sink, log, mqttUrl: MQTT_URL })
  await collector.start()
  t.teardown(async () => await collector.stop())
  const edge = await startSparkplugEdge({ url: MQTT_URL, groupId: group, nodes: 1, devicesPerNode: 2, metricsPerDevice: METRICS, intervalMs: 3_600_000, primaryHostId: hostId, seed: 4 })
  await until(() => edge.stats.births === 1, 5000, 'birth')
  for (let i = 0; i < 40; i++) await edge.tick()
  const published = 2 * METRICS * (1 + 40) // births + 40 rounds, every metric of both devices
  const stats = collector.stats.batches
  await until(() => stats.pointsIn + stats.pointsShed === published, 5000, 'every published point taken or shed')
  t.ok(stats.pointsShed > 0, `${stats.pointsShed} of ${published} points shed`)
  t.ok(stats.bufferedPointsPeak <= MAX + METRICS, `held at most ${stats.bufferedPointsPeak} points (bound ${MAX} + one message of ${METRICS})`)
  t.match(log.lines.join('\n'), /warn .*points wait for the sink \(collectors\.mqtt\.maxBufferedPoints 200\): dropping the points of new QoS 0 messages/, 'a warning says what is dropped and why')

  // A clean stop of the node: its NDEATH (QoS 1) marks every metric stale; never shed.
  await edge.stop()
  await until(() => (collector.stats.sparkplug?.deaths ?? 0) === 1, 5000, 'the NDEATH')
  const stale = (collector.stats.sparkplug?.stalePoints ?? 0)
  t.equal(stale, 2 * METRICS, 'the death marks every device metric stale, although the buffer is full')

  await until(() => stats.bufferedPoints === 0, 30_000, 'the sink to catch up')
  const written = sink.points().length
  t.equal(written, stats.pointsIn, 'everything not shed reaches the sink')
  t.equal(stats.pointsIn - stale, published - stats.pointsShed, 'taken + shed = published')
  await sleep(100)
  sink.delayMs = 0
})
