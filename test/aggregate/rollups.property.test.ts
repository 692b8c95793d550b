// Rollups maintained incrementally, under late and out-of-order points, equal a from-scratch
// recomputation over the raw points (SQL, rollup_compute) and an oracle in TypeScript, at every
// level; volumes add up across bucket sizes. Real PostgreSQL: points go in through the
// workers' COPY flush (which records the dirty ranges; the process keeps the flush's minute
// contributions) and
// refresh passes fold them in, in random slices between flushes: appended when a flush comes
// after what is rolled up (in-order flushes), recomputed from the raw points otherwise (late
// and shuffled points, flushes without contributions, a tag whose kind the encoder had wrong).
import fc from 'fast-check'
import t from 'tap'
import type { Point } from '../../schemas/points.js'
import { batchFromPoints } from '../../schemas/points.js'
import type { TagProduction } from '../../aggregate/minutes.js'
import { ContributionStore } from '../../aggregate/contributions.js'
import { refreshPass } from '../../aggregate/refresh-pass.js'
import { encodeSegments } from '../../workers/encode/segments.js'
import { PartitionManager } from '../../workers/store/partitions.js'
import { sqlOfPg } from '../../workers/store/sql.js'
import { writeFlush } from '../../workers/store/writer.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'
import { expectedStats, increment, sameStats, type Sample, type StatsRow } from './oracle.js'

const T0 = Date.UTC(2026, 10, 22, 22, 30) * 1000 // the window crosses midnight: 1d has two buckets
const SPAN_US = 3 * 3_600_000_000
const KINDS = ['gauge', 'counter', 'rate'] as const
const BAD = 0x18

const sampleArb = fc.record({
  // Whole milliseconds, as Sparkplug and most SCADA sources stamp them. The time-weighted average
  // is (tw_ext - tail) / span: with a span of a few µs and a tail of a minute, float64 cancellation
  // leaves ~1e-7 of noise, and two correct computations summing in different orders disagree there.
  at: fc.integer({ min: 0, max: SPAN_US / 1000 - 1 }).map(ms => ms * 1000),
  step: fc.integer({ min: 0, max: 5000 }).map(x => x / 100),
  value: fc.integer({ min: -10000, max: 10000 }).map(x => x / 100),
  bad: fc.integer({ min: 0, max: 9 }).map(x => x < 3),
  reset: fc.integer({ min: 0, max: 40 }).map(x => x === 0),
  flush: fc.nat(),
  order: fc.nat(),
})
const caseArb = fc.record({
  tags: fc.tuple(...KINDS.map(() => fc.array(sampleArb, { minLength: 1, maxLength: 60 }))),
  flushes: fc.integer({ min: 1, max: 6 }),
  // random: each point in a random flush. inOrder: each tag's points cut into consecutive
  // time slices, one per flush, except `late` in ten of them, which go to a random flush.
  order: fc.constantFrom('random', 'inOrder', 'inOrder'),
  late: fc.integer({ min: 0, max: 3 }),
  // Per flush: with contributions (as the workers write them), without, or computed with a
  // stale kind (a tag rule changed the tag after the encoder read it).
  contributions: fc.array(fc.constantFrom('yes', 'yes', 'yes', 'no', 'stale'), { minLength: 6, maxLength: 6 }),
  refreshAfter: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  // After flush f, the worker restarts: the contributions not folded yet are lost.
  restartAfter: fc.integer({ min: -1, max: 8 }),
  slice: fc.integer({ min: 1, max: 4 }),
})

t.test('incremental rollups equal a from-scratch recomputation, at every level', async t => {
  const db = await createTestDatabase('rollup_prop')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  await new PartitionManager(sqlOfPg(db.pool)).ensure(T0 - 86_400_000_000, T0 + 2 * 86_400_000_000)
  let run = 0
  const paths = { appended: 0, raw: 0 }
  /** What the worker process keeps; a restart (`forget`) loses it. */
  let store = new ContributionStore()
  /** Refresh passes of `slice` tag ranges each, `passes` of them or until nothing is pending. */
  const refresh = async (slice: number, passes: number): Promise<void> => {
    const client = await db.pool.connect()
    try {
      for (let i = 0; i < passes; i++) {
        const r = await refreshPass(client, slice, store)
        if (r.ranges <= 0) break
        paths.appended += r.appendedTags
        paths.raw += r.tags - r.appendedTags
      }
    } finally { client.release() }
  }

  await fc.assert(fc.asyncProperty(caseArb, async c => {
    run++
    // Fresh tags per run: earlier runs' rows never interfere.
    const names = KINDS.map(k => `prop${run}/${k}`)
    const { rows: ids } = await db.pool.query<{ id: number, name: string }>(
      `INSERT INTO tags (name, kind, counter_modulus, rate_period_s)
       SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) RETURNING id, name`,
      [names, [...KINDS], [null, 1000, null], [86400, 86400, 3600]])
    const idOf = new Map(ids.map(r => [r.name, r.id]))
    const tagIds = names.map(n => idOf.get(n)!)
    const points: Array<Point & { flush: number, order: number }> = []
    const samples = new Map<number, Sample[]>()
    c.tags.forEach((list, k) => {
      const tag = names[k]!
      const id = idOf.get(tag)!
      const sorted = [...list].sort((a, b) => a.at - b.at)
      let counter = 900 // near the modulus: rollovers happen
      const good: Sample[] = []
      for (const [rank, s] of sorted.entries()) {
        let value = s.value
        if (KINDS[k] === 'counter') { counter = s.reset ? s.step : (counter + s.step) % 1000; value = counter }
        if (KINDS[k] === 'rate') value = Math.abs(s.value)
        const quality = s.bad ? BAD : 0xc0
        const inOrder = c.order === 'inOrder' && s.order % 10 >= c.late
        points.push({ tag, timeUs: T0 + s.at, value, quality, flush: inOrder ? Math.floor(rank * c.flushes / sorted.length) : s.flush % c.flushes, order: s.order })
        if (!s.bad) good.push({ t: T0 + s.at, v: value })
      }
      samples.set(id, good)
    })

    for (let f = 0; f < c.flushes; f++) {
      // Each flush in its own shuffled order; flushes interleave times: late and out of order.
      const mine = points.filter(p => p.flush === f).sort((a, b) => a.order - b.order)
      if (mine.length > 0) {
        const batch = batchFromPoints(`dev${run}`, f, mine)
        const production = (tagId: number): TagProduction => {
          const k = KINDS[tagIds.indexOf(tagId)]!
          return { kind: c.contributions[f] === 'stale' ? KINDS[(KINDS.indexOf(k) + 1) % 3]! : k, modulus: k === 'counter' ? 1000 : null, ratePeriodS: k === 'rate' ? 3600 : 86400 }
        }
        const enc = encodeSegments([batch], [batch.tags.map(n => idOf.get(n)!)], c.contributions[f] === 'no' ? undefined : production)
        const client = await db.pool.connect()
        try {
          await writeFlush(client, { groupId: 'prop', topic: 'prop', rows: [enc.rows], advances: [], written: enc.written, onCommitted: id => { if (enc.contributions !== undefined) store.put(id, enc.contributions) } })
        } finally { client.release() }
      }
      if (c.refreshAfter[f] === true) await refresh(c.slice, 1)
      if (c.restartAfter === f) store = new ContributionStore()
    }
    await refresh(1000, Infinity)

    // Day-aligned, so every level's buckets lie wholly inside the compared range.
    const lo = new Date(Math.floor(T0 / 86_400_000_000) * 86_400_000)
    const hi = new Date(lo.getTime() + 3 * 86_400_000)
    for (const [level, width] of [['1m', '1 minute'], ['1h', '1 hour'], ['1d', '1 day']] as const) {
      const { rows: actual } = await db.pool.query<StatsRow>(
        'SELECT tag_id, bucket, n, min, max, avg, twa, sum, first, last, volume FROM rollups($1, $2, $3, $4)', [level, tagIds, lo, hi])
      const { rows: scratch } = await db.pool.query<StatsRow>(
        `SELECT r.tag_id, r.bucket, r.n, r.min, r.max, s.avg, s.twa, r.sum, r.first_val AS first, r.last_val AS last, r.volume
           FROM rollup_compute($1, array_fill($2::timestamptz, ARRAY[3]), array_fill($3::timestamptz, ARRAY[3]), $4::interval) r,
                rollup_stats(r.n, r.sum, r.first_ts, r.first_val, r.last_ts, r.last_val, r.next_ts, r.tw_ext) s
          ORDER BY r.tag_id, r.bucket`, [tagIds, lo, hi, width])
      sameStats(actual, scratch, `${level} incremental vs from scratch (run ${run})`)
      // And against an oracle written in TypeScript, straight from the samples.
      const oracle = tagIds.flatMap(id => expectedStats(samples.get(id)!, KINDS[tagIds.indexOf(id)]!, id, width, { modulus: 1000, ratePeriodS: 3600 }))
      sameStats(actual, oracle, `${level} vs the TypeScript oracle (run ${run})`)
    }
    // Volumes are additive whatever the bucket size: every width's buckets sum to the same total,
    // which is the sum of the sample-to-sample increments.
    for (const k of [1, 2]) {
      const id = tagIds[k]!
      const good = samples.get(id)!.slice().sort((a, b) => a.t - b.t || a.v - b.v)
      let total = 0
      for (let i = 0; i + 1 < good.length; i++) {
        if (good[i + 1]!.t > good[i]!.t) total += increment(KINDS[k]!, good[i]!, good[i + 1]!, good[i]!.t, good[i + 1]!.t, { modulus: 1000, ratePeriodS: 3600 })
      }
      for (const width of ['1 minute', '7 minutes', '13 minutes', '1 hour', '1 day']) {
        const { rows: [v] } = await db.pool.query<{ v: number | null }>(
          'SELECT sum(volume) AS v FROM rollup_compute(ARRAY[$1]::int[], ARRAY[$2]::timestamptz[], ARRAY[$3]::timestamptz[], $4::interval)', [id, lo, hi, width])
        const got = v!.v ?? 0
        if (Math.abs(got - total) > 1e-6 * Math.max(1, Math.abs(total))) throw new Error(`${KINDS[k]} volume over ${width} buckets sums to ${got}, the increments to ${total} (run ${run})`)
      }
      for (const level of ['1m', '1h', '1d']) {
        const { rows: [v] } = await db.pool.query<{ v: number | null }>('SELECT sum(volume) AS v FROM rollups($1, ARRAY[$2]::int[], $3, $4)', [level, id, lo, hi])
        const got = v!.v ?? 0
        if (Math.abs(got - total) > 1e-6 * Math.max(1, Math.abs(total))) throw new Error(`${KINDS[k]} ${level} rollup volumes sum to ${got}, the increments to ${total} (run ${run})`)
      }
    }
    return true
  }), { numRuns: 25, seed: Number(process.env.FS_PROPERTY_SEED ?? Date.now() % 1e9) })
  t.pass(`${run} randomized cases`)
  t.ok(paths.appended > 0 && paths.raw > 0, `both paths taken: ${paths.appended} tag folds appended, ${paths.raw} recomputed from the raw points`)
})
