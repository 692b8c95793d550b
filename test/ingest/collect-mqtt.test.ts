// `fieldstream collect`, MQTT path, end to end: the real command (a child process of this build)
// with a JSON subscription and the Sparkplug B host on the shared Mosquitto (unique topic prefix,
// group and host id), into the local Kafka (a private topic). Every published point must be in
// Kafka exactly once; SIGTERM drains and exits 0.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../../schemas/config/load.js'
import { pointsOfBatch } from '../../schemas/points.js'
import { startSparkplugEdge } from '../../sim/sparkplug/edge.js'
import { startJsonPublisher } from '../../sim/sparkplug/json-publisher.js'
import { createTopic, readBack } from './kafka-sink/private-kafka.js'
import { MQTT_URL, uniqueId, until } from './mqtt/helpers.js'

/** The CLI of this very build (dist-<x>/cli/index.js), not whatever bin/ points at. */
const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url))

t.test('collect: JSON subscription + Sparkplug host from the YAML config into Kafka, every point once', async t => {
  const broker = loadConfig().kafka.brokers[0]!
  const topic = `fs.test.collect.mqtt.${process.pid}.${Date.now()}`
  await createTopic(broker, topic, 2)
  const prefix = uniqueId('collect')
  const group = uniqueId('collectg')
  const hostId = uniqueId('collecthost')
  const dir = mkdtempSync(join(tmpdir(), 'fs-collect-mqtt-'))
  const file = join(dir, 'config.yaml')
  writeFileSync(file, stringify({
    kafka: { brokers: [broker], topics: { points: topic }, partitions: 2 },
    mqtt: { url: MQTT_URL },
    collectors: {
      mqtt: {
        enabled: true,
        clientId: uniqueId('fs-collect'),
        flushIntervalMs: 50,
        subscriptions: [{ topic: `${prefix}/+/telemetry`, tag: '{1}/{key}', source: '{1}', payload: { points: 'points', key: 'name', value: 'v', timestamp: 't' } }],
        sparkplug: { enabled: true, hostId, groupIds: [group] },
      },
      spool: { dir: join(dir, 'spool') },
    },
  }))
  const child = spawn(process.execPath, [CLI, 'collect', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FIELDSTREAM_CONFIG: '' } })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exit = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await until(() => /collecting into/.test(stderr) || child.exitCode !== null, 20_000, 'collect to start')
  t.match(stderr, /sparkplug host .* online/, 'the Sparkplug host is online')

  // JSON: 40 QoS 1 messages of 2 readings for 2 devices, each value distinct.
  const pub = await startJsonPublisher(MQTT_URL, uniqueId('fs-collect-pub'))
  const t0 = Date.now() - 60_000
  const jsonSent: string[] = []
  for (let i = 0; i < 40; i++) {
    const device = `dev${i % 2}`
    const readings = [{ name: 'flow', v: i + 0.5, t: t0 + i }, { name: 'level', v: i * 2, t: t0 + i }]
    for (const r of readings) jsonSent.push(`${device}/${r.name}@${(t0 + i) * 1000}=${r.v}`)
    await pub.publish(`${prefix}/${device}/telemetry`, readings)
  }
  await pub.close()

  // Sparkplug: one node, 2 devices x 3 metrics; births once the host is online, then 10 rounds.
  const edge = await startSparkplugEdge({ url: MQTT_URL, groupId: group, nodes: 1, devicesPerNode: 2, metricsPerDevice: 3, intervalMs: 3_600_000, primaryHostId: hostId, seed: 9 })
  t.teardown(async () => await edge.stop())
  await until(() => edge.stats.births === 1, 10_000, 'the edge node to birth')
  for (let i = 0; i < 10; i++) {
    await edge.tick()
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(edge.stats.metricsPublished, 60, '10 rounds x 2 devices x 3 metrics published')
  await new Promise(resolve => setTimeout(resolve, 1500))

  child.kill('SIGTERM')
  t.equal(await exit, 0, 'exits 0 after SIGTERM')
  const stopped = /stopped: mqtt (\d+) batches, (\d+) points/.exec(stderr)
  t.ok(stopped, 'prints its final stats line')
  const batches = Number(stopped?.[1] ?? 0)
  const got = await readBack(broker, topic, batches, 20_000)
  const points = [...got.values()].flat().flatMap(b => pointsOfBatch(b))
  t.equal(points.length, Number(stopped?.[2]), 'Kafka holds every point the collector counted')

  const keys = points.map(p => `${p.tag}@${p.timeUs}=${String(p.value)}`)
  t.equal(new Set(keys).size, keys.length, 'no point twice')
  const jsonGot = keys.filter(k => k.startsWith('dev'))
  t.same(jsonGot.sort(), [...jsonSent].sort(), 'every JSON reading, once')
  const deviceData = points.filter(p => p.tag.startsWith(`${group}/node0/dev`))
  // Births carry the 6 device metrics once; each round carries them again.
  t.equal(deviceData.length, 6 + 60, 'every Sparkplug device metric of the births and the 10 rounds, once')
  t.same([...got.keys()].filter(k => k.startsWith(group)).sort(), [`${group}/node0/dev0`, `${group}/node0/dev1`].concat(got.has(`${group}/node0`) ? [`${group}/node0`] : []).sort(), 'Kafka keys: one per Sparkplug device (and node)')
  t.ok(got.has('dev0') && got.has('dev1'), 'Kafka keys: one per JSON source')
  for (const [source, list] of got) t.ok(list.every((b, i) => i === 0 || b.seq > list[i - 1]!.seq), `${source}: seqs increase`)
})
