// Two storage workers in one consumer group share the partitions; one leaves mid-stream
// (drain on stop), the other takes its partitions over from the durable offsets.
import t from 'tap'
import { createLogger } from '../../common/log.js'
import { createStorageWorker, workerOptionsFromConfig } from '../../workers/storage-worker.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'
import { createTestPipeline, storeCounts, storedPoints, waitFor } from '../helpers/pipeline.js'
import { makeBatches, pointCount } from '../helpers/points.js'

t.setTimeout(300_000)

t.test('a worker leaving mid-stream hands its partitions over: every point exactly once', async t => {
  const db = await createTestDatabase('rebalance')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  const p = await createTestPipeline('rebalance', db.url, { kafka: { partitions: 6 } })
  t.teardown(() => p.close())
  const batches = makeBatches({ devices: 24, batches: 1200, tagsPerDevice: 50, samples: 5 })
  const expected = pointCount(batches)

  const log = createLogger('test-rebalance')
  const a = createStorageWorker(workerOptionsFromConfig(p.cfg), { log, producer: p.producer })
  const b = createStorageWorker(workerOptionsFromConfig(p.cfg), { log, producer: p.producer })
  t.teardown(async () => { await a.stop(); await b.stop() })
  await a.start()
  await b.start()
  const producing = p.produce(batches, 20)
  await waitFor(() => storedPoints(db.pool), n => n >= expected / 3, 120_000)
  t.ok(a.stats.pointsStored > 0 && b.stats.pointsStored > 0, `both workers stored points (${a.stats.pointsStored} and ${b.stats.pointsStored})`)
  await a.stop()
  const aStored = a.stats.pointsStored
  await producing
  await waitFor(() => storedPoints(db.pool), n => n >= expected, 120_000)
  await new Promise(resolve => setTimeout(resolve, 2000)) // anything extra would land now
  const counts = await storeCounts(db.pool)
  t.equal(counts.points, expected, `all ${expected} points stored`)
  t.equal(counts.distinct, expected, 'none twice')
  t.equal(aStored + b.stats.pointsStored, expected, 'the two workers together wrote each point once')
})
