// The Sparkplug B primary host against the real Mosquitto broker, with Tahu-encoded messages.
import t, { type Test } from 'tap'
import type { IPublishPacket } from 'mqtt'
import { createMqttCollector, type MqttCollector } from '../../../ingest/mqtt/index.js'
import type { Point } from '../../../schemas/points.js'
import { Quality } from '../../../schemas/quality.js'
import { isHistoricalQuality } from '../../../schemas/sparkplug/historical.js'
import { stateTopic } from '../../../schemas/sparkplug/topic.js'
import { captureLog, connectRaw, mqttConfig, MQTT_URL, RecordingSink, sleep, uniqueId, until } from '../mqtt/helpers.js'
import { TestEdge } from './edge.js'

interface Setup { collector: MqttCollector, sink: RecordingSink, group: string, hostId: string, edge: TestEdge, log: ReturnType<typeof captureLog> }

async function setup (t: Test, sparkplug: Record<string, unknown> = {}): Promise<Setup> {
  const group = uniqueId('g')
  const hostId = uniqueId('host')
  const sink = new RecordingSink()
  const log = captureLog()
  const cfg = mqttConfig({ enabled: true, clientId: uniqueId('fs'), flushIntervalMs: 20, logIntervalMs: 0, sparkplug: { enabled: true, hostId, groupIds: [group], reorderTimeoutMs: 300, rebirthMinIntervalMs: 400, ...sparkplug } })
  const collector = createMqttCollector(cfg, { sink, log, mqttUrl: MQTT_URL })
  await collector.start()
  const edge = await TestEdge.connect(group, 'node1')
  t.teardown(async () => {
    await edge.close()
    await collector.stop()
  })
  return { collector, sink, group, hostId, edge, log }
}

const byTag = (points: Point[], tag: string): Point[] => points.filter(p => p.tag === tag)

async function retainedState (hostId: string): Promise<{ state: { online: boolean, timestamp: number }, retain: boolean }> {
  const c = await connectRaw()
  const got = new Promise<{ payload: string, retain: boolean }>(resolve => c.on('message', (_t, payload, packet: IPublishPacket) => resolve({ payload: payload.toString(), retain: packet.retain })))
  await c.subscribeAsync(stateTopic(hostId), { qos: 1 })
  const r = await got
  await c.endAsync()
  return { state: JSON.parse(r.payload), retain: r.retain }
}

t.test('STATE: birth is the first publish, retained; the will is a retained death with the same timestamp', async t => {
  const hostId = uniqueId('host')
  const group = uniqueId('g')
  const observer = await connectRaw()
  const seen: { topic: string, payload: Buffer }[] = []
  observer.on('message', (topic, payload) => { seen.push({ topic, payload }) })
  await observer.subscribeAsync([`spBv1.0/STATE/${hostId}`, `spBv1.0/${group}/NCMD/#`], { qos: 1 })
  t.teardown(() => observer.endAsync())

  // An edge already sending NDATA (no birth yet) makes the host publish NCMD rebirth requests
  // as soon as it can: they must come after its STATE birth.
  const edge = await TestEdge.connect(group, 'early')
  const chatter = setInterval(() => { edge.ndata([{ name: 'x', type: 'Double', value: 1 }]).catch(() => {}) }, 5)
  t.teardown(async () => { clearInterval(chatter); await edge.close() })

  const clientId = uniqueId('fs')
  // No reconnect during the test: the will must stay the last word.
  const collector = createMqttCollector(mqttConfig({ enabled: true, clientId, reconnectMinMs: 600_000, reconnectMaxMs: 600_000, sparkplug: { enabled: true, hostId, groupIds: [group] } }), { sink: new RecordingSink(), log: captureLog(), mqttUrl: MQTT_URL })
  await collector.start()
  await until(() => seen.some(s => s.topic.includes('/NCMD/')), 3000, 'a rebirth request')
  t.equal(seen[0]!.topic, stateTopic(hostId), 'the STATE birth comes before any other publish of the host')
  const birth = JSON.parse(seen[0]!.payload.toString()) as { online: boolean, timestamp: number }
  t.equal(birth.online, true)
  t.type(birth.timestamp, 'number')
  const r1 = await retainedState(hostId)
  t.equal(r1.retain, true, 'the birth is retained')
  t.same(r1.state, birth)

  // Take over the host's client id: the broker drops the host without a DISCONNECT and publishes its will.
  const usurper = await connectRaw({ clientId: `${clientId}-${hostId}` })
  await until(() => seen.some(s => s.topic === stateTopic(hostId) && JSON.parse(s.payload.toString()).online === false), 3000, 'STATE death')
  await usurper.endAsync()
  const r2 = await retainedState(hostId)
  t.equal(r2.retain, true, 'the death is retained')
  t.same(r2.state, { online: false, timestamp: birth.timestamp }, 'the death carries the birth timestamp')
  clearInterval(chatter)
  await collector.stop()
})

t.test('STATE: a clean stop publishes the retained death itself', async t => {
  const { collector, hostId } = await setup(t)
  const live = await retainedState(hostId)
  t.equal(live.state.online, true)
  await collector.stop()
  const after = await retainedState(hostId)
  t.same(after.state, { online: false, timestamp: live.state.timestamp })
})

t.test('STATE: a death read about ourselves while our connection stays up is answered with the birth again', async t => {
  const { hostId } = await setup(t)
  const live = await retainedState(hostId)
  // Someone else (an old session's will, a mistaken client) says we are offline; we are not.
  const other = await connectRaw()
  await other.publishAsync(stateTopic(hostId), JSON.stringify({ online: false, timestamp: live.state.timestamp }), { qos: 1, retain: true })
  await other.endAsync()
  // Answered after a moment, not at once: a death delivered as the broker shuts down must go
  // unanswered (host.ts); the MQTT restart fault case (test/faults/) covers that side.
  const deadline = Date.now() + 5000
  let again = await retainedState(hostId)
  while (!again.state.online && Date.now() < deadline) { await sleep(100); again = await retainedState(hostId) }
  t.same(again.state, live.state, 'the same birth (timestamp) is retained again')
})

t.test('NBIRTH/NDATA/DBIRTH/DDATA: aliases resolve to metric names and tag names', async t => {
  const { sink, edge, group } = await setup(t)
  const ts = Date.UTC(2024, 0, 2, 3, 4, 5)
  await edge.nbirth(0, [{ name: 'Supply/Voltage', alias: 1, type: 'Float', value: 24.5, timestamp: ts }])
  await edge.dbirth('pump1', [
    { name: 'discharge_pressure', alias: 10, type: 'Double', value: 3.25, timestamp: ts },
    { name: 'running', alias: 11, type: 'Boolean', value: true, timestamp: ts },
    { name: 'starts', alias: 12, type: 'Int64', value: -3, timestamp: ts },
  ])
  await edge.ndata([{ alias: 1, type: 'Float', value: 23.75, timestamp: ts + 1000 }])
  await edge.ddata('pump1', [{ alias: 10, type: 'Double', value: 3.5, timestamp: ts + 1000 }, { alias: 11, type: 'Boolean', value: false, timestamp: ts + 1000 }])
  const p = `${group}/node1`
  const points = await sink.waitFor(ps => ps.length >= 6)
  t.same(byTag(points, `${p}/Supply/Voltage`).map(x => x.value), [24.5, 23.75])
  t.same(byTag(points, `${p}/pump1/discharge_pressure`), [
    { tag: `${p}/pump1/discharge_pressure`, timeUs: ts * 1000, value: 3.25, quality: Quality.good },
    { tag: `${p}/pump1/discharge_pressure`, timeUs: (ts + 1000) * 1000, value: 3.5, quality: Quality.good },
  ])
  t.same(byTag(points, `${p}/pump1/running`).map(x => x.value), [true, false])
  t.same(byTag(points, `${p}/pump1/starts`).map(x => x.value), [-3])
  t.notOk(points.some(x => x.tag.endsWith('bdSeq') || x.tag.includes('Node Control')), 'session plumbing metrics are not points')
  t.same(new Set(sink.batches.map(b => b.source)), new Set([p, `${p}/pump1`]), 'one batch source per node and per device')
})

t.test('NDATA before NBIRTH -> rebirth request', async t => {
  const { collector, edge } = await setup(t)
  await edge.ndata([{ alias: 1, type: 'Double', value: 1 }])
  await until(() => edge.rebirthRequests === 1, 3000, 'rebirth')
  t.equal(collector.stats.sparkplug?.dataBeforeBirth, 1)
})

t.test('DDATA before its DBIRTH -> rebirth request', async t => {
  const { collector, edge } = await setup(t)
  await edge.nbirth(0, [])
  await edge.ddata('ghost', [{ alias: 5, type: 'Double', value: 1 }])
  await until(() => edge.rebirthRequests === 1, 3000, 'rebirth')
  t.equal(collector.stats.sparkplug?.dataBeforeBirth, 1)
})

t.test('unknown alias -> rebirth request; known metrics of the message still stored', async t => {
  const { collector, sink, edge, group } = await setup(t)
  await edge.nbirth(0, [{ name: 'a', alias: 1, type: 'Double', value: 1 }])
  await edge.ndata([{ alias: 1, type: 'Double', value: 2 }, { alias: 99, type: 'Double', value: 3 }])
  await until(() => edge.rebirthRequests === 1, 3000, 'rebirth')
  await sink.waitFor(ps => byTag(ps, `${group}/node1/a`).length === 2)
  t.equal(collector.stats.sparkplug?.unknownMetrics, 1)
})

t.test('seq: wrap 255 -> 0 is not a gap; out-of-order within the reorder timeout is not a gap', async t => {
  const { collector, sink, edge, group } = await setup(t)
  await edge.nbirth(0, [{ name: 'a', alias: 1, type: 'Double', value: 0 }])
  for (let i = 1; i <= 260; i++) await edge.ndata([{ alias: 1, type: 'Double', value: i }])
  // Swap two messages: 6 arrives before 5.
  await edge.ndata([{ alias: 1, type: 'Double', value: 1006 }], { seq: 6 })
  await edge.ndata([{ alias: 1, type: 'Double', value: 1005 }], { seq: 5 })
  await sink.waitFor(ps => byTag(ps, `${group}/node1/a`).length === 263)
  await sleep(500)
  t.equal(edge.rebirthRequests, 0)
  t.equal(collector.stats.sparkplug?.seqGaps, 0)
  const values = byTag(sink.points(), `${group}/node1/a`).map(p => p.value)
  t.same(values.slice(-2), [1005, 1006], 'the held message is processed after the one it waited for')
})

t.test('seq gap not filled within the reorder timeout -> rebirth request, held data still stored', async t => {
  const { collector, sink, edge, group } = await setup(t, { reorderTimeoutMs: 200 })
  await edge.nbirth(0, [{ name: 'a', alias: 1, type: 'Double', value: 0 }])
  await edge.ndata([{ alias: 1, type: 'Double', value: 1 }])
  edge.skip()
  const sentAt = Date.now()
  await edge.ndata([{ alias: 1, type: 'Double', value: 3 }])
  await edge.ndata([{ alias: 1, type: 'Double', value: 4 }])
  await until(() => edge.rebirthRequests === 1, 3000, 'rebirth')
  t.ok(Date.now() - sentAt >= 190, 'the request waits for the reorder timeout')
  await sink.waitFor(ps => byTag(ps, `${group}/node1/a`).length === 4)
  t.equal(collector.stats.sparkplug?.seqGaps, 1)
  t.same(byTag(sink.points(), `${group}/node1/a`).map(p => p.value), [0, 1, 3, 4])
})

t.test('rebirth storm protection: one pending request per node, a minimum interval between requests', async t => {
  const { collector, edge } = await setup(t, { rebirthMinIntervalMs: 400, rebirthTimeoutMs: 5000 })
  for (let i = 0; i < 50; i++) await edge.ndata([{ alias: 1, type: 'Double', value: i }])
  await sleep(600)
  t.equal(edge.rebirthRequests, 1, '50 reasons, one request while it is pending')
  t.equal(collector.stats.sparkplug?.rebirthSuppressed, 49)
  // The node answers; a new reason right away is still within the minimum interval...
  await edge.nbirth(1, [{ name: 'a', alias: 1, type: 'Double', value: 0 }])
  await edge.ndata([{ alias: 7, type: 'Double', value: 1 }])
  await sleep(100)
  t.equal(edge.rebirthRequests, 2, 'a birth clears the pending request; the interval since the last one (600 ms) has passed')
  await edge.ndata([{ alias: 7, type: 'Double', value: 1 }])
  await sleep(100)
  t.equal(edge.rebirthRequests, 2, 'not again within 400 ms')
  await sleep(400)
  await edge.nbirth(2, [{ name: 'a', alias: 1, type: 'Double', value: 0 }])
  await edge.ndata([{ alias: 8, type: 'Double', value: 1 }])
  await until(() => edge.rebirthRequests === 3, 2000, 'third rebirth')
  t.pass('after the interval a new reason is a new request')
})

t.test('NDEATH with a stale bdSeq is ignored; with the current bdSeq every metric goes bad (0x18)', async t => {
  const { collector, sink, edge, group } = await setup(t)
  await edge.nbirth(5, [{ name: 'a', alias: 1, type: 'Double', value: 1.5 }, { name: 's', alias: 3, type: 'String', value: 'text' }])
  await edge.dbirth('tank', [{ name: 'level', alias: 2, type: 'Float', value: 2.5 }, { name: 'open', alias: 4, type: 'Boolean', value: true }])
  await sink.waitFor(ps => ps.length === 3)
  await edge.ndeath(4)
  await sleep(200)
  t.equal(collector.stats.sparkplug?.deathsIgnored, 1)
  t.notOk(sink.points().some(p => p.quality === Quality.badCommFailure), 'no stale points for the late death')
  const before = Date.now() * 1000
  await edge.ndeath(5)
  const points = await sink.waitFor(ps => ps.filter(p => p.quality === Quality.badCommFailure).length === 3)
  const stale = points.filter(p => p.quality === Quality.badCommFailure).sort((x, y) => x.tag.localeCompare(y.tag))
  t.same(stale.map(p => [p.tag, p.value]), [[`${group}/node1/a`, 1.5], [`${group}/node1/tank/level`, 2.5], [`${group}/node1/tank/open`, true]], 'last values, stored types only')
  t.ok(stale.every(p => p.timeUs >= before), 'at the time the death was received')
  // The session is gone: data now is data before birth.
  await edge.ndata([{ alias: 1, type: 'Double', value: 1 }])
  await until(() => edge.rebirthRequests === 1, 3000, 'rebirth after death')
})

t.test('DDEATH marks only that device stale, at its timestamp', async t => {
  const { sink, edge, group } = await setup(t)
  await edge.nbirth(0, [{ name: 'a', alias: 1, type: 'Double', value: 1 }])
  await edge.dbirth('d1', [{ name: 'x', alias: 2, type: 'Int32', value: -7 }])
  const ts = Date.UTC(2024, 5, 1)
  await edge.ddeath('d1', ts)
  const points = await sink.waitFor(ps => ps.some(p => p.quality === Quality.badCommFailure))
  t.same(points.filter(p => p.quality === Quality.badCommFailure), [{ tag: `${group}/node1/d1/x`, timeUs: ts * 1000, value: -7, quality: Quality.badCommFailure }])
})

t.test('is_historical metrics are stored with the historical flag and never become the live value', async t => {
  const { sink, edge, group } = await setup(t)
  await edge.nbirth(0, [{ name: 'a', alias: 1, type: 'Double', value: 1 }])
  const old = Date.UTC(2024, 0, 1)
  await edge.ndata([{ alias: 1, type: 'Double', value: 42, timestamp: old, isHistorical: true }, { alias: 1, type: 'Double', value: 2 }])
  await edge.ndeath(0)
  const points = await sink.waitFor(ps => ps.some(p => p.quality === Quality.badCommFailure))
  const a = byTag(points, `${group}/node1/a`)
  const hist = a.filter(p => isHistoricalQuality(p.quality))
  t.same(hist, [{ tag: `${group}/node1/a`, timeUs: old * 1000, value: 42, quality: Quality.good | 0x100 }])
  t.equal(a.at(-1)!.value, 2, 'the stale point repeats the last live value, not the historical one')
})

t.test('datatypes: numeric and boolean stored, String/DataSet/Template skipped with a counted, logged reason', async t => {
  const { collector, sink, edge, group, log } = await setup(t)
  await edge.nbirth(0, [
    { name: 'i8', alias: 1, type: 'Int8', value: -5 },
    { name: 'i16', alias: 2, type: 'Int16', value: -300 },
    { name: 'i32', alias: 3, type: 'Int32', value: -70000 },
    { name: 'i64', alias: 4, type: 'Int64', value: -5000000000 },
    { name: 'u8', alias: 5, type: 'UInt8', value: 250 },
    { name: 'u16', alias: 6, type: 'UInt16', value: 65000 },
    { name: 'u32', alias: 7, type: 'UInt32', value: 4000000000 },
    { name: 'u64', alias: 8, type: 'UInt64', value: 9007199254740991 },
    { name: 'f', alias: 9, type: 'Float', value: 1.5 },
    { name: 'd', alias: 10, type: 'Double', value: Math.PI },
    { name: 'b', alias: 11, type: 'Boolean', value: true },
    { name: 'str', alias: 12, type: 'String', value: 'hello' },
    { name: 'ds', alias: 13, type: 'DataSet', value: { numOfColumns: 1, columns: ['c'], types: ['Int32'], rows: [[1]] } },
    { name: 'tpl', alias: 14, type: 'Template', value: { isDefinition: false, templateRef: 'T', metrics: [] } },
  ])
  const points = await sink.waitFor(ps => ps.length === 11)
  const value = (name: string): unknown => byTag(points, `${group}/node1/${name}`)[0]?.value
  t.same(['i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'f', 'd', 'b'].map(value), [-5, -300, -70000, -5000000000, 250, 65000, 4000000000, 9007199254740991, 1.5, Math.PI, true])
  t.equal(collector.stats.sparkplug?.metricsSkipped, 3)
  t.ok(log.lines.some(l => /str \(String\) skipped/.test(l)), 'the reason names the metric and its type')
  t.ok(log.lines.some(l => /tpl \(Template\) skipped/.test(l)))
})

t.test('a payload that is not Sparkplug protobuf is counted and skipped', async t => {
  const { collector, sink, edge, group } = await setup(t)
  await edge.nbirth(0, [{ name: 'a', alias: 1, type: 'Double', value: 1 }])
  await edge.client.publishAsync(`spBv1.0/${group}/NDATA/node1`, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
  await edge.ndata([{ alias: 1, type: 'Double', value: 2 }], { seq: 1 })
  await sink.waitFor(ps => ps.length === 2)
  t.equal(collector.stats.sparkplug?.payloadInvalid, 1)
})
