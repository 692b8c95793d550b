// Interop with an independent implementation: pymodbus 3.0 (Debian python3-pymodbus) serves
// test/fixtures/modbus/interop-map.json, encoded with Python's struct; the collector must read
// back every type in every byte order, over a real TCP socket and over a serial line (a socat
// pty pair) with Modbus RTU framing.
import t, { type Test } from 'tap'
import { createModbusCollector, loadModbusConfig } from '../../../ingest/modbus/index.js'
import { MemorySink } from '../../../ingest/sink.js'
import { pointsOfBatch, type PointBatch } from '../../../schemas/points.js'
import { Quality } from '../../../schemas/quality.js'
import { freePort, memoryLog, until } from './helpers.js'
import { ensureDebianPackage, haveSocat, havePymodbus, interopFields, interopMap, startPtyPair, startPymodbus } from './peers.js'

function checkMap (t: Test, batch: PointBatch | undefined, source: string): void {
  t.ok(batch, `a batch from ${source}`)
  const points = new Map(pointsOfBatch(batch!).map(p => [p.tag, p]))
  for (const f of interopMap.fields) {
    const p = points.get(`${source}/${f.name}`)
    t.equal(p?.value, f.value, `${source}: ${f.name}`)
    t.equal(p?.quality, Quality.good, `${source}: ${f.name} good`)
  }
}

t.test('Modbus TCP: every type in every byte order from pymodbus', async t => {
  const missing = ensureDebianPackage('python3-pymodbus', havePymodbus)
  if (missing !== undefined) return t.fail(missing)
  const port = await freePort()
  const server = await startPymodbus(port)
  t.teardown(() => { server.kill('SIGTERM') })

  const fields = interopFields()
  const address = `127.0.0.1:${port}`
  const cfg = loadModbusConfig({
    devices: [
      { name: 'py', address, unitId: interopMap.unitId, pollIntervalMs: 100, fields },
      // The same map with the workarounds on: one request per field, small requests, quiet line.
      { name: 'py-per-field', address, unitId: interopMap.unitId, pollIntervalMs: 100, requestPerField: true, pauseBetweenRequestsMs: 1, maxRegistersPerRequest: 4, fields },
      // Beyond pymodbus's 100 holding registers: an independent server's exception 2.
      { name: 'py-bad', address, unitId: interopMap.unitId, pollIntervalMs: 100, fields: [{ name: 'nowhere', address: 200 }] },
    ],
  })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  await collector.start()
  await until(() => new Set(sink.batches.map(b => b.source)).size === 3, 20_000, 'a batch from each device')
  await collector.stop()

  checkMap(t, sink.batches.find(b => b.source === 'py'), 'py')
  checkMap(t, sink.batches.find(b => b.source === 'py-per-field'), 'py-per-field')
  const bad = sink.batches.find(b => b.source === 'py-bad')!
  t.equal(bad.quality[0], Quality.badConfigError, 'pymodbus exception 2 -> bad, config error')
  t.match(log.lines.join('\n'), /modbus device py-bad \(unit 17 at 127\.0\.0\.1:\d+\): poll failed: FS_MODBUS_EXCEPTION Modbus exception 2: illegal data address/)
})

t.test('Modbus RTU over a serial line: the same map, the same code path', async t => {
  const missing = ensureDebianPackage('python3-pymodbus', havePymodbus) ?? ensureDebianPackage('socat', haveSocat)
  if (missing !== undefined) return t.fail(missing)
  const { a, b, socat } = await startPtyPair()
  t.teardown(() => { socat.kill('SIGTERM') })
  const server = await startPymodbus(b)
  t.teardown(() => { server.kill('SIGTERM') })

  const cfg = loadModbusConfig({
    devices: [{ name: 'rtu', serial: { path: a, baudRate: 19200 }, unitId: interopMap.unitId, pollIntervalMs: 200, timeoutMs: 1000, pauseBetweenRequestsMs: 5, fields: interopFields() }],
  })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  await collector.start()
  await until(() => sink.batches.length >= 2, 20_000, 'two batches over RTU')
  await collector.stop()
  checkMap(t, sink.batches[1], 'rtu')
  t.same(log.lines, [], 'no failures logged')
})
