// The Sparkplug edge simulator end to end against the primary host, through Mosquitto.
import t from 'tap'
import { createMqttCollector } from '../../../ingest/mqtt/index.js'
import { isHistoricalQuality } from '../../../schemas/sparkplug/historical.js'
import { nodeTopic } from '../../../schemas/sparkplug/topic.js'
import { startSparkplugEdge } from '../../../sim/sparkplug/edge.js'
import { applyFault, makeSignal, rng, TOTALIZER_ROLLOVER } from '../../../sim/sparkplug/signals.js'
import { captureLog, connectRaw, mqttConfig, MQTT_URL, RecordingSink, sleep, uniqueId, until } from '../../ingest/mqtt/helpers.js'
import { tahu } from '../../ingest/sparkplug/edge.js'

t.test('totalizer rolls over; faults do what their label says', async t => {
  const tot = makeSignal('totalizer', rng(3))
  let prev = tot.next(0)
  let rolled = false
  let inRange = true
  for (let i = 1; i < 2000 && !rolled; i++) {
    const v = tot.next(i * 60_000)
    if (v < prev) rolled = true
    inRange &&= v >= 0 && v < TOTALIZER_ROLLOVER && Number.isInteger(v)
    prev = v
  }
  t.ok(rolled, 'wrapped at 2^32')
  t.ok(inRange, 'an unsigned 32-bit integer throughout')
  const fault = { kind: 'stuck' as const, metric: 'n/d/m', startMs: 1000, durationMs: 1000, magnitude: 10 }
  t.equal(applyFault(fault, 500, 7, () => 3), 7, 'before the window: untouched')
  t.equal(applyFault(fault, 1500, 7, () => 3), 3, 'stuck: the last value')
  t.equal(applyFault({ ...fault, kind: 'spike' }, 1500, 7, () => 3), 17)
  t.equal(applyFault({ ...fault, kind: 'dropout' }, 1500, 7, () => 3), undefined)
  t.equal(applyFault({ ...fault, kind: 'drift' }, 1000 + 30_000, 7, () => 3), 7, 'drift window over')
  t.equal(applyFault({ ...fault, kind: 'drift', durationMs: 60_000 }, 1000 + 30_000, 7, () => 3), 12, 'half a minute of 10/min drift')
})

t.test('edge nodes -> host: births, data, rebirth on NCMD, store-and-forward as is_historical', async t => {
  const group = uniqueId('simg')
  const hostId = uniqueId('simhost')
  const clientId = uniqueId('fs')
  const cfg = mqttConfig({ enabled: true, clientId, flushIntervalMs: 20, sparkplug: { enabled: true, hostId, groupIds: [group] } })
  const sink = new RecordingSink()
  let host = createMqttCollector(cfg, { sink, log: captureLog(), mqttUrl: MQTT_URL })
  await host.start()
  const now = Date.now()
  const edge = await startSparkplugEdge({
    url: MQTT_URL, groupId: group, nodes: 2, devicesPerNode: 2, metricsPerDevice: 4, intervalMs: 50, primaryHostId: hostId, seed: 7,
    faults: [{ kind: 'stuck', metric: 'node0/dev0/pressure_0', startMs: now, durationMs: 60_000 }, { kind: 'dropout', metric: 'node1/dev1/flow_0', startMs: now, durationMs: 60_000 }],
  })
  t.teardown(async () => { await edge.stop(); await host.stop() })
  t.same(edge.labels.map(l => [l.node, l.kind]), [['node0', 'stuck'], ['node1', 'dropout']], 'the ground-truth label log')

  await sink.waitFor(ps => new Set(ps.map(p => p.tag)).size >= 16 && ps.length > 60, 10_000)
  const points = sink.points()
  t.equal(new Set(points.map(p => p.tag)).size, 16, '2 nodes x 2 devices x 4 metrics')
  t.same(points.filter(p => p.tag === `${group}/node1/dev1/flow_0`).map(p => p.value), [0], 'dropout: only the birth value, no data')
  const stuck = points.filter(p => p.tag === `${group}/node0/dev0/pressure_0`).map(p => p.value)
  t.equal(new Set(stuck).size, 1, 'stuck: one value')
  t.equal(host.stats.sparkplug?.rebirthRequests, 0, 'no gaps, no unknown aliases')

  const births = edge.stats.births
  const cmd = await connectRaw()
  await cmd.publishAsync(nodeTopic(group, 'NCMD', 'node0'), Buffer.from(tahu.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })))
  await cmd.endAsync()
  await until(() => edge.stats.births === births + 1 && edge.stats.rebirthsHonored === 1, 3000, 'rebirth')

  // The host goes away: the edge stores; it comes back: the stored values arrive flagged historical.
  await host.stop()
  await until(() => edge.stats.stored > 0, 3000, 'store-and-forward')
  const storedAt = Date.now()
  await sleep(200)
  host = createMqttCollector(cfg, { sink, log: captureLog(), mqttUrl: MQTT_URL })
  await host.start()
  await until(() => edge.stats.replayed >= edge.stats.stored && edge.stats.replayed > 0, 5000, 'replay')
  const hist = await sink.waitFor(ps => ps.filter(p => isHistoricalQuality(p.quality)).length >= edge.stats.replayed, 5000)
  const replayed = hist.filter(p => isHistoricalQuality(p.quality))
  t.equal(replayed.length, edge.stats.replayed, 'every stored value, once')
  t.ok(replayed.some(p => Math.abs(p.timeUs / 1000 - storedAt) < 1000), 'with the time it was measured, not the time it was sent')
})

t.test('unclean disconnect: the broker publishes the NDEATH will, the host marks the node stale; the node rebirths with the next bdSeq and forwards what it stored', async t => {
  const group = uniqueId('simd')
  const hostId = uniqueId('simhost')
  const cfg = mqttConfig({ enabled: true, clientId: uniqueId('fs'), flushIntervalMs: 20, sparkplug: { enabled: true, hostId, groupIds: [group] } })
  const sink = new RecordingSink()
  const host = createMqttCollector(cfg, { sink, log: captureLog(), mqttUrl: MQTT_URL })
  await host.start()
  const edge = await startSparkplugEdge({ url: MQTT_URL, groupId: group, nodes: 1, devicesPerNode: 1, metricsPerDevice: 2, intervalMs: 50, primaryHostId: hostId, seed: 11 })
  t.teardown(async () => { await edge.stop(); await host.stop() })
  await sink.waitFor(ps => ps.length > 20, 10_000)
  t.equal(host.stats.sparkplug?.births, 2, 'NBIRTH + DBIRTH')

  edge.dropConnection(0)
  await until(() => (host.stats.sparkplug?.deaths ?? 0) >= 1, 5000, 'the NDEATH will')
  t.equal(host.stats.sparkplug?.deathsIgnored, 0, 'its bdSeq matches the birth of the session that died')
  const stale = await sink.waitFor(ps => ps.some(p => p.quality === 0x18), 3000)
  t.same([...new Set(stale.filter(p => p.quality === 0x18).map(p => p.tag))].sort(), [`${group}/node0/dev0/flow_0`, `${group}/node0/dev0/pressure_0`], 'every metric of the node marked bad / comm failure')

  // The node reconnects by itself (1 s) and births again with bdSeq + 1; data it measured while
  // cut off is forwarded after the birth, flagged historical.
  await until(() => (host.stats.sparkplug?.births ?? 0) >= 4, 8000, 'the rebirth after reconnecting')
  t.ok(edge.stats.stored > 0, `${edge.stats.stored} values stored while disconnected`)
  await until(() => edge.stats.replayed >= edge.stats.stored, 5000, 'the stored values forwarded')
  const hist = await sink.waitFor(ps => ps.filter(p => isHistoricalQuality(p.quality)).length >= edge.stats.replayed, 5000)
  t.equal(hist.filter(p => isHistoricalQuality(p.quality)).length, edge.stats.replayed, 'every stored value arrives once, as historical')
  const deathsBefore = host.stats.sparkplug?.deaths ?? 0
  await sleep(300)
  t.equal(host.stats.sparkplug?.deaths, deathsBefore, 'no second death: the new session is alive')
  t.equal(host.stats.sparkplug?.rebirthRequests, 0, 'the host needed no rebirth request (bdSeq and seq line up)')
})

t.test('a STATE older than the newest one seen is ignored (a stale retained message does not stop the node)', async t => {
  const group = uniqueId('sims')
  const hostId = uniqueId('simhost')
  const edge = await startSparkplugEdge({ url: MQTT_URL, groupId: group, nodes: 1, devicesPerNode: 1, metricsPerDevice: 1, intervalMs: 1_000_000, primaryHostId: hostId, seed: 3 })
  t.teardown(async () => { await edge.stop() })
  const raw = await connectRaw()
  t.teardown(async () => { await raw.publishAsync(`spBv1.0/STATE/${hostId}`, Buffer.alloc(0), { qos: 1, retain: true }); await raw.endAsync() })
  const state = (online: boolean, timestamp: number): Promise<unknown> => raw.publishAsync(`spBv1.0/STATE/${hostId}`, Buffer.from(JSON.stringify({ online, timestamp })), { qos: 1, retain: true })
  const now = Date.now()
  await state(true, now)
  await until(() => edge.stats.births === 1, 3000, 'birth on STATE online')
  await state(false, now - 60_000) // older: ignored
  await sleep(300)
  await edge.tick()
  t.equal(edge.stats.dataMessages, 1, 'still publishing live data')
  t.equal(edge.stats.stored, 0, 'nothing stored')
  await state(false, now) // same session's death: honoured
  await sleep(300)
  await edge.tick()
  t.equal(edge.stats.dataMessages, 1, 'no live data while the host is offline')
  t.equal(edge.stats.stored, 1, 'the round is stored for later')
})
