// The collector against a real modbus-serial ServerTCP on a loopback socket.
import t from 'tap'
import { createModbusCollector, loadModbusConfig } from '../../../ingest/modbus/index.js'
import { MemorySink } from '../../../ingest/sink.js'
import { pointsOfBatch } from '../../../schemas/points.js'
import { Quality } from '../../../schemas/quality.js'
import { freePort, memoryLog, startTestServer, until } from './helpers.js'

const FIXED_US = 1_767_225_600_000_000

t.test('reads every table, decodes, scales, and writes one batch per poll', async t => {
  // holding: 0 = 1234 (uint16), 1..2 = float32 12.5 CDAB, 3 = -2 (int16), 10..11 uint32 70000
  const server = await startTestServer({
    7: {
      holding: [1234, 0x0000, 0x4148, 0xfffe, 0, 0, 0, 0, 0, 0, 0x0001, 0x1170],
      input: [500, 0b1010],
      coils: [true, false, true],
      discrete: [false, true],
    },
  })
  t.teardown(() => server.close())
  const cfg = loadModbusConfig({
    devices: [{
      name: 'pump-1', address: server.address, unitId: 7, pollIntervalMs: 50, timeoutMs: 500,
      fields: [
        { name: 'speed', address: 0, scale: 0.5, offset: 1, unit: 'rpm' },
        { name: 'pressure', address: 1, type: 'float32', byteOrder: 'CDAB', unit: 'bar' },
        { name: 'temp', address: 3, type: 'int16' },
        { name: 'total', address: 10, type: 'uint32' },
        { name: 'level', table: 'inputRegister', address: 0, scale: 0.1 },
        { name: 'alarm1', table: 'inputRegister', address: 1, type: 'bool', bit: 1 },
        { name: 'alarm2', table: 'inputRegister', address: 1, type: 'bool', bit: 2 },
        { name: 'running', table: 'coil', address: 0 },
        { name: 'open', table: 'coil', address: 2 },
        { name: 'trip', table: 'discreteInput', address: 1 },
      ],
    }],
  })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log, now: () => FIXED_US })
  await collector.start()
  await until(() => sink.batches.length >= 3, 5000, '3 batches')
  await collector.stop()

  const [b0, b1] = sink.batches
  t.equal(b0!.source, 'pump-1')
  t.equal(b0!.seq, 0)
  t.equal(b1!.seq, 1)
  const byTag = Object.fromEntries(pointsOfBatch(b0!).map(p => [p.tag, p]))
  t.same(Object.fromEntries(Object.entries(byTag).map(([k, p]) => [k, p.value])), {
    'pump-1/speed': 1234 * 0.5 + 1,
    'pump-1/pressure': 12.5,
    'pump-1/temp': -2,
    'pump-1/total': 70000,
    'pump-1/level': 50,
    'pump-1/alarm1': true,
    'pump-1/alarm2': false,
    'pump-1/running': true,
    'pump-1/open': true,
    'pump-1/trip': true,
  })
  for (const p of Object.values(byTag)) {
    t.equal(p.quality, Quality.good, `${p.tag} is good`)
    t.equal(p.timeUs, FIXED_US, `${p.tag} carries the poll time`)
  }
  // Blocks: holding 0..3 and 10..11 (gap 6 > maxGapRegisters 0), input 0..1, coils 0 and 2
  // (gap 1 > maxGapBits 0), discrete 1: six requests per complete poll.
  const { requests, polls, batches } = collector.stats
  t.ok(requests >= 6 * batches && requests <= 6 * polls, `six requests per poll (${requests} requests, ${polls} polls, ${batches} batches)`)
  t.same(log.lines, [], 'nothing logged while healthy')
})

t.test('an illegal address gives config-error points and one log line until it is fixed', async t => {
  const server = await startTestServer({ 3: { holding: [1, 2, 3], exception: 2 } })
  t.teardown(() => server.close())
  const cfg = loadModbusConfig({ devices: [{ name: 'tank-2', address: server.address, unitId: 3, pollIntervalMs: 20, fields: [{ name: 'level', address: 0 }] }] })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  await collector.start()
  await until(() => sink.batches.length >= 5, 5000, '5 batches')
  for (const b of sink.batches) t.equal(b.quality[0], Quality.badConfigError)
  t.equal(log.lines.length, 1, 'one line for five failed polls')
  t.match(log.lines[0], /^warn modbus device tank-2 \(unit 3 at 127\.0\.0\.1:\d+\): poll failed: FS_MODBUS_EXCEPTION Modbus exception 2: illegal data address/)
  t.match(log.lines[0], /0x04 \(bad, config error\)/)

  delete server.units.get(3)!.exception
  const before = sink.batches.length
  await until(() => sink.batches.length >= before + 2 && sink.batches.at(-1)!.quality[0] === Quality.good, 5000, 'good batches')
  await collector.stop()
  t.equal(log.lines.length, 2, 'one more line on recovery')
  t.match(log.lines[1], /^info modbus device tank-2 \(unit 3 at .*\): polls succeed again after \d+ failed polls/)
  t.equal(sink.batches.at(-1)!.value[0], 1)
})

t.test('a device failure exception gives device-failure points', async t => {
  const server = await startTestServer({ 1: { holding: [1], exception: 4 } })
  t.teardown(() => server.close())
  const cfg = loadModbusConfig({ devices: [{ name: 'fm-1', address: server.address, pollIntervalMs: 20, retries: 0, fields: [{ name: 'flow', address: 0 }] }] })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  await collector.start()
  await until(() => sink.batches.length >= 2)
  await collector.stop()
  t.equal(sink.batches[0]!.quality[0], Quality.badDeviceFailure)
  t.match(log.lines[0], /Modbus exception 4: server device failure/)
})

t.test('no server: comm-failure points, one log line, and polling goes on', async t => {
  const port = await freePort()
  const cfg = loadModbusConfig({ devices: [{ name: 'gone', address: `127.0.0.1:${port}`, pollIntervalMs: 20, retries: 1, retryBackoffMs: 1, fields: [{ name: 'x', address: 0 }, { name: 'y', address: 100 }] }] })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  await collector.start()
  await until(() => sink.batches.length >= 4)
  await collector.stop()
  for (const b of sink.batches) t.same([...b.quality], [Quality.badCommFailure, Quality.badCommFailure])
  t.equal(log.lines.length, 1)
  t.match(log.lines[0], /^warn modbus device gone \(unit 1 at 127\.0\.0\.1:\d+\): poll failed: FS_MODBUS_CONNECTION_FAILED cannot connect/)
  t.match(log.lines[0], /and 1 more block/)
  t.match(log.lines[0], /0x18 \(bad, comm failure\)/)
})

t.test('a silent unit times out: comm-failure points carrying the last good value', async t => {
  const server = await startTestServer({ 1: { holding: [42] } })
  t.teardown(() => server.close())
  const cfg = loadModbusConfig({ devices: [{ name: 'rtu-1', address: server.address, pollIntervalMs: 30, timeoutMs: 60, retries: 0, fields: [{ name: 'v', address: 0 }] }] })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  await collector.start()
  await until(() => sink.batches.length >= 1)
  server.units.get(1)!.silent = true
  await until(() => sink.batches.some(b => b.quality[0] === Quality.badCommFailure), 3000, 'a bad batch')
  await collector.stop()
  const bad = sink.batches.find(b => b.quality[0] === Quality.badCommFailure)!
  t.equal(bad.value[0], 42, 'bad point carries the last good value')
  t.match(log.lines.join('\n'), /FS_MODBUS_TIMEOUT no reply within 60 ms \(holdingRegister 0\.\.0, function 3\)/)
})

t.test('deadband: values inside the band are held back, seq stays gap-free', async t => {
  const server = await startTestServer({ 1: { holding: [100, 7] } })
  t.teardown(() => server.close())
  const cfg = loadModbusConfig({ devices: [{ name: 'db', address: server.address, pollIntervalMs: 15, fields: [{ name: 'a', address: 0, deadband: 5 }, { name: 'b', address: 1, deadband: 5 }] }] })
  const sink = new MemorySink()
  const collector = createModbusCollector(cfg, { sink, log: memoryLog() })
  await collector.start()
  await until(() => collector.stats.polls >= 3)
  t.equal(sink.batches.length, 1, 'unchanged values are sent once')
  server.units.get(1)!.holding![0] = 103
  await until(() => collector.stats.polls >= 6)
  t.equal(sink.batches.length, 1, 'a change within the band is not sent')
  server.units.get(1)!.holding![0] = 106
  await until(() => sink.batches.length >= 2)
  await collector.stop()
  t.same(pointsOfBatch(sink.batches[1]!).map(p => [p.tag, p.value]), [['db/a', 106]], 'only the field that left its band')
  t.same(sink.batches.map(b => b.seq), [0, 1])
})
