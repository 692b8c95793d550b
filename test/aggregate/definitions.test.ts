// What each rollup number means, on cases small enough to check by hand (real PostgreSQL).
import t from 'tap'
import { PartitionManager } from '../../workers/store/partitions.js'
import { sqlOfPg } from '../../workers/store/sql.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'

t.test('time-weighted average, counter rollover and reset, rate integration, bad quality', async t => {
  const db = await createTestDatabase('rollup_defs')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  await new PartitionManager(sqlOfPg(db.pool)).ensure(Date.UTC(2026, 10, 1) * 1000, Date.UTC(2026, 10, 1) * 1000)
  const q = async (s: string, p?: unknown[]): Promise<Array<Record<string, unknown>>> => (await db.pool.query(s, p)).rows
  await q(`INSERT INTO tags (name, kind, counter_modulus, rate_period_s) VALUES
    ('p/pressure', 'gauge', NULL, 86400), ('fm/total', 'counter', 1000, 86400), ('fm/rate', 'rate', NULL, 3600)`)
  await q(`INSERT INTO points (tag_id, bucket, ts, vals, quals) VALUES
    (1, '2026-11-01 10:00+00', ARRAY['2026-11-01 10:00:10+00', '2026-11-01 10:00:40+00', '2026-11-01 10:00:50+00', '2026-11-01 10:01:30+00']::timestamptz[],
        ARRAY[1, 3, 1000, 5], ARRAY[192, 192, 24, 192]::smallint[]),
    (2, '2026-11-01 10:00+00', ARRAY['2026-11-01 10:00:00+00', '2026-11-01 10:02:00+00', '2026-11-01 10:03:00+00']::timestamptz[], ARRAY[990, 10, 5], NULL),
    (3, '2026-11-01 10:00+00', ARRAY['2026-11-01 10:00:00+00', '2026-11-01 11:00:00+00']::timestamptz[], ARRAY[100, 200], NULL)`)
  await q("SELECT rollup_rebuild(ARRAY[1, 2, 3], '2026-11-01', '2026-11-02')")
  const at = async (level: string, tag: number, bucket: string): Promise<Record<string, unknown> | undefined> =>
    (await q("SELECT n, min, max, avg, twa, sum, first, last, volume FROM rollups($1, ARRAY[$2]::int[], $3, $3::timestamptz + interval '1 microsecond')", [level, tag, bucket]))[0]

  t.same(await at('1m', 1, '2026-11-01 10:00+00'), { n: 2, min: 1, max: 3, avg: 2, twa: 1, sum: 4, first: 1, last: 3, volume: null },
    'gauge minute: the bad-quality 1000 is left out; 1 held for the 30 s between the samples')
  t.same(await at('1h', 1, '2026-11-01 10:00+00'), { n: 3, min: 1, max: 5, avg: 3, twa: 2.25, sum: 9, first: 1, last: 5, volume: null },
    'gauge hour: (1 x 30 s + 3 x 50 s) / 80 s = 2.25')
  t.same((await at('1m', 2, '2026-11-01 10:00+00'))?.volume, 10, 'counter 990 -> 10 over two minutes: a rollover of 20, 10 per minute')
  t.same((await at('1m', 2, '2026-11-01 10:01+00')), { n: 0, min: null, max: null, avg: null, twa: null, sum: null, first: null, last: null, volume: 10 },
    'a minute with no sample still gets its share of the increment')
  t.same((await at('1m', 2, '2026-11-01 10:02+00'))?.volume, 5, 'counter 10 -> 5: a reset, the counter restarted and counted 5')
  t.same((await at('1h', 2, '2026-11-01 10:00+00'))?.volume, 25, 'hour: 20 + 5')
  t.same((await at('1h', 2, '2026-11-01 10:00+00'))?.twa, (990 * 120 + 10 * 60) / 180, 'time-weighted average over the hour')
  const rate = await at('1h', 3, '2026-11-01 10:00+00')
  t.ok(Math.abs((rate?.volume as number) - 150) < 1e-9, `rate 100 -> 200 per hour over one hour: 150 (${String(rate?.volume)})`)
  const firstMinute = (await at('1m', 3, '2026-11-01 10:00+00'))?.volume as number
  t.ok(Math.abs(firstMinute - (100 + 100 + 100 / 60) / 2 / 60) < 1e-9, 'the first minute gets the trapezoid under the interpolated rate')
  t.same((await at('1d', 3, '2026-11-01 00:00+00'))?.twa, 100, 'rate day: 100 held for the hour until the sample of 200')
})
