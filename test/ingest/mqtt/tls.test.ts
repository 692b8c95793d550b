// The MQTT collector (JSON subscriptions and the Sparkplug host) against a PRIVATE Mosquitto with
// a TLS listener (server certificate from a throwaway CA made with openssl) and a password file:
// the config's tls.ca + username/password connect; a wrong password or an untrusted CA is a
// clear FS_MQTT_CONNECT_REFUSED at start, not a silent retry loop.
import mqtt from 'mqtt'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { createMqttCollector } from '../../../ingest/mqtt/index.js'
import { startSparkplugEdge } from '../../../sim/sparkplug/edge.js'
import { encodeJsonReadings } from '../../../sim/sparkplug/json-publisher.js'
import { makeTestPki } from '../certs.js'
import { captureLog, mqttConfig, RecordingSink, uniqueId } from './helpers.js'
import { privateMosquitto } from './private-mosquitto.js'

const pki = makeTestPki('mqtt')
const user = { name: 'collector', password: 'collector-secret' }
const broker = await privateMosquitto({ tls: 18883, plain: 18884 }, pki, [user, { name: 'edge', password: 'edge-secret' }])
t.teardown(async () => await broker.stop())

function collectorConfig (over: Record<string, unknown>, prefix: string, group: string): ReturnType<typeof mqttConfig> {
  return mqttConfig(withoutUndefined({
    enabled: true,
    clientId: uniqueId('fs-tls'),
    username: user.name,
    password: user.password,
    tls: { ca: pki.caFile },
    flushIntervalMs: 20,
    subscriptions: [{ topic: `${prefix}/+/telemetry`, tag: '{1}/{key}', source: '{1}', payload: { points: 'points', key: 'name', value: 'v', timestamp: 't' } }],
    sparkplug: { enabled: true, hostId: uniqueId('tlshost'), groupIds: [group] },
    ...over,
  }))
}

const withoutUndefined = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

t.test('TLS with the config CA and username/password: JSON and Sparkplug points arrive', async t => {
  const prefix = uniqueId('tls')
  const group = uniqueId('tlsg')
  const sink = new RecordingSink()
  const cfg = collectorConfig({}, prefix, group)
  const collector = createMqttCollector(cfg, { sink, log: captureLog(), mqttUrl: broker.tlsUrl })
  await collector.start()
  t.teardown(async () => await collector.stop())

  const pub = await mqtt.connectAsync(broker.tlsUrl, { protocolVersion: 5, username: 'edge', password: 'edge-secret', ca: readFileSync(pki.caFile), reconnectPeriod: 0 })
  t.teardown(async () => await pub.endAsync())
  await pub.publishAsync(`${prefix}/pump1/telemetry`, encodeJsonReadings([{ name: 'flow', v: 12.5, t: Date.now() }, { name: 'run', v: true, t: Date.now() }]), { qos: 1 })

  const edge = await startSparkplugEdge({
    url: broker.tlsUrl, groupId: group, nodes: 1, devicesPerNode: 1, metricsPerDevice: 2, intervalMs: 50, primaryHostId: cfg.sparkplug.hostId, seed: 5,
    connectOptions: { username: 'edge', password: 'edge-secret', ca: readFileSync(pki.caFile) },
  })
  t.teardown(async () => await edge.stop())
  const points = await sink.waitFor(ps => ps.some(p => p.tag === 'pump1/flow') && ps.filter(p => p.tag.startsWith(`${group}/`)).length >= 10, 10_000)
  t.same(points.filter(p => p.tag.startsWith('pump1/')).map(p => [p.tag, p.value]), [['pump1/flow', 12.5], ['pump1/run', true]], 'the JSON message, over TLS')
  t.ok(points.filter(p => p.tag.startsWith(`${group}/node0/dev0/`)).length >= 10, 'Sparkplug data through the host session, over TLS')
  t.match(broker.log(), /New client connected .* u'collector'/, 'the broker saw the collector log in with its user name')
})

t.test('wrong password: start() rejects with FS_MQTT_CONNECT_REFUSED naming the problem', async t => {
  for (const [what, over] of [['JSON session', { sparkplug: { enabled: false } }], ['Sparkplug host', { subscriptions: [] }]] as const) {
    const cfg = collectorConfig({ password: 'wrong', ...over }, uniqueId('tls'), uniqueId('tlsg'))
    const collector = createMqttCollector(cfg, { sink: new RecordingSink(), log: captureLog(), mqttUrl: broker.tlsUrl })
    const started = Date.now()
    await t.rejects(collector.start(), { code: 'FS_MQTT_CONNECT_REFUSED', message: /MQTT broker mqtts:\/\/127\.0\.0\.1:18883 refused client .*: (bad user name or password|not authorized)/ }, what)
    t.ok(Date.now() - started < 5000, `${what}: refused in ${Date.now() - started} ms, not retried forever`)
  }
})

t.test('a broker certificate from an untrusted CA: FS_MQTT_CONNECT_REFUSED pointing at tls.ca', async t => {
  const cfg = collectorConfig({ tls: { ca: pki.otherCaFile } }, uniqueId('tls'), uniqueId('tlsg'))
  const collector = createMqttCollector(cfg, { sink: new RecordingSink(), log: captureLog(), mqttUrl: broker.tlsUrl })
  const started = Date.now()
  await t.rejects(collector.start(), { code: 'FS_MQTT_CONNECT_REFUSED', message: /TLS handshake failed: .*(certificate|self[- ]signed).*collectors\.mqtt\.tls\.ca/ })
  t.ok(Date.now() - started < 5000, `refused in ${Date.now() - started} ms`)
})

t.test('config mistakes are reported before connecting', async t => {
  t.throws(() => createMqttCollector(collectorConfig({}, 'x', 'g'), { sink: new RecordingSink(), log: captureLog(), mqttUrl: broker.plainUrl }), { code: 'FS_CONFIG_INVALID', message: /collectors\.mqtt\.tls is set but mqtt\.url \(mqtt:\/\/127\.0\.0\.1:18884\) is not a TLS address/ })
  t.throws(() => createMqttCollector(collectorConfig({ tls: { ca: '/nonexistent/ca.pem' } }, 'x', 'g'), { sink: new RecordingSink(), log: captureLog(), mqttUrl: broker.tlsUrl }), { code: 'FS_MQTT_TLS_UNREADABLE', message: /collectors\.mqtt\.tls\.ca: cannot read \/nonexistent\/ca\.pem/ })
  // Username/password without TLS work too (the plain listener of the same broker).
  const collector = createMqttCollector(collectorConfig({ tls: undefined, sparkplug: { enabled: false } }, uniqueId('tls'), 'g'), { sink: new RecordingSink(), log: captureLog(), mqttUrl: broker.plainUrl })
  await collector.start()
  await collector.stop()
  t.pass('username/password over mqtt:// connect')
})
