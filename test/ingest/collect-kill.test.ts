// Integration, on a PRIVATE Kafka broker: a collector process SIGKILLed with batches in its
// spool, twice (once while Kafka is away, once in the middle of draining the spool), then
// restarted: every acknowledged batch reaches Kafka, none twice, in order per device.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { KafkaSinkStats } from '../../ingest/kafka/index.js'
import { numberOf } from './kafka-sink/fixtures.js'
import { createTopic, privateKafka, readBack } from './kafka-sink/private-kafka.js'

const CHILD = new URL('./kafka-sink/child.js', import.meta.url).pathname
const kafka = await privateKafka(19192)
t.teardown(async () => await kafka.down())

interface Run { child: ChildProcess, acked: Map<string, number[]>, stats: KafkaSinkStats | undefined, exit: Promise<number | null> }

const children = new Set<ChildProcess>()
t.teardown(() => { for (const c of children) c.kill('SIGKILL') })

function run (broker: string, topic: string, dir: string, first: number): Run {
  // Chunks of 5 batches: the drain takes many round trips, so the kill lands in the middle of it.
  const child = spawn(process.execPath, [CHILD, broker, topic, dir, String(first), '5'], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const r: Run = { child, acked: new Map(), stats: undefined, exit: new Promise(resolve => child.once('exit', code => resolve(code))) }
  createInterface({ input: child.stdout! }).on('line', line => {
    const [kind, a, b] = line.split(' ')
    if (kind === 'ack') r.acked.set(a!, [...(r.acked.get(a!) ?? []), Number(b)])
    else if (kind === 'stats' || kind === 'closed') r.stats = JSON.parse(line.slice(kind.length + 1)) as KafkaSinkStats
  })
  return r
}

async function until (what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

t.test('SIGKILL with a non-empty spool, twice; restart: every acknowledged batch arrives once, in order', async t => {
  const topic = `fs.test.sink.kill.${process.pid}`
  await createTopic(kafka.broker, topic, 4)
  const dir = mkdtempSync(join(tmpdir(), 'fs-kill-spool-'))

  // A: Kafka unreachable; batches pile up in the spool; killed.
  const a = run('127.0.0.1:1', topic, dir, 0)
  await until('1000 spooled batches', () => (a.stats?.spool.pendingBatches ?? 0) >= 1000, 60_000)
  a.child.kill('SIGKILL')
  await a.exit
  t.ok((a.stats?.spool.pendingBatches ?? 0) >= 1000, `A was killed with ${a.stats?.spool.pendingBatches} batches in the spool`)

  // B: Kafka reachable; killed while it drains the spool (acks race cursor writes).
  const b = run(kafka.broker, topic, dir, 100_000)
  await until('B draining', () => (b.stats?.sentFromSpool ?? 0) >= 100, 60_000)
  b.child.kill('SIGKILL')
  await b.exit
  t.ok((b.stats?.spool.pendingBatches ?? 0) > 0, `B was killed mid-drain (${b.stats?.sentFromSpool} sent, ${b.stats?.spool.pendingBatches} still spooled)`)

  // C: restart; it resumes from the cursor, checks Kafka for what B sent but had not marked, drains, goes direct.
  const started = Date.now()
  const c = run(kafka.broker, topic, dir, 200_000)
  await until('C to empty the spool', () => c.stats?.state === 'direct' && c.stats.spool.pendingBatches === 0 && c.stats.sentDirect > 0, 60_000)
  const recoveryMs = Date.now() - started
  await sleep(500)
  c.child.kill('SIGTERM')
  t.equal(await c.exit, 0, 'C exits 0 on SIGTERM')
  t.comment(`recovery after SIGKILL: spool empty ${recoveryMs} ms after the restart (process start included); ${c.stats?.alreadyInKafka} spooled batches were found already in Kafka and not resent`)

  const acked = new Map<string, number[]>()
  for (const r of [a, b, c]) for (const [d, ns] of r.acked) acked.set(d, [...(acked.get(d) ?? []), ...ns])
  const total = [...acked.values()].reduce((s, ns) => s + ns.length, 0)
  const got = await readBack(kafka.broker, topic, total + 100, 15_000)
  for (const [device, ns] of acked) {
    const batches = got.get(device) ?? []
    const numbers = batches.map(numberOf)
    const seen = new Set(numbers)
    t.equal(seen.size, numbers.length, `${device}: no batch twice in Kafka (${numbers.length} batches)`)
    t.same(ns.filter(n => !seen.has(n)), [], `${device}: all ${ns.length} acknowledged batches are there`)
    t.ok(numbers.length - ns.length <= 2, `${device}: at most the write in progress at each kill arrived unacknowledged (${numbers.length - ns.length})`)
    t.same(numbers, [...numbers].sort((x, y) => x - y), `${device}: in the order written`)
    t.ok(batches.every((x, i) => i === 0 || x.seq > batches[i - 1]!.seq), `${device}: seqs strictly increase across the three processes`)
  }
})
