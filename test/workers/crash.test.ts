// Process-level faults while points stream: a worker SIGKILLed mid-stream and restarted,
// and PostgreSQL restarted under a running worker. Afterwards the store holds every point
// produced exactly once.
import { spawn, type ChildProcess } from 'node:child_process'
import t from 'tap'
import { loadConfig } from '../../schemas/config/load.js'
import { stackOptionsFromConfig, startService, stopService } from '../../stack/index.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'
import { createTestPipeline, storeCounts, storedPoints, waitFor } from '../helpers/pipeline.js'
import { makeBatches, pointCount } from '../helpers/points.js'
import { repoPath } from '../helpers/repo.js'

t.setTimeout(600_000)

const children = new Set<ChildProcess>()
// A failed assertion must not leave a worker running (it would keep this process alive).
t.teardown(() => { for (const c of children) c.kill('SIGKILL') })

function startWorker (configFile: string): ChildProcess {
  const child = spawn(process.execPath, [repoPath('bin/fieldstream.js'), '-c', configFile, 'work'], {
    env: { ...process.env, FIELDSTREAM_LOG: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

function exited (child: ChildProcess): Promise<number | null> {
  return new Promise(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once('exit', code => resolve(code))
  })
}

t.test('worker SIGKILLed mid-stream, then restarted: every point exactly once', async t => {
  const db = await createTestDatabase('crash_kill')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  const p = await createTestPipeline('crash-kill', db.url)
  t.teardown(() => p.close())
  const batches = makeBatches({ devices: 20, batches: 2000, tagsPerDevice: 50, samples: 5 })
  const expected = pointCount(batches)

  let worker = startWorker(p.configFile)
  const producing = p.produce(batches, 20)
  const mid = await waitFor(() => storedPoints(db.pool), n => n >= expected / 4, 120_000)
  t.ok(mid > 0 && mid < expected, `killed mid-stream at ${mid} of ${expected} points`)
  worker.kill('SIGKILL')
  await exited(worker)
  worker = startWorker(p.configFile)
  await producing
  await waitFor(() => storedPoints(db.pool), n => n >= expected, 180_000)
  worker.kill('SIGTERM')
  t.equal(await exited(worker), 0, 'the restarted worker drains and exits cleanly on SIGTERM')
  const counts = await storeCounts(db.pool)
  t.equal(counts.points, expected, `all ${expected} points stored`)
  t.equal(counts.distinct, expected, 'none twice')
})

t.test('PostgreSQL restarted mid-stream: the worker waits, retries, and stores every point exactly once', async t => {
  const db = await createTestDatabase('crash_pg')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  const p = await createTestPipeline('crash-pg', db.url)
  t.teardown(() => p.close())
  const cfg = loadConfig()
  const stack = stackOptionsFromConfig(cfg, () => undefined)
  const batches = makeBatches({ devices: 20, batches: 1500, tagsPerDevice: 50, samples: 5 })
  const expected = pointCount(batches)

  const worker = startWorker(p.configFile)
  const producing = p.produce(batches, 20)
  await waitFor(() => storedPoints(db.pool), n => n >= expected / 5, 120_000)
  await stopService('postgres', stack)
  await t.rejects(db.pool.query('SELECT 1'), 'the database is really down')
  await new Promise(resolve => setTimeout(resolve, 5000))
  await startService('postgres', stack)
  await producing
  await waitFor(() => storedPoints(db.pool).catch(() => -1), n => n >= expected, 180_000)
  worker.kill('SIGTERM')
  t.equal(await exited(worker), 0, 'the worker survived the outage and exits cleanly')
  const counts = await storeCounts(db.pool)
  t.equal(counts.points, expected, `all ${expected} points stored`)
  t.equal(counts.distinct, expected, 'none twice')
})
