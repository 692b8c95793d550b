import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createMqttCollector } from '../../../ingest/mqtt/index.js'
import { MemorySink } from '../../../ingest/sink.js'
import { loadConfig } from '../../../schemas/config/load.js'
import { repoPath } from '../../helpers/repo.js'
import { captureLog, mqttConfig } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'fieldstream-mqtt-config-'))

t.test('sample.yaml is a valid config and builds a collector', async t => {
  const cfg = loadConfig({ file: repoPath('ingest/mqtt/sample.yaml'), env: {} })
  t.equal(cfg.collectors.mqtt.subscriptions[0]?.payload.timestampUnit, 'ms')
  t.equal(cfg.collectors.mqtt.sparkplug.reorderTimeoutMs, 2000)
  t.ok(createMqttCollector(cfg.collectors.mqtt, { sink: new MemorySink(), log: captureLog(), mqttUrl: cfg.mqtt.url }))
})

t.test('schema mistakes name the option', async t => {
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, readFileSync(repoPath('ingest/mqtt/sample.yaml'), 'utf8').replace('timestampUnit: ms', 'timestampUnit: ns').replace('maxInFlight: 1000', 'maxInFlight: 0'))
  t.throws(() => loadConfig({ file, env: {} }), { code: 'FS_CONFIG_INVALID', message: /collectors\.mqtt\.maxInFlight: must be >= 1/ })
  t.throws(() => loadConfig({ file, env: {} }), { message: /collectors\.mqtt\.subscriptions\[0\]\.payload\.timestampUnit/ })
})

t.test('template mistakes are reported when the collector is built, before anything connects', async t => {
  const cfg = mqttConfig({ subscriptions: [{ topic: 'a/+', tag: '{3}' }] })
  t.throws(() => createMqttCollector(cfg, { sink: new MemorySink(), log: captureLog(), mqttUrl: 'mqtt://127.0.0.1:1' }), { code: 'FS_CONFIG_INVALID', message: /collectors\.mqtt\.subscriptions\[0\]\.tag: \{3\} refers to topic level 3/ })
})

t.test('an unreadable TLS file names the option', async t => {
  const cfg = mqttConfig({ tls: { ca: join(dir, 'missing.pem') }, subscriptions: [{ topic: 'a/+', tag: '{1}' }] })
  // Read when the collector is created, before anything connects.
  t.throws(() => createMqttCollector(cfg, { sink: new MemorySink(), log: captureLog(), mqttUrl: 'mqtts://127.0.0.1:1' }), { code: 'FS_MQTT_TLS_UNREADABLE', message: /collectors\.mqtt\.tls\.ca: cannot read/ })
})
