// A rebalance while messages wait in a worker's queues: on every group join the Kafka
// client re-reads each assigned partition from Kafka's committed offset, which trails what
// the worker has already queued (it commits to Kafka only after a flush is durable). The
// partitions the worker keeps then deliver again messages it still holds: each must be
// stored once.
import t from 'tap'
import type { Logger } from '../../common/log.js'
import { createStorageWorker, workerOptionsFromConfig } from '../../workers/storage-worker.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'
import { createTestPipeline, storeCounts, storedPoints, waitFor } from '../helpers/pipeline.js'
import { makeBatches, pointCount } from '../helpers/points.js'

t.setTimeout(180_000)

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('a rebalance replays queued messages of kept partitions: each point stored once', async t => {
  const db = await createTestDatabase('rejoin_replay')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  const p = await createTestPipeline('rejoin-replay', db.url, { kafka: { partitions: 4 } })
  t.teardown(() => p.close())
  const first = makeBatches({ devices: 16, batches: 160, tagsPerDevice: 20, samples: 5 })
  const second = makeBatches({ devices: 16, batches: 320, tagsPerDevice: 20, samples: 5, prefix: 'second' })
  const expected = pointCount(first) + pointCount(second)

  // 1. A worker stores the first batches and commits them to Kafka too (as it does after each flush).
  const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: m => { t.comment(m) }, error: m => { t.comment(m) } }
  const w0 = createStorageWorker(workerOptionsFromConfig(p.cfg), { log: quiet, producer: p.producer })
  await w0.start()
  await p.produce(first)
  await waitFor(() => storedPoints(db.pool), n => n >= pointCount(first), 60_000)
  await sleep(1000) // its Kafka commits go out
  await w0.stop()

  // 2. Worker A, flushing only every 20 s: the second batches wait in its queues, above
  // Kafka's committed offsets.
  const slow = { ...workerOptionsFromConfig(p.cfg), flushMs: 20_000, flushBytes: 64 * 2 ** 20 }
  const joins: string[] = []
  const log = (who: string): Logger => ({
    debug: () => undefined,
    info: m => { if (/assigned partitions/.test(m)) joins.push(`${who}: ${m.replace(/^.*assigned partitions /, '')}`) },
    warn: m => { t.comment(`${who}: ${m}`) },
    error: m => { t.comment(`${who}: ${m}`) },
  })
  const a = createStorageWorker(slow, { log: log('a'), producer: p.producer })
  t.teardown(() => a.stop())
  await a.start()
  await waitFor(async () => joins.length, n => n >= 1, 60_000)
  await p.produce(second)
  await waitFor(async () => a.stats.bufferedBytes, n => n >= 300_000, 30_000)
  t.equal(a.stats.flushes, 0, `worker a holds the second batches uncut (${a.stats.bufferedBytes} bytes queued)`)

  // 3. Worker B joins: A keeps half of the partitions, and the client re-reads them from
  // Kafka's committed offset, under the messages A already holds.
  const b = createStorageWorker(slow, { log: log('b'), producer: p.producer })
  t.teardown(() => b.stop())
  await b.start()
  await waitFor(async () => joins.length, n => n >= 3, 60_000)
  t.ok(joins.length >= 3, `rebalanced: ${joins.join(' | ')}`)

  await waitFor(() => storedPoints(db.pool), n => n >= expected, 90_000)
  await sleep(3000) // anything stored twice would land now
  const counts = await storeCounts(db.pool)
  t.equal(counts.distinct, expected, `all ${expected} points stored`)
  t.equal(counts.points, expected, 'none twice')
  t.equal(a.stats.pointsStored + b.stats.pointsStored, pointCount(second), 'a and b together wrote each point of the second batches once')
  t.ok(a.stats.skippedReplays > 0, `worker a dropped ${a.stats.skippedReplays} redelivered messages`)
})
