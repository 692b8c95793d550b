// The data set `fieldstream bench api` reads: ≥ 50 M points over 5,000 tags spanning 400 days,
// in its own database (fieldstream_bench_api), loaded once and reused while its shape stays
// the same (a marker row records the shape; a different shape reloads from scratch).
//
// Shape, per tag, irregular and seeded (the same every load):
//   - the last 30 days: one point every ~6 min (3–9 min apart), ~7,200 points: the
//     "30 days at 1 h" rollup reads 720 buckets of ~10 samples each;
//   - the 370 days before: one point every ~2.9 h (1.45–4.35 h apart), ~3,060 points: a
//     one-year chart series spans data all year.
//   - one tag per asset (every 50th) is a counter in m3 (a production curve) with points only
//     in the dense last 30 days; the rest are gauges. (A counter's production is apportioned
//     over every 1-minute bucket between two samples, so a year of counter history costs
//     ~576,000 rollup_1m rows per tag whatever its point count: 500 such tags made the
//     rollup rebuild take hours on this machine.)
//
// Points are written as segment rows with binary COPY (workers/encode, as the storage worker
// writes them), then rollup_rebuild() (migration 0008) computes the 1m/1h/1d rollups from them.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { ValueKind, type PointBatch } from '../../schemas/points.js'
import { seededRandom } from '../../sim/modbus/signals.js'
import { COPY_HEADER, COPY_TRAILER } from '../../workers/encode/copy-binary.js'
import { encodeSegments } from '../../workers/encode/segments.js'
import { MigrationFailed } from '../../workers/store/errors.js'
import { migrate } from '../../workers/store/migrate.js'
import { PartitionManager } from '../../workers/store/partitions.js'
import { sqlOfPg } from '../../workers/store/sql.js'

export const BENCH_API_DB = 'fieldstream_bench_api'

export interface DatasetShape {
  /** Bump when the generator changes, so an old data set is reloaded. */
  version: number
  tags: number
  tagsPerAsset: number
  /** Whole span, days, ending at `endIso`. */
  days: number
  /** The most recent days, at the dense spacing. */
  denseDays: number
  /** Mean spacing of the dense and the sparse part, seconds (each gap is 0.5–1.5× the mean). */
  denseSpacingS: number
  sparseSpacingS: number
  /** Every `counterEvery`-th tag is a counter, with points in the dense days only. */
  counterEvery: number
  endIso: string
  seed: number
}

export const DEFAULT_SHAPE: DatasetShape = {
  version: 2,
  tags: 5_000,
  tagsPerAsset: 50,
  days: 400,
  denseDays: 30,
  denseSpacingS: 360,
  sparseSpacingS: 2.9 * 3600,
  counterEvery: 50,
  endIso: '2026-10-01T00:00:00.000Z',
  seed: 7,
}

export interface Dataset {
  url: string
  shape: DatasetShape
  points: number
  tags: number
  segmentRows: number
  rollup1mRows: number
  rollup1hRows: number
  /** Ids of the data set's tags, in name order. */
  tagIds: number[]
  endUs: number
  /** Seconds the load took this run; 0 when an earlier load was reused. */
  loadSeconds: number
  /** Set when the migrations on disk no longer match the ones the data set was loaded with. */
  schemaWarning?: string
}

const DAY_US = 86_400_000_000
const GAUGE_UNITS = ['bar', 'degC', 'm3/h', 'kW'] as const

export function tagName (i: number, shape: DatasetShape): string {
  return `bench/pad${Math.floor(i / shape.tagsPerAsset)}/tag${i % shape.tagsPerAsset}`
}

/** The points of tags [first, first + count) as one batch (dictionary = those tags). */
export function generateBatch (shape: DatasetShape, first: number, count: number): PointBatch {
  const endUs = Date.parse(shape.endIso) * 1000
  const startUs = endUs - shape.days * DAY_US
  const denseFromUs = endUs - shape.denseDays * DAY_US
  const sparseMean = shape.sparseSpacingS * 1e6
  const denseMean = shape.denseSpacingS * 1e6
  const estimate = Math.ceil(count * ((denseFromUs - startUs) / sparseMean + (endUs - denseFromUs) / denseMean) * 1.05)
  let tagIndex = new Uint32Array(estimate)
  let timeUs = new Float64Array(estimate)
  let value = new Float64Array(estimate)
  let n = 0
  const tags: string[] = []
  for (let k = 0; k < count; k++) {
    const i = first + k
    tags.push(tagName(i, shape))
    const rnd = seededRandom(shape.seed * 1_000_003 + i)
    const counter = i % shape.counterEvery === 0
    const base = 20 + (i % 97)
    const amp = 2 + (i % 13)
    const phase = rnd() * 2 * Math.PI
    let total = 1_000 * rnd()
    let t = counter ? denseFromUs + Math.floor(rnd() * denseMean) : startUs + Math.floor(rnd() * sparseMean)
    while (t < endUs) {
      if (n === timeUs.length) { // the estimate was short: grow
        const grow = <T extends Float64Array | Uint32Array>(a: T): T => { const b = new (a.constructor as new (n: number) => T)(a.length * 2); b.set(a); return b }
        tagIndex = grow(tagIndex); timeUs = grow(timeUs); value = grow(value)
      }
      const daily = Math.sin(2 * Math.PI * (t / DAY_US) + phase)
      if (counter) {
        value[n] = total
      } else {
        value[n] = base + amp * daily + (rnd() - 0.5) * amp * 0.2
      }
      tagIndex[n] = k
      timeUs[n] = t
      n++
      const gap = Math.round((t < denseFromUs ? sparseMean : denseMean) * (0.5 + rnd()))
      if (counter) total += (gap / 3.6e9) * (5 + 2 * daily) // ~5 m3/h with a daily swing
      t += gap
    }
  }
  return {
    source: 'bench-api',
    seq: first,
    producedAtUs: endUs,
    tags,
    tagKinds: tags.map(() => ValueKind.number),
    tagIndex: tagIndex.subarray(0, n),
    timeUs: timeUs.subarray(0, n),
    value: value.subarray(0, n),
    quality: new Uint16Array(n).fill(0xc0),
  }
}

function dbUrl (baseUrl: string, database: string): string {
  const url = new URL(baseUrl)
  url.pathname = `/${database}`
  return url.toString()
}

const MARKER_TABLE = 'bench_api_dataset'

/** The loaded data set if its marker matches `shape`, else undefined. */
async function loaded (url: string, shape: DatasetShape): Promise<Omit<Dataset, 'loadSeconds' | 'url' | 'tagIds' | 'endUs'> | undefined> {
  const c = new pg.Client({ connectionString: url })
  try {
    await c.connect()
  } catch (err) {
    if ((err as { code?: string }).code === '3D000') return undefined // no such database
    throw err
  }
  try {
    const { rows } = await c.query(`SELECT shape, points, tags, segment_rows, rollup_1m_rows, rollup_1h_rows FROM ${MARKER_TABLE}`)
    const r = rows[0]
    if (r === undefined || !sameShape(r.shape as Record<string, unknown>, shape)) return undefined
    return { shape, points: Number(r.points), tags: r.tags, segmentRows: Number(r.segment_rows), rollup1mRows: Number(r.rollup_1m_rows), rollup1hRows: Number(r.rollup_1h_rows) }
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return undefined // no marker: an unfinished load
    throw err
  } finally {
    await c.end()
  }
}

// jsonb does not keep key order: compare field by field.
function sameShape (stored: Record<string, unknown>, shape: DatasetShape): boolean {
  const keys = Object.keys(shape) as Array<keyof DatasetShape>
  return Object.keys(stored).length === keys.length && keys.every(k => stored[k] === shape[k])
}

export interface LoadOptions {
  /** postgres:// URL of the server (any database on it); the bench database is created beside it. */
  baseUrl: string
  /** Database name. Default fieldstream_bench_api. */
  database?: string
  shape?: DatasetShape
  /** Parallel connections for COPY and rollup_rebuild. Default 2 (the machine has 2 cores). */
  concurrency?: number
  /** Drop and reload even if a matching data set is there. */
  reload?: boolean
  log?: (line: string) => void
}

/** Make sure the bench database holds the data set; load it if needed. */
export async function ensureDataset (o: LoadOptions): Promise<Dataset> {
  const shape = o.shape ?? DEFAULT_SHAPE
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const database = o.database ?? BENCH_API_DB
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new RangeError(`database must be a plain lower-case SQL name, got ${JSON.stringify(database)}`)
  const url = dbUrl(o.baseUrl, database)
  const endUs = Date.parse(shape.endIso) * 1000
  let found = o.reload === true ? undefined : await loaded(url, shape)
  let loadSeconds = 0
  if (found === undefined) {
    const t0 = Date.now()
    found = await load(o.baseUrl, database, url, shape, o.concurrency ?? 2, log)
    loadSeconds = Math.round((Date.now() - t0) / 1000)
  } else {
    log(`bench api: reusing the data set in ${database} (${found.points.toLocaleString('en')} points over ${found.tags} tags)`)
  }
  // Migrations added since the load (e.g. api_keys) still apply to a reused database. One
  // edited after it was applied cannot be: the reads only need the tables as loaded, so go on
  // with the data set and say so (--reload rebuilds it under the current migrations).
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    let schemaWarning: string | undefined
    try {
      await migrate(sqlOfPg(c), { flavor: 'postgres' })
    } catch (err) {
      if (!(err instanceof MigrationFailed)) throw err
      schemaWarning = `${err.message} (the data set was loaded under the earlier text; --reload rebuilds it)`
      log(`bench api: warning: ${schemaWarning}`)
    }
    const { rows } = await c.query<{ id: number }>("SELECT id FROM tags WHERE name LIKE 'bench/%' ORDER BY id")
    return { ...found, url, tagIds: rows.map(r => r.id), endUs, loadSeconds, schemaWarning }
  } finally {
    await c.end()
  }
}

async function load (baseUrl: string, database: string, url: string, shape: DatasetShape, concurrency: number, log: (l: string) => void): Promise<Omit<Dataset, 'loadSeconds' | 'url' | 'tagIds' | 'endUs'>> {
  const admin = new pg.Client({ connectionString: baseUrl })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${database}`)
  await admin.end()

  // rollup_compute sorts each tag's points (window, per-bucket array_agg): let it sort in memory.
  const pool = new pg.Pool({ connectionString: url, max: concurrency + 1, options: '-c work_mem=256MB' })
  try {
    const setup = await pool.connect()
    try {
      await migrate(sqlOfPg(setup), { flavor: 'postgres' })
      const endUs = Date.parse(shape.endIso) * 1000
      await new PartitionManager(sqlOfPg(setup)).ensure(endUs - shape.days * DAY_US - DAY_US, endUs)
    } finally {
      setup.release()
    }

    // The tag registry first: COPY rows carry tag ids.
    const names = Array.from({ length: shape.tags }, (_, i) => tagName(i, shape))
    const kinds = names.map((_, i) => i % shape.counterEvery === 0 ? 'counter' : 'gauge')
    const units = names.map((_, i) => i % shape.counterEvery === 0 ? 'm3' : GAUGE_UNITS[i % GAUGE_UNITS.length]!)
    const assets = names.map((_, i) => `pad-${Math.floor(i / shape.tagsPerAsset)}`)
    const { rows: tagRows } = await pool.query<{ id: number, name: string }>(
      `INSERT INTO tags (name, kind, unit, asset) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       RETURNING id, name`, [names, kinds, units, assets])
    const idOf = new Map(tagRows.map(r => [r.name, r.id]))

    // COPY one asset's tags per task, `concurrency` tasks at a time.
    const t0 = Date.now()
    let points = 0
    let segmentRows = 0
    const groups = Math.ceil(shape.tags / shape.tagsPerAsset)
    await inParallel(groups, concurrency, async g => {
      const first = g * shape.tagsPerAsset
      const batch = generateBatch(shape, first, Math.min(shape.tagsPerAsset, shape.tags - first))
      const ids = batch.tags.map(name => idOf.get(name)!)
      const encoded = encodeSegments([batch], [ids])
      const client = await pool.connect()
      try {
        await pipeline(Readable.from([COPY_HEADER, encoded.rows, COPY_TRAILER], { objectMode: false }),
          client.query(copyFrom('COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)')))
      } finally {
        client.release()
      }
      points += encoded.pointCount
      segmentRows += encoded.rowCount
      if ((g + 1) % 10 === 0) log(`bench api: COPY ${(points / 1e6).toFixed(1)} M points (${Math.round(points / ((Date.now() - t0) / 1000)).toLocaleString('en')} points/s)`)
    })
    log(`bench api: ${points.toLocaleString('en')} points in ${segmentRows.toLocaleString('en')} segment rows, ${((Date.now() - t0) / 1000).toFixed(0)} s; VACUUM ANALYZE`)
    await pool.query('VACUUM (ANALYZE) points')

    // Rollups from the raw points, as the workers' refresher would compute them.
    const r0 = Date.now()
    const fromIso = new Date(Date.parse(shape.endIso) - (shape.days + 1) * 86_400_000).toISOString()
    const chunk = 25
    const chunks = Math.ceil(tagRows.length / chunk)
    let done = 0
    await inParallel(chunks, concurrency, async i => {
      const ids = tagRows.slice(i * chunk, (i + 1) * chunk).map(r => r.id)
      await pool.query('SELECT rollup_rebuild($1::int[], $2::timestamptz, $3::timestamptz)', [ids, fromIso, shape.endIso])
      done += ids.length
      if (done % 250 < chunk) {
        const s = (Date.now() - r0) / 1000
        log(`bench api: rollup_rebuild ${done}/${tagRows.length} tags, ${s.toFixed(0)} s (about ${Math.round(s / done * (tagRows.length - done))} s left)`)
      }
    })
    log(`bench api: rollups rebuilt in ${((Date.now() - r0) / 1000).toFixed(0)} s; VACUUM ANALYZE`)
    await pool.query('VACUUM (ANALYZE) rollup_1m, rollup_1h, rollup_1d')
    const { rows: [counts] } = await pool.query('SELECT (SELECT count(*) FROM rollup_1m) AS m, (SELECT count(*) FROM rollup_1h) AS h')

    await pool.query(`CREATE TABLE ${MARKER_TABLE} (shape jsonb NOT NULL, points bigint NOT NULL, tags integer NOT NULL,
      segment_rows bigint NOT NULL, rollup_1m_rows bigint NOT NULL, rollup_1h_rows bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())`)
    await pool.query(`INSERT INTO ${MARKER_TABLE} (shape, points, tags, segment_rows, rollup_1m_rows, rollup_1h_rows) VALUES ($1, $2, $3, $4, $5, $6)`,
      [JSON.stringify(shape), points, tagRows.length, segmentRows, counts.m, counts.h])
    return { shape, points, tags: tagRows.length, segmentRows, rollup1mRows: Number(counts.m), rollup1hRows: Number(counts.h) }
  } finally {
    await pool.end()
  }
}

/** Run task(0..n-1) with at most `limit` in flight; the first failure rejects. */
async function inParallel (n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < n) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane))
}
