// Segment encoding, checked by the real server: COPY the binary rows into PostgreSQL and
// read the points back through the read function.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { from as copyFrom } from 'pg-copy-streams'
import { batchFromPoints, type Point } from '../../../schemas/points.js'
import { COPY_HEADER, COPY_TRAILER } from '../../../workers/encode/copy-binary.js'
import { encodeSegments, HOUR_US } from '../../../workers/encode/segments.js'
import { migrate } from '../../../workers/store/migrate.js'
import { PartitionManager } from '../../../workers/store/partitions.js'
import { sqlOfPg } from '../../../workers/store/sql.js'
import { createTestDatabase } from '../../helpers/db.js'
import { T0_US } from '../../helpers/points.js'

t.test('grouping: one row per tag and hour, points in time order, quality array only when needed', async t => {
  const points: Point[] = [
    { tag: 'a', timeUs: T0_US + 3, value: 3, quality: 0xc0 },
    { tag: 'b', timeUs: T0_US + 1, value: 10, quality: 0x18 },
    { tag: 'a', timeUs: T0_US + 1, value: 1, quality: 0xc0 }, // out of order within the batch
    { tag: 'a', timeUs: T0_US + HOUR_US + 5, value: 5, quality: 0xc0 }, // next hour
  ]
  const batch = batchFromPoints('dev', 1, points)
  const enc = encodeSegments([batch], [[7, 9]])
  t.equal(enc.rowCount, 3, 'a@h0, b@h0, a@h1')
  t.equal(enc.pointCount, 4)
  t.equal(enc.minBucketUs, Math.floor(T0_US / HOUR_US) * HOUR_US)
  t.equal(enc.maxBucketUs, enc.minBucketUs + HOUR_US)
})

t.test('COPY binary rows are accepted by PostgreSQL and read back exactly', async t => {
  const db = await createTestDatabase('segments')
  t.teardown(() => db.drop())
  const client = await db.pool.connect()
  t.teardown(() => client.release())
  await migrate(sqlOfPg(client), { flavor: 'postgres' })
  await new PartitionManager(sqlOfPg(client)).ensure(T0_US - 86_400_000_000, T0_US + 2 * 86_400_000_000)

  // Two batches of the same tags, interleaved and with a late point: the store must
  // return every point once, in time order, with its quality and value kind.
  const first: Point[] = []
  const second: Point[] = []
  for (let i = 0; i < 500; i++) {
    const p: Point = { tag: `pump/${i % 5}`, timeUs: T0_US + i * 997_001 + (i % 3), value: Math.sin(i) * 1e3, quality: i % 17 === 0 ? 0x54 : 0xc0 }
    ;(i % 2 === 0 ? first : second).push(p)
  }
  second.push({ tag: 'pump/0', timeUs: T0_US - 7_200_000_000, value: -1, quality: 0xc0 }) // two hours late
  second.push({ tag: 'valve/open', timeUs: T0_US + 1, value: true, quality: 0xc0 })
  const batches = [batchFromPoints('d1', 1, first), batchFromPoints('d2', 1, second.reverse())]
  const ids = new Map<string, number>([['pump/0', 1], ['pump/1', 2], ['pump/2', 3], ['pump/3', 4], ['pump/4', 5], ['valve/open', 6]])
  const enc = encodeSegments(batches, batches.map(b => b.tags.map(n => ids.get(n)!)))
  await pipeline(Readable.from([COPY_HEADER, Buffer.from(enc.rows), COPY_TRAILER]), client.query(copyFrom('COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)')))

  const { rows: [count] } = await client.query('SELECT count(*)::int AS rows, sum(cardinality(vals))::int AS points FROM points')
  t.equal(count.rows, enc.rowCount)
  t.equal(count.points, 502, 'every point stored once')
  const { rows: bad } = await client.query(`SELECT count(*)::int AS n FROM points
    WHERE cardinality(ts) <> cardinality(vals) OR (quals IS NOT NULL AND cardinality(quals) <> cardinality(vals))
       OR bucket <> date_bin('1 hour', ts[1], TIMESTAMPTZ '2000-01-01 00:00:00+00')`)
  t.equal(bad[0].n, 0, 'arrays aligned and every row in its own hour')

  const all = [...first, ...second]
  for (const [name, id] of ids) {
    const expected = all.filter(p => p.tag === name).sort((a, b) => a.timeUs - b.timeUs)
    const { rows } = await client.query(
      "SELECT (extract(epoch FROM time) * 1000000)::int8 AS us, value, quality FROM points_in_range($1, $2, $3)",
      [id, new Date((T0_US - 86_400_000_000) / 1000), new Date((T0_US + 86_400_000_000) / 1000)])
    t.same(rows.map(r => [Number(r.us), r.value, r.quality]),
      expected.map(p => [p.timeUs, typeof p.value === 'boolean' ? (p.value ? 1 : 0) : p.value, p.quality]), `${name}: all points, in order, exact`)
  }
})
