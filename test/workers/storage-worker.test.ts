// The storage worker against the real broker and server: exactly the points produced are
// stored, poison batches go to the dead-letter topic, late and out-of-order points land.
import t from 'tap'
import { createAdmin, createBatchConsumer } from '../../common/kafka.js'
import { createLogger } from '../../common/log.js'
import { startMetricsServer } from '../../common/metrics.js'
import { batchFromPoints } from '../../schemas/points.js'
import { encodeBatch } from '../../schemas/wire/codec.js'
import { createStorageWorker, workerOptionsFromConfig } from '../../workers/storage-worker.js'
import { createTestDatabase } from '../helpers/db.js'
import { createTestPipeline, storeCounts, storedPoints, waitFor } from '../helpers/pipeline.js'
import { makeBatches, pointCount, T0_US } from '../helpers/points.js'

t.setTimeout(240_000)

t.test('N points produced -> exactly N stored; poison to the dead-letter topic; late and out-of-order points', async t => {
  const db = await createTestDatabase('worker')
  t.teardown(() => db.drop())
  const p = await createTestPipeline('worker', db.url)
  t.teardown(() => p.close())

  const onTime = makeBatches({ devices: 8, batches: 400, tagsPerDevice: 25, samples: 10 })
  // Three days late, and each batch's points shuffled (out of order within the batch).
  const late = makeBatches({ devices: 4, batches: 40, tagsPerDevice: 10, samples: 5, startUs: T0_US - 3 * 86_400_000_000, prefix: 'late' })
    .map(b => {
      const order = Array.from(b.tagIndex.keys()).sort((x, y) => ((x * 7919) % 101) - ((y * 7919) % 101))
      return { ...b, tagIndex: Uint32Array.from(order, i => b.tagIndex[i]!), timeUs: Float64Array.from(order, i => b.timeUs[i]!), value: Float64Array.from(order, i => b.value[i]!), quality: Uint16Array.from(order, i => b.quality[i]!) }
    })
  const expected = pointCount(onTime) + pointCount(late)

  await p.produce(onTime.slice(0, 200))
  const poison = Buffer.from('{"tag":"not a batch","value":1}')
  await p.produceRaw('dev-poison', poison)
  const truncated = encodeBatch(batchFromPoints('dev-cut', 1, [{ tag: 'x', timeUs: T0_US, value: 1, quality: 192 }])).subarray(0, 20)
  await p.produceRaw('dev-cut', truncated)

  const log = createLogger('test-worker')
  const worker = createStorageWorker(workerOptionsFromConfig(p.cfg), { log, producer: p.producer })
  await worker.start()
  t.teardown(() => worker.stop())
  await p.produce(onTime.slice(200))
  await p.produce(late)

  await waitFor(() => storedPoints(db.pool), n => n >= expected, 90_000)
  const counts = await storeCounts(db.pool)
  t.equal(counts.points, expected, `all ${expected} points stored`)
  t.equal(counts.distinct, expected, 'no point stored twice')
  t.equal(worker.stats.deadLettered, 2, 'two poison batches dead-lettered')

  // What it stored is on /metrics, as `fieldstream work` serves it.
  const metrics = await startMetricsServer({ host: '127.0.0.1', port: 0 })
  t.teardown(() => metrics.close())
  const text = await (await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).text()
  const stored = Number(/^fieldstream_points_ingested_total\{stage="store"\} (\d+)/m.exec(text)?.[1])
  t.equal(stored, expected, 'fieldstream_points_ingested_total{stage="store"} counts every stored point')
  t.ok(Number(/^fieldstream_copy_seconds_count (\d+)/m.exec(text)?.[1]) >= 1, 'COPY latency histogram observed the flushes')

  const { rows: [lateRead] } = await db.pool.query(`SELECT count(*)::int AS n, bool_and(ordered) AS ordered FROM (
      SELECT time >= lag(time) OVER (ORDER BY time) IS NOT FALSE AS ordered FROM points_in_range(
        (SELECT id FROM tags WHERE name = 'late/dev1/tag3'), $1, $2)) x`,
  [new Date((T0_US - 4 * 86_400_000_000) / 1000), new Date(T0_US / 1000)])
  t.same(lateRead, { n: 50, ordered: true }, 'a late tag reads back complete and in time order')

  const { rows: offsets } = await db.pool.query('SELECT sum(next_offset)::int AS next FROM consumer_offsets WHERE group_id = $1', [p.cfg.workers.groupId])
  t.equal(offsets[0].next, 400 + 40 + 2, 'durable offsets cover every message, poison ones included')

  const dlq = createBatchConsumer(p.cfg.kafka, `${p.cfg.workers.groupId}-dlq-reader`)
  t.teardown(() => dlq.close(true))
  const stream = await dlq.consume({ topics: [p.cfg.kafka.topics.deadLetter], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
  const letters = []
  for await (const m of stream) {
    letters.push(m)
    if (letters.length === 2) break
  }
  await stream.close()
  const byKey = new Map(letters.map(m => [m.key, m]))
  t.same(byKey.get('dev-poison')?.value, poison, 'the poison message is kept byte for byte')
  t.match(byKey.get('dev-poison')?.headers.get('fieldstream-error'), /bad magic/, 'with the reason')
  t.match(byKey.get('dev-cut')?.headers.get('fieldstream-error'), /checksum mismatch/)
  t.equal(byKey.get('dev-cut')?.headers.get('fieldstream-topic'), p.cfg.kafka.topics.points, 'and where it came from')

  const before = worker.stats.pointsStored
  await worker.stop()
  t.equal(worker.stats.bufferedBytes, 0, 'nothing left buffered after the drain')
  // Rewind the group's Kafka offsets to the start, as after a crash between the database
  // commit and the Kafka commit: the next worker re-reads everything and must store nothing again.
  const admin = createAdmin(p.cfg.kafka)
  await admin.deleteConsumerGroupOffsets({ groupId: p.cfg.workers.groupId, topics: [{ name: p.cfg.kafka.topics.points, partitionIndexes: [0, 1, 2, 3] }] })
  await admin.close()
  const second = createStorageWorker(workerOptionsFromConfig(p.cfg), { log, producer: p.producer })
  await second.start()
  await waitFor(async () => second.stats.skippedReplays, n => n >= 442, 60_000)
  await second.stop()
  t.equal(second.stats.skippedReplays, 442, 'every replayed message recognised as durable')
  t.equal(second.stats.pointsStored, 0, 'and none written again')
  t.equal((await storeCounts(db.pool)).points, expected, 'the store still holds exactly N points')
  t.equal(before, expected)
})
