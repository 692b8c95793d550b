// Compaction on the real server: closed tag-hours become one ordered row each, with every
// point kept exactly once; open hours are left alone; concurrent compactors do not double.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import t from 'tap'
import { from as copyFrom } from 'pg-copy-streams'
import { readRawPoints } from '../../../api/store/raw-points.js'
import { batchFromPoints, type Point } from '../../../schemas/points.js'
import { COPY_HEADER, COPY_TRAILER } from '../../../workers/encode/copy-binary.js'
import { encodeSegments, HOUR_US } from '../../../workers/encode/segments.js'
import { compactAll, compactClosedHours } from '../../../workers/store/compact.js'
import { PartitionManager } from '../../../workers/store/partitions.js'
import { sqlOfPg } from '../../../workers/store/sql.js'
import { createTestDatabase, migrateTestDatabase } from '../../helpers/db.js'
import { storeCounts } from '../../helpers/pipeline.js'
import { T0_US } from '../../helpers/points.js'

t.test('merges closed tag-hours exactly once, leaves open hours', async t => {
  const db = await createTestDatabase('compact')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  await new PartitionManager(sqlOfPg(db.pool)).ensure(T0_US - 86_400_000_000, T0_US + 86_400_000_000)
  // 3 tags x 3 hours at 1 Hz, written in 30 flushes of interleaved, shuffled points.
  const points: Point[] = []
  // Bad-quality points only in the first hour, so the second stores no quality array.
  for (let s = 0; s < 3 * 3600; s++) for (let k = 0; k < 3; k++) points.push({ tag: `k${k}`, timeUs: T0_US + s * 1_000_000, value: s + k / 10, quality: s < 3600 && s % 777 === 0 ? 0x18 : 0xc0 })
  const flushes: Point[][] = Array.from({ length: 30 }, () => [])
  // Every flush carries every tag and hour, out of order.
  points.forEach((p, i) => flushes[(Math.floor(i / 3) * 7 + (i % 3) * 11) % 30]!.push(p))
  const client = await db.pool.connect()
  for (const f of flushes) {
    const batch = batchFromPoints('d', 1, f)
    const enc = encodeSegments([batch], [batch.tags.map(name => Number(name.slice(1)) + 1)])
    await pipeline(Readable.from([COPY_HEADER, Buffer.from(enc.rows), COPY_TRAILER]), client.query(copyFrom('COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)')))
  }
  client.release()
  const before = await storeCounts(db.pool)
  t.equal(before.rows, 30 * 9, 'one segment per flush, tag and hour')

  // "Now" is 30 minutes into the third hour: hours 0 and 1 are closed, hour 2 is open.
  const now = T0_US + 2 * HOUR_US + 30 * 60_000_000
  const sessions = await Promise.all([0, 1].map(async () => { const c = new pg.Client({ connectionString: db.url }); await c.connect(); return c }))
  t.teardown(() => Promise.all(sessions.map(c => c.end())))
  const [a, b] = await Promise.all(sessions.map(c => compactAll(sqlOfPg(c), now)))
  t.equal(a!.merged + b!.merged, 6, 'six closed tag-hours merged, by whichever compactor held the lock')
  t.equal(a!.replacedRows + b!.replacedRows, 180, 'replacing their 180 segments')
  const after = await storeCounts(db.pool)
  t.same(after, { points: before.points, distinct: before.points, rows: 6 + 90 }, 'every point kept once; the open hour untouched')
  t.same(await compactClosedHours(sqlOfPg(sessions[0]!), now), { merged: 0, replacedRows: 0 }, 'nothing left to merge')

  for (const [k, id] of [[0, 1], [1, 2], [2, 3]] as const) {
    const want = points.filter(p => p.tag === `k${k}`)
    const got = await readRawPoints(db.pool, id, T0_US, T0_US + 3 * HOUR_US)
    t.same(Array.from(got.timeUs), want.map(p => p.timeUs), `k${k}: times ordered and complete`)
    t.same(Array.from(got.value), want.map(p => p.value), `k${k}: values exact`)
    t.same(Array.from(got.quality), want.map(p => p.quality), `k${k}: qualities kept`)
  }
  const { rows: merged } = await db.pool.query("SELECT bool_and(quals IS NULL) AS all_good FROM points WHERE bucket = $1", [new Date((T0_US + HOUR_US) / 1000)])
  t.equal(merged[0].all_good, true, 'an hour with only good points stores no quality array')
})
