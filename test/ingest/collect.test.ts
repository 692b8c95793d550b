// `fieldstream collect` end to end: a simulated Modbus pad polled by the real command into the
// local Kafka (a private topic; the broker is not stopped here), SIGTERM drains and exits 0.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createServer, type AddressInfo } from 'node:net'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../../schemas/config/load.js'
import { startModbusPad } from '../../sim/modbus/pad.js'
import { repoPath } from '../helpers/repo.js'
import { createTopic, readBack } from './kafka-sink/private-kafka.js'

t.test('collect polls the configured devices into Kafka and drains on SIGTERM', async t => {
  const broker = loadConfig().kafka.brokers[0]!
  const topic = `fs.test.collect.${process.pid}.${Date.now()}`
  await createTopic(broker, topic, 2)
  const pad = await startModbusPad({ pumps: 2, tanks: 1, flowMeters: 0, pollIntervalMs: 200, basePort: 15700, lastPort: 15799 })
  t.teardown(async () => await pad.close())
  const metricsPort = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'fs-collect-'))
  const file = join(dir, 'config.yaml')
  writeFileSync(file, stringify({
    kafka: { brokers: [broker], topics: { points: topic }, partitions: 2 },
    collectors: { modbus: pad.collectorConfig, spool: { dir: join(dir, 'spool') } },
    metrics: { port: metricsPort },
  }))
  const child = spawn(process.execPath, [repoPath('bin/fieldstream.js'), 'collect', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FIELDSTREAM_CONFIG: '' } })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exit = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  // Poll for 4 s once it runs (starting the CLI takes seconds on a loaded machine).
  for (let waited = 0; !/collecting into/.test(stderr); waited += 100) {
    if (waited > 60_000) throw new Error(`collect did not start within 60 s: ${stderr}`)
    await sleep(100)
  }
  await sleep(4000)
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const collected = Number(/^fieldstream_points_ingested_total\{stage="collect"\} (\d+)/m.exec(metrics)?.[1])
  t.ok(collected > 0, `collect serves its metrics: ${collected} points collected`)
  child.kill('SIGTERM')
  t.equal(await exit, 0, 'exits 0 after SIGTERM')
  t.match(stderr, /collecting into fs\.test\.collect/, 'says where it collects to')
  const stopped = /stopped: modbus (\d+) polls .*?(\d+) batches/.exec(stderr)
  t.ok(stopped, 'prints its final stats line')
  const batches = Number(stopped?.[2] ?? 0)
  t.ok(batches >= 3, `${batches} batches from 3 devices (the deadband holds back unchanged values)`)
  const got = await readBack(broker, topic, batches, 15_000)
  t.same([...got.keys()].sort(), pad.devices.map(d => d.name).sort(), 'one Kafka key per device')
  t.equal([...got.values()].reduce((s, b) => s + b.length, 0), batches, 'every batch the collector counted is in Kafka')
  for (const [source, list] of got) t.ok(list.every((b, i) => i === 0 || b.seq > list[i - 1]!.seq), `${source}: seqs increase`)
})

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}
