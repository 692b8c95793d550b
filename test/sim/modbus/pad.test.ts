// The simulated well pad, read by the real collector over loopback sockets (and by mbpoll,
// an independent Modbus master): realistic values in every word order, a rolling totalizer,
// and faults that show in the data and in the ground-truth label log.
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createModbusCollector } from '../../../ingest/modbus/index.js'
import { MemorySink } from '../../../ingest/sink.js'
import { pointsOfBatch, type Point } from '../../../schemas/points.js'
import { Quality } from '../../../schemas/quality.js'
import { startModbusPad } from '../../../sim/modbus/index.js'
import { memoryLog, until } from '../../ingest/modbus/helpers.js'

const points = (sink: MemorySink): Point[] => sink.batches.flatMap(pointsOfBatch)
const valuesOf = (sink: MemorySink, tag: string): Array<number | boolean> => points(sink).filter(p => p.tag === tag && p.quality === Quality.good).map(p => p.value)

t.test('the collector reads realistic values from every device kind and word order', async t => {
  const pad = await startModbusPad({ pollIntervalMs: 50, timeoutMs: 500 })
  t.teardown(() => pad.close())
  t.same(new Set(pad.collectorConfig.devices.flatMap(d => d.fields.map(f => f.byteOrder))), new Set(['ABCD', 'CDAB', 'BADC', 'DCBA']), 'all four word orders on the pad')
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(pad.collectorConfig, { sink, log })
  await collector.start()
  await until(() => new Set(sink.batches.map(b => b.source)).size === pad.devices.length && sink.batches.length >= 3 * pad.devices.length, 10_000, 'batches from every device')
  await collector.stop()
  t.same(log.lines, [])
  t.ok(points(sink).every(p => p.quality === Quality.good), 'every point good')
  const within = (tag: string, lo: number, hi: number): void => {
    const vs = valuesOf(sink, tag) as number[]
    t.ok(vs.length > 0 && vs.every(v => v >= lo && v <= hi), `${tag} in ${lo}..${hi}: ${vs.slice(0, 3).map(v => v.toFixed(2)).join(', ')}`)
  }
  for (let i = 1; i <= 4; i++) {
    within(`pad1/pump${i}/speed`, 1250, 1650)
    within(`pad1/pump${i}/discharge_pressure`, 30, 56)
    within(`pad1/pump${i}/motor_temp`, 55, 75)
    t.ok(valuesOf(sink, `pad1/pump${i}/running`).every(v => v === true), `pad1/pump${i}/running`)
  }
  for (let i = 1; i <= 2; i++) {
    within(`pad1/tank${i}/level`, 1.1, 7.9)
    within(`pad1/fm${i}/rate`, 20, 45)
    within(`pad1/fm${i}/total`, 0, 2 ** 32 / 1000)
  }
})

t.test('the totalizer is a uint32 counter that rolls over', async t => {
  // Simulated time runs 200 times faster, so the counter passes 2^32 within a second.
  const t0 = Date.now()
  const pad = await startModbusPad({ pumps: 0, tanks: 0, flowMeters: 1, pollIntervalMs: 20, totalizerStart: 2 ** 32 - 3000, clock: () => t0 + (Date.now() - t0) * 200 })
  t.teardown(() => pad.close())
  const sink = new MemorySink()
  const collector = createModbusCollector(pad.collectorConfig, { sink, log: memoryLog() })
  await collector.start()
  const totals = (): number[] => valuesOf(sink, 'pad1/fm1/total') as number[]
  await until(() => totals().some((v, i, a) => i > 0 && v < a[i - 1]! - 4_000_000), 10_000, 'a rollover')
  await collector.stop()
  const vs = totals()
  const drop = vs.findIndex((v, i) => i > 0 && v < vs[i - 1]!)
  t.ok(vs[drop - 1]! > 4_294_960, `before: ${vs[drop - 1]} m3`)
  t.ok(vs[drop]! < 10, `after: ${vs[drop]} m3`)
  t.ok(vs.slice(0, drop).every((v, i) => i === 0 || v >= vs[i - 1]!), 'monotonic before the rollover')
})

t.test('injected faults show in the data and in the label log', async t => {
  const labelFile = join(mkdtempSync(join(tmpdir(), 'fieldstream-sim-')), 'labels.jsonl')
  const pad = await startModbusPad({ pumps: 2, tanks: 1, flowMeters: 0, pollIntervalMs: 20, timeoutMs: 100, tickMs: 10, labelFile })
  t.teardown(() => pad.close())
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(pad.collectorConfig, { sink, log })
  await collector.start()
  await until(() => sink.batches.length >= 6)

  const spike = pad.inject({ device: 'pad1/pump1', field: 'speed', kind: 'spike', magnitude: 5000, durationMs: 300 })
  const stuck = pad.inject({ device: 'pad1/tank1', field: 'level', kind: 'stuck', durationMs: 600 })
  // Longer than the retry budget (3 attempts of 100 ms plus 300 ms of backoff), which masks a short dropout.
  const drop = pad.inject({ device: 'pad1/pump2', kind: 'dropout', durationMs: 1500 })
  const inside = (p: Point, l: { startUs: number, endUs: number }): boolean => p.timeUs >= l.startUs + 50_000 && p.timeUs < l.endUs - 50_000
  await until(() => points(sink).some(p => p.tag === 'pad1/pump2/speed' && p.timeUs > drop.endUs + 200_000 && p.quality === Quality.good), 10_000, 'pump2 answering after its dropout')
  await collector.stop()

  const all = points(sink)
  t.ok(all.filter(p => p.tag === 'pad1/pump1/speed' && inside(p, spike)).every(p => (p.value as number) > 6000), 'spike raises speed')
  t.ok(all.filter(p => p.tag === 'pad1/pump1/speed' && p.timeUs > spike.endUs + 100_000).every(p => (p.value as number) < 2000), 'and ends')
  const held = new Set(all.filter(p => p.tag === 'pad1/tank1/level' && inside(p, stuck)).map(p => p.value))
  t.equal(held.size, 1, 'stuck level holds one value')
  const dropped = all.filter(p => p.tag.startsWith('pad1/pump2/') && inside(p, drop))
  t.ok(dropped.length > 0 && dropped.every(p => p.quality === Quality.badCommFailure), `dropout: ${dropped.length} points bad, comm failure`)
  t.ok(all.some(p => p.tag === 'pad1/pump2/speed' && p.timeUs > drop.endUs + 200_000 && p.quality === Quality.good), 'the device answers again after the dropout')
  t.match(log.lines.join('\n'), /modbus device pad1\/pump2 .*FS_MODBUS_TIMEOUT/)

  t.same(pad.labels.map(l => [l.id, l.kind, l.device, l.tag]), [
    [1, 'spike', 'pad1/pump1', 'pad1/pump1/speed'],
    [2, 'stuck', 'pad1/tank1', 'pad1/tank1/level'],
    [3, 'dropout', 'pad1/pump2', undefined],
  ])
  t.equal(spike.endUs - spike.startUs, 300_000)
  const fromFile = readFileSync(labelFile, 'utf8').trim().split('\n').map(l => JSON.parse(l) as { id: number })
  t.same(fromFile.map(l => l.id), [1, 2, 3], 'labels appended to the file as JSON lines')
  t.throws(() => pad.inject({ device: 'pad1/pump9', kind: 'spike', field: 'speed' }), /no simulated device pad1\/pump9/)
  t.throws(() => pad.inject({ device: 'pad1/pump1', kind: 'drift', field: 'colour' }), /has no field colour/)
})

t.test('mbpoll (an independent Modbus master) reads the simulator', async t => {
  if (spawnSync('mbpoll', ['-h'], { stdio: 'ignore' }).error !== undefined) {
    spawnSync('apt-get', ['install', '-y', '-qq', 'mbpoll'], { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  if (spawnSync('mbpoll', ['-h'], { stdio: 'ignore' }).error !== undefined) return t.fail('mbpoll is required for this interop test and `apt-get install mbpoll` did not provide it')
  const pad = await startModbusPad({ pumps: 1, tanks: 0, flowMeters: 0 })
  t.teardown(() => pad.close())
  const [host, port] = pad.devices[0]!.address.split(':') as [string, string]
  // Asynchronously: the simulator answers from this process's event loop.
  const mbpoll = async (...args: string[]): Promise<{ stdout: string }> => await promisify(execFile)('mbpoll', ['-m', 'tcp', '-p', port, '-a', '1', '-1', ...args, host], { encoding: 'utf8', timeout: 10_000 })
  // pump1 stores float32 ABCD, which mbpoll calls big-endian (-B); mbpoll references are 1-based.
  const r = await mbpoll('-r', '1', '-c', '2', '-t', '4:float', '-B')
  const speed = Number(/\[1\]:\s+(\S+)/.exec(r.stdout)?.[1])
  const pressure = Number(/\[3\]:\s+(\S+)/.exec(r.stdout)?.[1])
  t.ok(speed > 1250 && speed < 1650, `speed ${speed} rpm`)
  t.ok(pressure > 30 && pressure < 56, `discharge pressure ${pressure} bar`)
  const coil = await mbpoll('-r', '1', '-c', '1', '-t', '0')
  t.match(coil.stdout, /\[1\]:\s+1/, 'running coil is on')
})
