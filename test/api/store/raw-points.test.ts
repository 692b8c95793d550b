// The raw-points read path against the real server: segments written by the workers'
// encoder come back as exact, time-ordered columns, late segments merged in.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { from as copyFrom } from 'pg-copy-streams'
import { readRawPoints } from '../../../api/store/raw-points.js'
import { batchFromPoints, type Point } from '../../../schemas/points.js'
import { COPY_HEADER, COPY_TRAILER } from '../../../workers/encode/copy-binary.js'
import { encodeSegments } from '../../../workers/encode/segments.js'
import { PartitionManager } from '../../../workers/store/partitions.js'
import { sqlOfPg } from '../../../workers/store/sql.js'
import { createTestDatabase, migrateTestDatabase } from '../../helpers/db.js'
import { T0_US } from '../../helpers/points.js'

t.test('reads exactly the points in [from, to), in time order, with qualities', async t => {
  const db = await createTestDatabase('raw_read')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  await new PartitionManager(sqlOfPg(db.pool)).ensure(T0_US - 86_400_000_000, T0_US + 86_400_000_000)
  const points: Point[] = []
  for (let i = 0; i < 7200; i++) points.push({ tag: 'a', timeUs: T0_US + i * 1_000_000 + 7, value: i * 0.5 - 100, quality: i % 1000 === 3 ? 0x18 : 0xc0 })
  // Written in three flushes, the last one late and overlapping the first hour.
  const flushes = [points.slice(0, 3000), points.slice(4000), points.slice(3000, 4000).reverse()]
  for (const f of flushes) {
    const enc = encodeSegments([batchFromPoints('d', 1, f)], [[1]])
    await pipeline(Readable.from([COPY_HEADER, Buffer.from(enc.rows), COPY_TRAILER]), (await db.pool.connect().then(c => { t.teardown(() => c.release()); return c })).query(copyFrom('COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)')))
  }
  const from = T0_US + 1_000_000 * 10
  const to = T0_US + 1_000_000 * 7000 + 7 // the point at exactly `to` is excluded
  const got = await readRawPoints(db.pool, 1, from, to)
  const want = points.filter(p => p.timeUs >= from && p.timeUs < to)
  t.equal(got.timeUs.length, want.length, `${want.length} points`)
  t.same(Array.from(got.timeUs), want.map(p => p.timeUs), 'times exact and ordered')
  t.same(Array.from(got.value), want.map(p => p.value), 'values exact')
  t.same(Array.from(got.quality), want.map(p => p.quality), 'qualities exact')
  t.equal((await readRawPoints(db.pool, 2, from, to)).timeUs.length, 0, 'an unknown tag reads empty')
})
