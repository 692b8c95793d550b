// Rollups through the whole storage path: batches produced to the real broker, stored by the
// storage worker (tag kinds from the config's tag rules), folded into the rollups by its
// refresher; production volumes and statistics equal the oracle's, late points included.
import t from 'tap'
import { createLogger } from '../../common/log.js'
import { batchFromPoints, type Point } from '../../schemas/points.js'
import { createStorageWorker, workerOptionsFromConfig } from '../../workers/storage-worker.js'
import { createTestDatabase } from '../helpers/db.js'
import { createTestPipeline, storedPoints, waitFor } from '../helpers/pipeline.js'
import { T0_US } from '../helpers/points.js'
import { expectedStats, sameStats, type Sample, type StatsRow } from './oracle.js'

t.setTimeout(240_000)

t.test('the storage worker keeps rollups and production in step with what it stores', async t => {
  const db = await createTestDatabase('worker_rollups')
  t.teardown(() => db.drop())
  const p = await createTestPipeline('worker_rollups', db.url, {
    store: { rollupRefreshMs: 200 },
    tags: { rules: [{ match: '/total$', kind: 'counter', counterModulus: 10000, unit: 'm3' }, { match: '/rate$', kind: 'rate', ratePer: 'hour' }] },
  })
  t.teardown(() => p.close())
  const worker = createStorageWorker(workerOptionsFromConfig(p.cfg), { log: createLogger('test-rollups'), producer: p.producer })
  await worker.start()
  t.teardown(() => worker.stop())

  // Two hours of a flow meter every 10 s: a totalizer that rolls over at 10,000 and a rate.
  const points: Point[] = []
  const total: Sample[] = []
  const rate: Sample[] = []
  let counter = 9_950 // rolls over within the first hour
  for (let i = 0; i < 720; i++) {
    const timeUs = T0_US + i * 10_000_000
    const flow = 100 + 20 * Math.sin(i / 50)
    counter = (counter + flow * 10 / 3600) % 10_000
    points.push({ tag: 'fm1/total', timeUs, value: counter, quality: 0xc0 }, { tag: 'fm1/rate', timeUs, value: flow, quality: 0xc0 })
    total.push({ t: timeUs, v: counter })
    rate.push({ t: timeUs, v: flow })
  }
  // Sent in 36 batches, the last ten minutes first: the rest arrives late.
  const batches = Array.from({ length: 36 }, (_, b) => batchFromPoints('fm1', b, points.slice(b * 40, b * 40 + 40)))
  await p.produce([...batches.slice(33), ...batches.slice(0, 33)], 3)
  await waitFor(() => storedPoints(db.pool), n => n >= points.length, 60_000)
  await waitFor(async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM rollup_dirty')).rows[0]!.n, n => n === 0, 30_000)
  await worker.refreshRollups()
  t.ok(worker.stats.rolledUpRanges > 0, `refresher folded ${worker.stats.rolledUpRanges} tag ranges`)

  const { rows: ids } = await db.pool.query<{ id: number, name: string, kind: string, asset: string }>('SELECT id, name, kind, asset FROM tags ORDER BY name')
  t.same(ids.map(r => [r.name, r.kind, r.asset]), [['fm1/rate', 'rate', 'fm1'], ['fm1/total', 'counter', 'fm1']], 'kinds from the tag rules, asset from the device')
  const idOf = new Map(ids.map(r => [r.name, r.id]))
  for (const [level, width] of [['1m', '1 minute'], ['1h', '1 hour'], ['1d', '1 day']] as const) {
    const { rows } = await db.pool.query<StatsRow>('SELECT tag_id, bucket, n, min, max, avg, twa, sum, first, last, volume FROM rollups($1, $2, $3, $4)',
      [level, [...idOf.values()], new Date(T0_US / 1000 - 86_400_000), new Date(T0_US / 1000 + 2 * 86_400_000)])
    const expected = [
      ...expectedStats(total, 'counter', idOf.get('fm1/total')!, width, { modulus: 10000, ratePeriodS: 3600 }),
      ...expectedStats(rate, 'rate', idOf.get('fm1/rate')!, width, { modulus: null, ratePeriodS: 3600 }),
    ]
    t.doesNotThrow(() => { sameStats(rows, expected, level) }, `${level} rollups as the oracle computes them (${rows.length} rows)`)
  }
  const { rows: [v] } = await db.pool.query<{ counter: number, rate: number }>(
    `SELECT sum(volume) FILTER (WHERE tag_id = $1) AS counter, sum(volume) FILTER (WHERE tag_id = $2) AS rate
       FROM rollups('1d', ARRAY[$1, $2]::int[], $3, $4)`, [idOf.get('fm1/total'), idOf.get('fm1/rate'), new Date(T0_US / 1000 - 86_400_000), new Date(T0_US / 1000 + 2 * 86_400_000)])
  // The totalizer counts the same flow the rate reports (up to the rate's trapezoid rule).
  t.ok(Math.abs(v!.counter - v!.rate) / v!.rate < 0.01, `counter volume ${v!.counter.toFixed(1)} ≈ integrated rate ${v!.rate.toFixed(1)} across the rollover`)
})
