// The Modbus collector against devices that misbehave on the wire: a raw `net` server speaking
// MBAP so it can answer with exceptions, wrong byte counts, wrong transaction ids, half a frame
// then a dropped connection, half a frame then nothing, or not at all. The healthy devices
// beside them (modbus-serial ServerTCP) must keep their poll schedule; each hostile device must
// give bad-quality points (never a wrong value as good) and be polled again once it behaves.
import { createServer, type Server, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { createModbusCollector, loadModbusConfig } from '../../../ingest/modbus/index.js'
import type { BatchSink } from '../../../ingest/sink.js'
import { pointsOfBatch, type PointBatch } from '../../../schemas/points.js'
import { Quality } from '../../../schemas/quality.js'
import { freePort, memoryLog, startTestServer, until } from './helpers.js'

/** How the hostile server answers a read request. */
type Behavior =
  | 'healthy'
  | 'exception' // a Modbus exception (code in `exceptionCode`)
  | 'wrong-byte-count' // the PDU byte count says one register more than the data holds
  | 'extra-register' // a consistent reply for one register more than asked
  | 'wrong-tid' // a correct reply under another transaction id
  | 'wrong-unit' // a correct reply from another unit id
  | 'silent' // never answers (keeps the connection)
  | 'half-then-close' // half of a correct reply, then the connection is destroyed
  | 'half-then-silent' // half of a correct reply, then nothing: the client's stream is mid-frame
  | 'mbap-too-long' // an MBAP length field far beyond the frame, then nothing more
  | 'mbap-too-short' // an MBAP length field shorter than the frame: its tail reads as the next frame
  | 'close' // drops the connection on every request

interface HostileServer {
  port: number
  address: string
  /** Behavior per unit id; units not listed use `fallback`. */
  behaviors: Map<number, Behavior>
  fallback: Behavior
  exceptionCode: number
  /** Requests received (complete MBAP frames). */
  requests: number
  connections: number
  close (): Promise<void>
}

/** The register image of a hostile server: register i holds 1000 + i. */
const registerValue = (address: number): number => 1000 + address

async function startHostileServer (fallback: Behavior, port?: number): Promise<HostileServer> {
  port ??= await freePort()
  const sockets = new Set<Socket>()
  const state: HostileServer = {
    port,
    address: `127.0.0.1:${port}`,
    behaviors: new Map(),
    fallback,
    exceptionCode: 4,
    requests: 0,
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
  const server: Server = createServer(socket => {
    sockets.add(socket)
    state.connections++
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = Buffer.alloc(0)
    socket.on('data', data => {
      pending = Buffer.concat([pending, data])
      // MBAP: transaction id (2), protocol id (2), length (2) of unit id + PDU, unit id (1).
      while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const frame = pending.subarray(0, 6 + pending.readUInt16BE(4))
        pending = pending.subarray(frame.length)
        state.requests++
        answer(socket, frame)
      }
    })
  })

  function answer (socket: Socket, frame: Buffer): void {
    const tid = frame.readUInt16BE(0)
    const unit = frame[6]!
    const fc = frame[7]!
    const start = frame.readUInt16BE(8)
    const count = frame.readUInt16BE(10)
    const behavior = state.behaviors.get(unit) ?? state.fallback
    const mbap = (pdu: Buffer, opts: { tid?: number, unit?: number, length?: number } = {}): Buffer => {
      const head = Buffer.alloc(7)
      head.writeUInt16BE(opts.tid ?? tid, 0)
      head.writeUInt16BE(0, 2)
      head.writeUInt16BE(opts.length ?? pdu.length + 1, 4)
      head[6] = opts.unit ?? unit
      return Buffer.concat([head, pdu])
    }
    const registers = (n: number, byteCount = n * 2): Buffer => {
      const pdu = Buffer.alloc(2 + n * 2)
      pdu[0] = fc
      pdu[1] = byteCount
      for (let i = 0; i < n; i++) pdu.writeUInt16BE(registerValue(start + i), 2 + i * 2)
      return pdu
    }
    const good = mbap(registers(count))
    switch (behavior) {
      case 'healthy': socket.write(good); break
      case 'exception': socket.write(mbap(Buffer.from([fc | 0x80, state.exceptionCode]))); break
      case 'wrong-byte-count': socket.write(mbap(registers(count, (count + 1) * 2))); break
      case 'extra-register': socket.write(mbap(registers(count + 1))); break
      case 'wrong-tid': socket.write(mbap(registers(count), { tid: (tid + 100) & 0xffff })); break
      case 'wrong-unit': socket.write(mbap(registers(count), { unit: unit + 1 })); break
      case 'silent': break
      case 'half-then-close': socket.write(good.subarray(0, Math.ceil(good.length / 2)), () => socket.destroy()); break
      case 'half-then-silent': socket.write(good.subarray(0, Math.ceil(good.length / 2))); break
      case 'mbap-too-long': socket.write(mbap(registers(count), { length: 250 })); break
      case 'mbap-too-short': socket.write(mbap(registers(count), { length: 3 })); break
      case 'close': socket.destroy(); break
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return state
}

/** A sink that notes when each batch arrived, for counting polls in a time window. */
class TimedSink implements BatchSink {
  readonly batches: Array<{ at: number, batch: PointBatch }> = []
  async write (batch: PointBatch): Promise<void> { this.batches.push({ at: performance.now(), batch }) }
  async close (): Promise<void> {}
  of (source: string, from = 0, to = Infinity): PointBatch[] {
    return this.batches.filter(b => b.batch.source === source && b.at >= from && b.at < to).map(b => b.batch)
  }
}

const allGood = (b: PointBatch): boolean => b.quality.every(q => q === Quality.good)

const POLL_MS = 100
/** Fast failure: a hostile device costs at most (1 + retries) timeouts per poll. */
const device = (name: string, address: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name, address, pollIntervalMs: POLL_MS, timeoutMs: 150, connectTimeoutMs: 500, retries: 1, retryBackoffMs: 10,
  fields: [{ name: 'a', address: 0 }, { name: 'b', address: 1 }],
  ...extra,
})

/** Fails the test on any unhandled rejection or uncaught exception while the collector runs. */
function watchProcess (t: Test): { errors: unknown[] } {
  const errors: unknown[] = []
  const onError = (err: unknown): void => { errors.push(err) }
  process.on('unhandledRejection', onError)
  process.on('uncaughtException', onError)
  t.teardown(() => {
    process.off('unhandledRejection', onError)
    process.off('uncaughtException', onError)
  })
  return { errors }
}

const HOSTILE: Array<{ behavior: Behavior, quality: number }> = [
  { behavior: 'exception', quality: Quality.badDeviceFailure },
  { behavior: 'wrong-byte-count', quality: Quality.badCommFailure },
  { behavior: 'extra-register', quality: Quality.badCommFailure },
  { behavior: 'wrong-tid', quality: Quality.badCommFailure },
  { behavior: 'wrong-unit', quality: Quality.badCommFailure },
  { behavior: 'silent', quality: Quality.badCommFailure },
  { behavior: 'half-then-close', quality: Quality.badCommFailure },
  { behavior: 'half-then-silent', quality: Quality.badCommFailure },
  { behavior: 'mbap-too-long', quality: Quality.badCommFailure },
  { behavior: 'mbap-too-short', quality: Quality.badCommFailure },
  { behavior: 'close', quality: Quality.badCommFailure },
]

t.test('hostile devices give bad points and recover; healthy ones keep their schedule', async t => {
  const watch = watchProcess(t)
  const healthy = await Promise.all([startTestServer({ 1: { holding: [11, 22] } }), startTestServer({ 1: { holding: [33, 44] } })])
  const hostile = await Promise.all(HOSTILE.map(h => startHostileServer(h.behavior)))
  t.teardown(async () => { await Promise.all([...healthy, ...hostile].map(s => s.close())) })

  const cfg = loadModbusConfig({
    devices: [
      device('good-1', healthy[0]!.address),
      device('good-2', healthy[1]!.address),
      ...HOSTILE.map((h, i) => device(`bad-${h.behavior}`, hostile[i]!.address)),
    ],
  })
  const sink = new TimedSink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  t.teardown(() => collector.stop())
  await collector.start()

  // Warm-up: every device has started (staggered over one interval) and failed at least once.
  await until(() => HOSTILE.every(h => sink.of(`bad-${h.behavior}`).length >= 1), 5000, 'a batch from every hostile device')
  const WINDOW_MS = 2000
  const from = performance.now()
  await new Promise(resolve => setTimeout(resolve, WINDOW_MS))
  const to = performance.now()

  for (const [name, values] of [['good-1', [11, 22]], ['good-2', [33, 44]]] as const) {
    const batches = sink.of(name, from, to)
    const expected = WINDOW_MS / POLL_MS
    // Generous: the machine is shared; what a hostile neighbour would cause is a poll every
    // timeout or worse, or none at all.
    t.ok(batches.length >= expected * 0.6 && batches.length <= expected + 2, `${name}: ${batches.length} polls in ${WINDOW_MS} ms (schedule: ${expected})`)
    t.ok(batches.every(allGood), `${name}: every point good`)
    t.same([...batches.at(-1)!.value], values, `${name}: right values`)
  }
  for (const h of HOSTILE) {
    const name = `bad-${h.behavior}`
    const batches = sink.of(name, from, to)
    t.ok(batches.length >= 3, `${name}: still polled (${batches.length} polls in the window)`)
    const qualities = new Set(batches.flatMap(b => [...b.quality]))
    t.same([...qualities], [h.quality], `${name}: only 0x${h.quality.toString(16)} points`)
  }
  // One line per device when it starts failing, not one per poll.
  for (const h of HOSTILE) {
    const lines = log.lines.filter(l => l.includes(`modbus device bad-${h.behavior} `))
    t.ok(lines.length >= 1 && lines.length <= 3, `bad-${h.behavior}: ${lines.length} log line(s): ${lines[0] ?? ''}`)
  }

  // Every hostile device behaves again: each must be read again, with the right values.
  for (const s of hostile) s.fallback = 'healthy'
  const recovered = performance.now()
  await until(() => HOSTILE.every(h => sink.of(`bad-${h.behavior}`, recovered).some(allGood)), 8000, 'good points from every recovered device')
    .catch(err => { t.fail(`${(err as Error).message}: still failing: ${HOSTILE.filter(h => !sink.of(`bad-${h.behavior}`, recovered).some(allGood)).map(h => h.behavior).join(', ')}`) })
  for (const h of HOSTILE) {
    const good = sink.of(`bad-${h.behavior}`, recovered).filter(allGood)
    if (good.length > 0) t.same([...good.at(-1)!.value], [registerValue(0), registerValue(1)], `bad-${h.behavior}: recovered with the right values`)
  }
  await collector.stop()
  t.same(watch.errors, [], 'no unhandled rejection or uncaught exception')
})

t.test('a unit that misbehaves behind a shared gateway costs its neighbour at most its timeouts', async t => {
  // Units 1 and 2 behind one address share one connection and one queue: unit 2 garbling the
  // stream must not garble unit 1's replies, and unit 2 must be read again once it behaves.
  const watch = watchProcess(t)
  for (const behavior of ['half-then-silent', 'mbap-too-long', 'mbap-too-short', 'wrong-tid', 'silent'] as const) {
    const server = await startHostileServer('healthy')
    server.behaviors.set(2, behavior)
    const cfg = loadModbusConfig({
      devices: [
        device('unit-1', server.address, { unitId: 1 }),
        device('unit-2', server.address, { unitId: 2 }),
      ],
    })
    const sink = new TimedSink()
    const collector = createModbusCollector(cfg, { sink, log: memoryLog() })
    await collector.start()
    await until(() => sink.of('unit-2').length >= 1, 5000, 'a batch from unit 2')
    const WINDOW_MS = 1500
    const from = performance.now()
    await new Promise(resolve => setTimeout(resolve, WINDOW_MS))
    const to = performance.now()
    const one = sink.of('unit-1', from, to)
    // Each unit-2 poll holds the line for up to 150 ms (no retries once it is known down), so
    // unit 1 gets at least one poll per ~250 ms.
    t.ok(one.length >= 4, `${behavior}: unit 1 polled ${one.length} times in ${WINDOW_MS} ms`)
    t.ok(one.every(allGood), `${behavior}: unit 1's points all good`)
    t.ok(one.every(b => b.value[0] === registerValue(0) && b.value[1] === registerValue(1)), `${behavior}: unit 1's values right`)
    t.ok(sink.of('unit-2', from, to).every(b => b.quality.every(q => q === Quality.badCommFailure)), `${behavior}: unit 2 bad`)
    server.behaviors.delete(2)
    const recovered = performance.now()
    await until(() => sink.of('unit-2', recovered).some(allGood), 5000, `${behavior}: unit 2 good again`)
      .then(() => t.pass(`${behavior}: unit 2 read again once it behaves`), err => t.fail((err as Error).message))
    await collector.stop()
    await server.close()
  }
  t.same(watch.errors, [], 'no unhandled rejection or uncaught exception')
})

t.test('a device whose server is gone and comes back on the same port is polled again', async t => {
  const watch = watchProcess(t)
  const server = await startHostileServer('healthy')
  const cfg = loadModbusConfig({ devices: [device('flaky', server.address), device('steady', (await startHealthy(t)).address)] })
  const sink = new TimedSink()
  const collector = createModbusCollector(cfg, { sink, log: memoryLog() })
  t.teardown(() => collector.stop())
  await collector.start()
  await until(() => sink.of('flaky').some(allGood), 5000, 'flaky good')
  await server.close()
  const down = performance.now()
  await until(() => sink.of('flaky', down).some(b => b.quality.every(q => q === Quality.badCommFailure)), 5000, 'flaky bad')
  // Same port again: connection refused meanwhile, then a fresh connection.
  const again = createServerOn(server.port)
  t.teardown(() => again.then(s => s.close()))
  await again
  const up = performance.now()
  await until(() => sink.of('flaky', up).some(allGood), 5000, 'flaky good again')
  t.ok(sink.of('steady', down).every(allGood) && sink.of('steady', down).length > 0, 'steady was polled throughout')
  await collector.stop()
  t.same(watch.errors, [], 'no unhandled rejection or uncaught exception')
})

async function startHealthy (t: Test): Promise<{ address: string }> {
  const s = await startTestServer({ 1: { holding: [1, 2] } })
  t.teardown(() => s.close())
  return s
}

/** A healthy raw server on a given port (the port of one just closed). */
async function createServerOn (port: number): Promise<HostileServer> {
  for (let tries = 0; ; tries++) {
    try {
      return await startHostileServer('healthy', port)
    } catch (err) {
      if (tries > 20) throw err
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}
