// GatewayConnection and DevicePoller against a real ServerTCP: reconnects, connection
// workarounds, and error mapping.
import t from 'tap'
import { resolveModbusConfig, loadModbusConfig } from '../../../ingest/modbus/config.js'
import { GatewayConnection } from '../../../ingest/modbus/connection.js'
import { GatewayQueue } from '../../../ingest/modbus/gateway-queue.js'
import { DevicePoller, emptyStats } from '../../../ingest/modbus/poll.js'
import { MemorySink } from '../../../ingest/sink.js'
import { Quality } from '../../../schemas/quality.js'
import { freePort, memoryLog, startTestServer } from './helpers.js'

function deviceOf (device: Record<string, unknown>) {
  return resolveModbusConfig(loadModbusConfig({ devices: [{ name: 'd', fields: [{ name: 'a', address: 0 }, { name: 'b', address: 1 }], ...device }] }))[0]!
}

t.test('reads a block, reconnects after close, and waits pauseAfterConnectMs after connecting', async t => {
  const server = await startTestServer({ 1: { holding: [7, 8] } })
  t.teardown(() => server.close())
  const d = deviceOf({ address: server.address, pauseAfterConnectMs: 60 })
  const conn = new GatewayConnection(d.gateway)
  const block = { table: 'holdingRegister' as const, functionCode: 3, start: 0, count: 2, members: [] }
  let t0 = performance.now()
  const first = await conn.read(1, block, 500)
  t.ok(performance.now() - t0 >= 58, 'first read waited for the pause after connect')
  t.same(first.kind === 'registers' ? [...first.bytes] : [], [0, 7, 0, 8])
  t0 = performance.now()
  await conn.read(1, block, 500)
  t.ok(performance.now() - t0 < 50, 'no pause on an open connection')
  conn.close()
  await conn.read(1, block, 500)
  t.equal(conn.connects, 2, 'reconnected after close')
  conn.close()
})

t.test('a connection the server drops fails the request in flight and reconnects on the next', async t => {
  const server = await startTestServer({ 1: { holding: [1], silent: true } })
  t.teardown(() => server.close())
  const conn = new GatewayConnection(deviceOf({ address: server.address }).gateway)
  const block = { table: 'holdingRegister' as const, functionCode: 3, start: 0, count: 1, members: [] }
  const inFlight = conn.read(1, block, 5000)
  setTimeout(() => { void server.close() }, 50)
  const t0 = performance.now()
  await t.rejects(inFlight, { code: 'FS_MODBUS_CONNECTION_FAILED' })
  t.ok(performance.now() - t0 < 1000, 'failed at once, not after the 5 s timeout')
  conn.close()
})

t.test('connection refused and connect timeout are connection failures', async t => {
  const port = await freePort()
  const conn = new GatewayConnection(deviceOf({ address: `127.0.0.1:${port}` }).gateway)
  const block = { table: 'holdingRegister' as const, functionCode: 3, start: 0, count: 1, members: [] }
  await t.rejects(conn.read(1, block, 100), { code: 'FS_MODBUS_CONNECTION_FAILED', message: new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}`) })
  // 192.0.2.0/24 is TEST-NET-1: never routed, so the connect hangs until our timeout.
  const slow = new GatewayConnection(deviceOf({ address: '192.0.2.1:502', connectTimeoutMs: 100 }).gateway)
  const t0 = performance.now()
  await t.rejects(slow.read(1, block, 100), { code: 'FS_MODBUS_CONNECTION_FAILED' })
  t.ok(performance.now() - t0 < 2000, 'gave up after connectTimeoutMs')
})

t.test('closeAfterPoll opens one connection per poll; requestPerField sends one request per field', async t => {
  const server = await startTestServer({ 1: { holding: [1, 2] } })
  t.teardown(() => server.close())
  const d = deviceOf({ address: server.address, closeAfterPoll: true, requestPerField: true })
  const conn = new GatewayConnection(d.gateway)
  const stats = emptyStats()
  const sink = new MemorySink()
  const poller = new DevicePoller(d, conn, new GatewayQueue('g'), { sink, log: memoryLog(), nowUs: () => 1_767_225_600_000_000, stats })
  t.equal(poller.blocks.length, 2)
  for (let i = 0; i < 3; i++) await poller.poll()
  t.equal(conn.connects, 3)
  t.equal(server.requests.get(1), 6)
  t.same(sink.batches.map(b => [...b.value]), [[1, 2], [1, 2], [1, 2]])
  t.ok(sink.batches.every(b => b.quality.every(q => q === Quality.good)))
})

t.test('a unit that stopped answering gets one probe per poll, not its retries, and its other blocks are not sent', async t => {
  const server = await startTestServer({ 1: { holding: [1, 2, 0, 0, 0, 3], silent: true } })
  t.teardown(() => server.close())
  const d = deviceOf({ address: server.address, timeoutMs: 50, retries: 2, retryBackoffMs: 1, fields: [{ name: 'a', address: 0 }, { name: 'b', address: 5 }] })
  const conn = new GatewayConnection(d.gateway)
  t.teardown(() => conn.close())
  const stats = emptyStats()
  const log = memoryLog()
  const poller = new DevicePoller(d, conn, new GatewayQueue('g'), { sink: new MemorySink(), log, nowUs: () => 1_767_225_600_000_000, stats })
  await poller.poll()
  t.equal(stats.requests, 3, 'first failing poll: one block, 1 + 2 retries; the second block is not sent')
  await poller.poll()
  t.equal(stats.requests, 4, 'second failing poll: a single probe')
  t.equal(log.lines.length, 1)
})
