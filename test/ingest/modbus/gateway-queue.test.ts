// The per-gateway queue: FIFO, one job at a time, failures isolated; and, against a real
// ServerTCP with three units behind one port, a silent unit neither skips nor stalls the others.
import t from 'tap'
import { GatewayQueue } from '../../../ingest/modbus/gateway-queue.js'
import { createModbusCollector, loadModbusConfig } from '../../../ingest/modbus/index.js'
import { MemorySink } from '../../../ingest/sink.js'
import { Quality } from '../../../schemas/quality.js'
import { memoryLog, startTestServer } from './helpers.js'

const delay = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('jobs run one at a time in FIFO order; a failing job does not touch the next', async t => {
  const q = new GatewayQueue('test')
  const events: string[] = []
  let running = 0
  const job = (name: string, ms: number, fail = false) => async (): Promise<string> => {
    running++
    t.equal(running, 1, `${name} runs alone`)
    events.push(`start ${name}`)
    await delay(ms)
    running--
    if (fail) throw new Error(`${name} failed`)
    return name
  }
  const results = await Promise.allSettled([q.run(job('a', 20)), q.run(job('b', 5, true)), q.run(job('c', 1))])
  t.same(events, ['start a', 'start b', 'start c'])
  t.same(results.map(r => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.equal(q.completed, 3)
})

t.test('quiet time after a job holds the next one back', async t => {
  const q = new GatewayQueue('test')
  let firstEnd = 0
  let secondStart = 0
  await Promise.all([
    q.run(async () => { firstEnd = performance.now() }, 40),
    q.run(async () => { secondStart = performance.now() }),
  ])
  t.ok(secondStart - firstEnd >= 38, `second started ${(secondStart - firstEnd).toFixed(1)} ms after the first`)
})

t.test('close fails queued jobs with a coded error and refuses new ones', async t => {
  const q = new GatewayQueue('gw')
  const first = q.run(() => delay(20))
  const queued = q.run(async () => 'never')
  q.close()
  await t.rejects(queued, { code: 'FS_MODBUS_CONNECTION_FAILED' })
  await t.rejects(q.run(async () => 1), { code: 'FS_MODBUS_CONNECTION_FAILED', message: /gateway gw is closed/ })
  await first
})

t.test('a silent unit behind a shared gateway neither skips nor stalls the other units', async t => {
  const server = await startTestServer({ 1: { holding: [11, 12] }, 2: { holding: [21, 22], silent: true }, 3: { holding: [31, 32] } })
  t.teardown(() => server.close())
  const INTERVAL = 100
  const TIMEOUT = 80
  const device = (unitId: number) => ({
    name: `unit-${unitId}`, address: server.address, unitId, pollIntervalMs: INTERVAL, timeoutMs: TIMEOUT,
    // Generous retries: if they held the line, the other units would wait 4 timeouts plus 700 ms of backoff.
    retries: 3, retryBackoffMs: 100,
    fields: [{ name: 'a', address: 0 }, { name: 'b', address: 1 }],
  })
  const cfg = loadModbusConfig({ devices: [device(1), device(2), device(3)] })
  const sink = new MemorySink()
  const log = memoryLog()
  const collector = createModbusCollector(cfg, { sink, log })
  const t0 = performance.now()
  await collector.start()
  await delay(1500)
  await collector.stop()
  const elapsed = performance.now() - t0

  const of = (name: string) => sink.batches.filter(b => b.source === name)
  for (const name of ['unit-1', 'unit-3']) {
    const batches = of(name)
    t.ok(batches.length >= Math.floor(elapsed / INTERVAL) - 2, `${name}: ${batches.length} polls in ${elapsed.toFixed(0)} ms`)
    t.same(batches.map(b => b.seq), batches.map((_, i) => i), `${name}: no batch skipped`)
    t.ok(batches.every(b => b.quality.every(q => q === Quality.good)), `${name}: every point good`)
    // When each poll's data arrived (the batch is sealed after its last read), not when it began.
    const gaps = batches.slice(1).map((b, i) => (b.producedAtUs - batches[i]!.producedAtUs) / 1000)
    const worst = Math.max(...gaps)
    t.ok(worst <= INTERVAL + TIMEOUT + 150, `${name}: longest gap between poll results ${worst.toFixed(0)} ms`)
  }
  const silent = of('unit-2')
  t.ok(silent.length >= 3, `unit-2 still polled (${silent.length} batches)`)
  t.ok(silent.every(b => b.quality.every(q => q === Quality.badCommFailure)), 'unit-2: every point bad, comm failure')
  t.equal(log.lines.length, 1, 'one log line for the silent unit')
  t.match(log.lines[0], /modbus device unit-2 \(unit 2 at 127\.0\.0\.1:\d+\): poll failed: FS_MODBUS_TIMEOUT/)
})
