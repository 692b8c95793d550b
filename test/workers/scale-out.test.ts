// Scale-out across PROCESSES: two `fieldstream work` processes share one consumer group over a
// 12-partition topic while the test produces a steady stream; one of them is stopped mid-stream
// (SIGTERM: it drains and leaves the group; SIGKILL: it vanishes and the group notices after the
// session timeout), the stream goes on, and every point must be stored exactly once.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { stringify } from 'yaml'
import { createAdmin, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import { encodeBatch } from '../../schemas/wire/codec.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'
import { storeCounts, storedPoints, waitFor } from '../helpers/pipeline.js'
import { makeBatches, pointCount } from '../helpers/points.js'

t.setTimeout(240_000)

// The CLI of this same build: bin/fieldstream.js always loads dist/, which may be another build.
const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url))
const PARTITIONS = 12

interface WorkerProcess {
  child: ChildProcess
  /** The partitions of its latest assignment. */
  assigned: number[]
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

function startWorker (configFile: string): WorkerProcess {
  const child = spawn(process.execPath, [CLI, '-c', configFile, 'work'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FIELDSTREAM_LOG: 'info' } })
  const w: WorkerProcess = {
    child,
    assigned: [],
    exited: new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal }))),
  }
  createInterface({ input: child.stderr! }).on('line', line => {
    const m = /assigned partitions (\S+)/.exec(line)
    if (m !== null) w.assigned = m[1] === '(none)' ? [] : m[1]!.split(',').map(Number)
    if (/ (warn|error) /.test(line)) process.stderr.write(`worker ${child.pid}: ${line}\n`)
  })
  return w
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function until (check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  t.test(`two worker processes, one ${signal === 'SIGTERM' ? 'stopped (SIGTERM)' : 'killed (SIGKILL)'} mid-stream: every point exactly once`, async t => {
    const db = await createTestDatabase(`scale_out_${signal}`)
    t.teardown(() => db.drop())
    await migrateTestDatabase(db.url)
    const unique = `scaleout.${signal.toLowerCase()}.${process.pid}.${Date.now()}`
    const topic = `fs.test.${unique}.points`
    const dir = mkdtempSync(join(tmpdir(), 'fs-scale-out-'))
    const configFile = join(dir, 'config.yaml')
    writeFileSync(configFile, stringify({
      kafka: { topics: { points: topic, deadLetter: `fs.test.${unique}.dlq`, alerts: `fs.test.${unique}.alerts` }, partitions: PARTITIONS },
      database: { url: db.url },
      workers: { groupId: `fs-test-${unique}`, threads: 1, lanes: 2, flushMB: 1, flushMs: 100, maxBufferedMB: 32 },
      // Storage only: scoring and rollups have their own tests and would only add load here.
      scoring: { enabled: false },
      store: { rollupRefreshMs: 0 },
    }))
    const cfg = loadConfig({ file: configFile, env: {} })
    const admin = createAdmin(cfg.kafka)
    await ensureTopics(admin, [
      { name: topic, partitions: PARTITIONS, replicationFactor: 1 },
      { name: cfg.kafka.topics.deadLetter, partitions: 1, replicationFactor: 1 },
      { name: cfg.kafka.topics.alerts, partitions: 1, replicationFactor: 1 },
    ])
    const producer = createBatchProducer(cfg.kafka)
    const workers = [startWorker(configFile), startWorker(configFile)]
    t.teardown(async () => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM')
      await Promise.all(workers.map(w => w.exited))
      await producer.close()
      await admin.deleteTopics({ topics: [topic, cfg.kafka.topics.deadLetter, cfg.kafka.topics.alerts] }).catch(() => undefined)
      await admin.close()
    })

    const [a, b] = workers as [WorkerProcess, WorkerProcess]
    t.ok(await until(() => a.assigned.length > 0 && b.assigned.length > 0 && a.assigned.length + b.assigned.length === PARTITIONS, 90_000),
      `the two processes split the ${PARTITIONS} partitions (${a.assigned.join(',')} | ${b.assigned.join(',')})`)

    // 48 devices x 20 tags x 5 samples: 2,400 batches, 240,000 points, produced in 100 slices
    // of 24 batches every 150 ms, so the stream runs for some 15-25 s on this machine.
    const batches = makeBatches({ devices: 48, batches: 2400, tagsPerDevice: 20, samples: 5, prefix: `so${signal}` })
    const expected = pointCount(batches)
    let produced = 0
    const producing = (async () => {
      for (let i = 0; i < batches.length; i += 24) {
        await producer.send({ messages: batches.slice(i, i + 24).map(batch => ({ topic, key: batch.source, value: encodeBatch(batch) })) })
        produced += 24
        await sleep(150)
      }
    })()

    // Mid-stream: both have stored points and a third of the stream is out.
    await until(() => produced >= batches.length / 3, 60_000)
    const before = await storedPoints(db.pool)
    t.ok(before > 0 && before < expected, `mid-stream: ${before} of ${expected} points stored when ${signal} goes out`)
    t.ok(produced < batches.length, `the stream is still running (${produced} of ${batches.length} batches produced)`)
    a.child.kill(signal)
    const gone = await a.exited
    if (signal === 'SIGTERM') t.equal(gone.code, 0, 'the stopped worker drained and exited 0')
    else t.equal(gone.signal, 'SIGKILL', 'the killed worker died without draining')

    // The survivor takes every partition over (after the session timeout for SIGKILL).
    t.ok(await until(() => b.assigned.length === PARTITIONS, 90_000), `the surviving process holds all ${PARTITIONS} partitions (${b.assigned.join(',')})`)
    await producing
    const stored = await waitFor(() => storedPoints(db.pool), n => n >= expected, 90_000)
    t.equal(stored >= expected, true, `the survivor caught up (${stored} of ${expected})`)
    await sleep(2000) // anything stored twice would land now
    const counts = await storeCounts(db.pool)
    t.equal(counts.points, expected, `all ${expected} points stored`)
    t.equal(counts.distinct, expected, 'none of them twice')
    t.equal(b.child.exitCode, null, 'the survivor is still running')
  })
}
