// `fieldstream bench store`: consume-to-durable throughput of the storage worker.
//
// 1. A fresh database and topic; `points` points over `tags` tags are preloaded into Kafka
//    as 1,000-point batches, interleaved across devices as live traffic would be. The first
//    `dayTags` tags carry one full day at 1 Hz (for the read figure); the rest share what is left.
// 2. `fieldstream work` runs as a child process (its peak RSS is read from /proc) and the
//    clock runs from the first stored point to the last.
// 3. Lost and duplicated points are counted per tag in the store against what was produced.
// 4. Each day tag's full day is read back through the API's raw-points path (p50/p99),
//    before and after the closed hours are compacted (compaction is timed too).
import { spawn } from 'node:child_process'
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { stringify } from 'yaml'
import { readRawPoints } from '../../api/store/raw-points.js'
import { createAdmin, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import { batchFromPoints, type Point } from '../../schemas/points.js'
import { encodeBatch } from '../../schemas/wire/codec.js'
import { compactAll } from '../../workers/store/compact.js'
import { sqlOfPg } from '../../workers/store/sql.js'
import { median, printResult } from '../machine.js'

export interface StoreBenchOptions {
  /** Points preloaded. Default 20,000,000. */
  points: number
  /** Distinct tags. Default 5,000. */
  tags: number
  /** Tags carrying one full day at 1 Hz. Default 100. */
  dayTags: number
  /** Worker settings under test. */
  threads: number
  lanes: number
  flushMB: number
  maxBufferedMB: number
  partitions: number
  /** Keep rollups while storing (the worker's refresher); the clock then runs until they caught up too. */
  rollups: boolean
  /** Run the scoring stage in the same `fieldstream work` process (it competes for the same cores). */
  scoring: boolean
}

export const DEFAULT_STORE_BENCH: StoreBenchOptions = { points: 20_000_000, tags: 5_000, dayTags: 100, threads: 2, lanes: 2, flushMB: 4, maxBufferedMB: 64, partitions: 6, rollups: true, scoring: true }

const TAGS_PER_DEVICE = 50
const SAMPLES_PER_BATCH = 20
const DAY_S = 86_400
const T0_US = Date.UTC(2026, 9, 1) * 1000
/** The CLI of this build (not bin/, which runs dist/): the worker under test is the code being measured. */
const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url))

interface Device { index: number, tags: number, samples: number }

function plan (o: StoreBenchOptions): Device[] {
  const devices = Math.ceil(o.tags / TAGS_PER_DEVICE)
  const dayDevices = Math.ceil(o.dayTags / TAGS_PER_DEVICE)
  const dayPoints = dayDevices * TAGS_PER_DEVICE * DAY_S
  const restDevices = devices - dayDevices
  const restSamples = restDevices > 0 ? Math.max(SAMPLES_PER_BATCH, Math.round((o.points - dayPoints) / (restDevices * TAGS_PER_DEVICE) / SAMPLES_PER_BATCH) * SAMPLES_PER_BATCH) : 0
  return Array.from({ length: devices }, (_, index) => ({ index, tags: TAGS_PER_DEVICE, samples: index < dayDevices ? DAY_S : restSamples }))
}

function deviceBatch (d: Device, round: number): Buffer {
  const points: Point[] = []
  for (let s = 0; s < SAMPLES_PER_BATCH; s++) {
    const second = round * SAMPLES_PER_BATCH + s
    for (let k = 0; k < d.tags; k++) {
      points.push({ tag: `bench/dev${d.index}/tag${k}`, timeUs: T0_US + second * 1_000_000, value: 100 + 50 * Math.sin(second / 600 + k) + ((second * 7 + k) % 13) / 10, quality: 0xc0 })
    }
  }
  return encodeBatch(batchFromPoints(`dev${d.index}`, round + 1, points))
}

async function preload (topic: string, devices: Device[], log: (l: string) => void): Promise<number> {
  const cfg = loadConfig()
  const producer = createBatchProducer(cfg.kafka)
  const rounds = Math.max(...devices.map(d => d.samples / SAMPLES_PER_BATCH))
  let sent = 0
  const started = Date.now()
  // The project producer sends one request at a time (common/kafka.ts); each send carries a round.
  for (let round = 0; round < rounds; round++) {
    const messages = devices.filter(d => round * SAMPLES_PER_BATCH < d.samples).map(d => ({ topic, key: `dev${d.index}`, value: deviceBatch(d, round) }))
    sent += messages.length * SAMPLES_PER_BATCH * TAGS_PER_DEVICE
    await producer.send({ messages })
    if (round % 500 === 0) log(`preload: ${(sent / 1e6).toFixed(1)} M points into ${topic} (${Math.round(sent / ((Date.now() - started) / 1000))} points/s)`)
  }
  await producer.close()
  return sent
}

function peakRssMb (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

export async function runStoreBench (o: StoreBenchOptions = DEFAULT_STORE_BENCH, log: (l: string) => void = l => process.stderr.write(`${l}\n`)): Promise<void> {
  const base = loadConfig()
  const stamp = Date.now()
  // Per run: benches started side by side (other build folders) never drop each other's database.
  const dbName = `fieldstream_bench_store_${process.pid}`
  const admin = new pg.Client({ connectionString: base.database.url })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${dbName}`)
  await admin.end()
  const url = new URL(base.database.url)
  url.pathname = `/${dbName}`
  const topic = `fieldstream.bench.store.${stamp}`
  const kafkaAdmin = createAdmin(base.kafka)
  await ensureTopics(kafkaAdmin, [{ name: topic, partitions: o.partitions, replicationFactor: 1 }, { name: `${topic}.dlq`, partitions: 1, replicationFactor: 1 }])

  const devices = plan(o)
  const expectedPerTag = new Map<string, number>()
  for (const d of devices) for (let k = 0; k < d.tags; k++) expectedPerTag.set(`bench/dev${d.index}/tag${k}`, d.samples)
  const produced = await preload(topic, devices, log)
  log(`preload done: ${produced} points over ${expectedPerTag.size} tags`)

  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-store-'))
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, stringify({
    kafka: { topics: { points: topic, deadLetter: `${topic}.dlq`, alerts: `${topic}.alerts` }, partitions: o.partitions },
    database: { url: url.toString() },
    workers: { groupId: `bench-store-${stamp}`, threads: o.threads, lanes: o.lanes, flushMB: o.flushMB, maxBufferedMB: o.maxBufferedMB },
    store: { rollupRefreshMs: o.rollups ? 2000 : 0 },
    scoring: { enabled: o.scoring, groupId: `bench-score-${stamp}` },
  }))
  const db = new pg.Pool({ connectionString: url.toString(), max: 2 })
  const worker = spawn(process.execPath, [...workerNodeArgs(), CLI, '-c', configFile, 'work'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FIELDSTREAM_LOG: 'warn' } })
  const stored = async (): Promise<number> => {
    try {
      const { rows } = await db.query('SELECT coalesce(sum(cardinality(vals)), 0)::int8 AS n FROM points')
      return Number(rows[0].n)
    } catch { return 0 } // the worker has not created the schema yet
  }
  let firstAt = 0
  let last = 0
  const timeline: Array<[number, number]> = []
  for (;;) {
    await new Promise(resolve => setTimeout(resolve, 500))
    const n = await stored()
    const now = Date.now()
    if (n > 0 && firstAt === 0) firstAt = now
    if (n > 0) timeline.push([now - firstAt, n])
    if (n >= produced) { last = now; break }
    if (worker.exitCode !== null) throw new Error(`the worker exited with ${worker.exitCode} after storing ${n} points`)
  }
  // With rollups on, the work is done when the refresher has folded in every flush too.
  let rolledUp = last
  if (o.rollups) {
    for (;;) {
      const { rows: [d] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rollup_dirty')
      if (d!.n === 0) { rolledUp = Date.now(); break }
      if (worker.exitCode !== null) throw new Error(`the worker exited with ${worker.exitCode} before the rollups caught up`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
  const rssMb = peakRssMb(worker.pid!)
  worker.kill('SIGTERM')
  await new Promise(resolve => worker.once('exit', resolve))
  // The first poll that saw points came up to 500 ms after they landed: count from the
  // poll before it, which makes the figure conservative by at most one interval.
  const seconds = (last - firstAt + 500) / 1000

  const { rows: perTag } = await db.query<{ name: string, points: string, distinct: string }>(`
    SELECT t.name, count(*) AS points, count(DISTINCT u.t) AS distinct
    FROM points p JOIN tags t ON t.id = p.tag_id, unnest(p.ts) AS u(t) GROUP BY t.name`)
  let lost = 0
  let duplicated = 0
  const seen = new Set<string>()
  for (const r of perTag) {
    seen.add(r.name)
    const want = expectedPerTag.get(r.name) ?? 0
    duplicated += Number(r.points) - Number(r.distinct)
    lost += Math.max(0, want - Number(r.distinct))
  }
  for (const [name, want] of expectedPerTag) if (!seen.has(name)) lost += want
  const { rows: [size] } = await db.query("SELECT pg_database_size(current_database())::int8 AS bytes, (SELECT count(*) FROM points)::int8 AS rows")

  const dayNames = [...expectedPerTag].filter(([, samples]) => samples === DAY_S).map(([name]) => name)
  const { rows: dayTags } = await db.query<{ id: number }>('SELECT id FROM tags WHERE name = ANY($1::text[]) ORDER BY id', [dayNames])
  const readDays = async (): Promise<{ p50: number, p99: number, points: number }> => {
    const reads: number[] = []
    let points = 0
    for (let pass = 0; pass < 3; pass++) {
      for (const { id } of dayTags) {
        const t0 = process.hrtime.bigint()
        const series = await readRawPoints(db, id, T0_US, T0_US + DAY_S * 1_000_000)
        const ms = Number(process.hrtime.bigint() - t0) / 1e6
        if (pass > 0) reads.push(ms) // pass 0 warms the cache and the JIT
        points = series.timeUs.length
      }
    }
    reads.sort((a, b) => a - b)
    return { p50: Number(median(reads).toFixed(1)), p99: Number(reads[Math.min(reads.length - 1, Math.floor(reads.length * 0.99))]!.toFixed(1)), points }
  }
  const beforeCompaction = await readDays()
  // The worker merges closed tag-hours a few minutes after they close; the preloaded day is
  // long closed, so run that merge to completion now and time it.
  const session = new pg.Client({ connectionString: url.toString() })
  await session.connect()
  const c0 = Date.now()
  const compacted = await compactAll(sqlOfPg(session), Date.now() * 1000)
  const compactSeconds = (Date.now() - c0) / 1000
  // Autovacuum would clear the replaced segments within minutes; do it now so the reads
  // below see the steady state rather than a table full of dead rows.
  await session.query('VACUUM (ANALYZE) points')
  await session.end()
  const afterCompaction = await readDays()
  const { rows: [compactedSize] } = await db.query("SELECT pg_database_size(current_database())::int8 AS bytes, (SELECT count(*) FROM points)::int8 AS rows")
  await db.end()
  if (process.env.FS_BENCH_KEEP_DB === undefined) {
    const drop = new pg.Client({ connectionString: base.database.url })
    await drop.connect()
    await drop.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await drop.end()
  }
  await kafkaAdmin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined)
  await kafkaAdmin.close()

  printResult({
    bench: 'store',
    points: produced,
    seconds: Number(seconds.toFixed(2)),
    points_per_sec: Math.round(produced / seconds),
    rollups: o.rollups,
    scoring: o.scoring,
    // From the first stored point until the last flush is folded into the 1m/1h/1d rollups.
    points_per_sec_rolled_up: o.rollups ? Math.round(produced / ((rolledUp - firstAt + 500) / 1000)) : null,
    rollup_catch_up_seconds: o.rollups ? Number(((rolledUp - last) / 1000).toFixed(1)) : null,
    lost,
    duplicated,
    rss_mb: rssMb,
    tag_day_read_p99_ms: afterCompaction.p99,
    tag_day_read_p50_ms: afterCompaction.p50,
    tag_day_read_p99_ms_before_compaction: beforeCompaction.p99,
    tag_day_read_p50_ms_before_compaction: beforeCompaction.p50,
    tag_day_points: afterCompaction.points,
    compact_seconds: Number(compactSeconds.toFixed(1)),
    compacted_tag_hours: compacted.merged,
    tags: expectedPerTag.size,
    segment_rows: Number(size.rows),
    segment_rows_after_compaction: Number(compactedSize.rows),
    db_bytes_per_point: Number((Number(compactedSize.bytes) / produced).toFixed(1)),
    threads: o.threads,
    lanes: o.lanes,
    flush_mb: o.flushMB,
    max_buffered_mb: o.maxBufferedMB,
    partitions: o.partitions,
    timeline_points_per_sec: rates(timeline),
  })
}

/** Extra node flags for the worker, e.g. FS_BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
function workerNodeArgs (): string[] {
  return (process.env.FS_BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(a => a.length > 0)
}

/** Per-interval rates from the polls, to show whether the rate was sustained. */
function rates (timeline: Array<[number, number]>): number[] {
  const out: number[] = []
  for (let i = 1; i < timeline.length; i += 4) {
    const [t1, n1] = timeline[i]!
    const [t0, n0] = timeline[Math.max(0, i - 4)]!
    if (t1 > t0) out.push(Math.round((n1 - n0) / ((t1 - t0) / 1000)))
  }
  return out
}
