// Migrations on the real PostgreSQL server: versioned, idempotent, serialized, and loud
// when a file changed after it was applied.
import { cpSync, mkdtempSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { listMigrations, migrate, MIGRATIONS_DIR } from '../../../workers/store/migrate.js'
import { PartitionManager, partitionName, DAY_US } from '../../../workers/store/partitions.js'
import { maintainPartitions } from '../../../workers/store/policies.js'
import { sqlOfPg } from '../../../workers/store/sql.js'
import { createTestDatabase } from '../../helpers/db.js'

t.test('files are listed per flavor in version order', async t => {
  const common = ['0006_rollup_read.sql', '0007_scores_alerts.sql', '0008_rollup_maintain.sql', '0009_api_keys.sql', '0010_tag_rules.sql']
  t.same(listMigrations('postgres').map(m => m.file), ['0001_core.sql', '0002_points.postgres.sql', '0003_read.sql', '0004_array_storage.postgres.sql', '0005_rollups.postgres.sql', ...common])
  t.same(listMigrations('timescaledb').map(m => m.file), ['0001_core.sql', '0002_points.timescaledb.sql', '0003_read.sql', '0005_rollups.timescaledb.sql', ...common])
})

t.test('migrate applies once, concurrently safe, and refuses an edited migration', async t => {
  const db = await createTestDatabase('migrate')
  t.teardown(() => db.drop())
  const clients = await Promise.all([0, 1, 2].map(async () => { const c = new pg.Client({ connectionString: db.url }); await c.connect(); return c }))
  t.teardown(() => Promise.all(clients.map(c => c.end())))

  const results = await Promise.all(clients.map(c => migrate(sqlOfPg(c), { flavor: 'postgres' })))
  const all = listMigrations('postgres')
  const latest = all.at(-1)!.version
  t.same(results.map(r => r.applied.length).sort(), [0, 0, all.length], 'three concurrent migrators: one applies, two find it done')
  t.same(results.map(r => r.current), [latest, latest, latest])
  const again = await migrate(sqlOfPg(clients[0]!))
  t.same(again, { flavor: 'postgres', applied: [], current: latest }, 'flavor remembered, nothing to do')

  const edited = mkdtempSync(join(tmpdir(), 'fs-migrations-'))
  cpSync(MIGRATIONS_DIR, edited, { recursive: true })
  appendFileSync(join(edited, '0001_core.sql'), '\n-- an edit\n')
  await t.rejects(migrate(sqlOfPg(clients[0]!), { dir: edited }), { code: 'FS_MIGRATION_FAILED', message: /0001_core\.sql changed after it was applied/ })
  await t.rejects(migrate(sqlOfPg(clients[0]!), { flavor: 'timescaledb' }), { code: 'FS_MIGRATION_FAILED', message: /set up for postgres, not timescaledb/ })
})

t.test('a broken migration rolls back whole and names the file', async t => {
  const db = await createTestDatabase('migrate_broken')
  t.teardown(() => db.drop())
  const c = new pg.Client({ connectionString: db.url })
  await c.connect()
  t.teardown(() => c.end())
  const dir = mkdtempSync(join(tmpdir(), 'fs-migrations-'))
  cpSync(MIGRATIONS_DIR, dir, { recursive: true })
  appendFileSync(join(dir, '0099_broken.sql'), 'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n')
  await t.rejects(migrate(sqlOfPg(c), { flavor: 'postgres', dir }), { code: 'FS_MIGRATION_FAILED', message: /0099_broken\.sql failed: function no_such_function\(\) does not exist/ })
  const { rows } = await c.query("SELECT to_regclass('half_done') AS t, (SELECT max(version) FROM schema_migrations) AS v")
  t.same(rows[0], { t: null, v: listMigrations('postgres').at(-1)!.version }, 'nothing of 0099 remains; the others stay applied')
})

t.test('plain PostgreSQL: partitions created ahead and dropped by retention', async t => {
  const db = await createTestDatabase('partitions')
  t.teardown(() => db.drop())
  const c = new pg.Client({ connectionString: db.url })
  await c.connect()
  t.teardown(() => c.end())
  const sql = sqlOfPg(c)
  await migrate(sql, { flavor: 'postgres' })
  const now = Date.UTC(2026, 10, 23, 12) * 1000
  const parts = new PartitionManager(sql)
  await parts.ensure(now - 40 * DAY_US, now - 38 * DAY_US) // late data from 40 days ago
  await maintainPartitions(parts, { retentionDays: 30, compressAfterDays: 7, partitionsAheadDays: 3 }, now)
  const { rows } = await c.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'points'::regclass ORDER BY 1")
  t.same(rows.map(r => r.relname), ['p20261122', 'p20261123', 'p20261124', 'p20261125', 'p20261126'].map(s => `points_${s}`), 'old ones dropped, yesterday to 3 days ahead present')
  t.equal(partitionName(now), 'points_p20261123')
  // Creating one that exists, as a racing worker would, is harmless.
  await new PartitionManager(sql).ensure(now, now)
  const { rows: storage } = await c.query("SELECT DISTINCT a.attstorage FROM pg_attribute a WHERE a.attrelid = 'points_p20261126'::regclass AND a.attname IN ('ts', 'vals', 'quals')")
  t.same(storage, [{ attstorage: 'e' }], 'partitions created later keep the arrays uncompressed (EXTERNAL)')
})
