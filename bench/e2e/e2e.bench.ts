// `fieldstream bench e2e`: the whole pipeline on this machine at full speed, against a naive
// baseline in the same run.
//
//   field process (field.ts)      simulated Modbus pad + Sparkplug B edge nodes -> collectors -> Kafka
//   worker process(es)            `fieldstream work` (storage, rollups, scoring), one consumer group
//   this process                  only measures: per-worker progress lines, a latency probe on a
//                                 few tags (probe.ts), Kafka end offsets vs the store's offsets,
//                                 and at the end the per-tag count of the store against the ledger
//                                 of what the simulator sent (ledger.ts)
//
// Figures (one JSON line, plus bench/results/e2e-<stamp>.{md,svg,json}):
// - points_per_sec: points stored per second while the field was sending, after a warm-up,
//   from each worker's own progress line (points committed with their offsets; every 10 s),
//   summed over workers; points_per_sec_incl_drain: every stored point over the time from
//   the field's start until the store's offsets reached Kafka's end offsets.
// - lost / duplicated: per tag, what the simulator sent minus the distinct timestamps stored,
//   and the stored points minus the distinct ones.
// - p50_ms / p99_ms / max_ms: the latency probe's samples (an upper bound, see probe.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { stringify } from 'yaml'
import { createAdmin, createBatchConsumer, ensureTopics } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import { machineInfo, printResult } from '../machine.js'
import type { FieldJob, FieldLedger } from './field.js'
import { traceDuplicates, type DupTrace } from './dup-trace.js'
import { ensureKafkajs, NAIVE_TABLE_SQL, type NaiveConsumerJob } from './naive.js'
import { percentile, startLatencyProbe } from './probe.js'
import { latencySeries, plotSvg, writeReport, type RunTimeline } from './report.js'

export interface E2eBenchOptions {
  /** Seconds the field sends in each measured run. Default 300. */
  seconds: number
  /** Worker process counts to run, one run each (e.g. [1, 2]). Default [1]. */
  workers: number[]
  /** Seconds of the naive baseline; 0 skips it. Default 60. */
  naiveSeconds: number
  /** Seconds after the field's start left out of points_per_sec. Default 15. */
  warmupSeconds: number
  /** Modbus: multi-channel RTUs beside the pad's 4 pumps, 2 tanks and 2 flow meters. */
  rtus: number
  rtuChannels: number
  pollIntervalMs: number
  /** Sparkplug B: edge nodes x devices x metrics, one round every tickMs. */
  sparkplugNodes: number
  devicesPerNode: number
  metricsPerDevice: number
  tickMs: number
  /** Partitions of the points topic. */
  partitions: number
  /** Per worker process. */
  threads: number
  lanes: number
  scoring: boolean
}

export const DEFAULT_E2E_BENCH: E2eBenchOptions = {
  seconds: 300, workers: [1], naiveSeconds: 60, warmupSeconds: 15,
  // ~245,000 points/s from Modbus and ~60,000 from Sparkplug over ~7,800 tags. Fewer, faster
  // tags than a real site (see README "Scaling" for 1 Hz sites): the rate, not the tag count, is
  // what this bench is about, and each stored segment row then carries several points.
  rtus: 40, rtuChannels: 120, pollIntervalMs: 20,
  sparkplugNodes: 10, devicesPerNode: 5, metricsPerDevice: 60, tickMs: 50,
  partitions: 12, threads: 2, lanes: 2, scoring: true,
}

const DB_NAME = 'fieldstream_bench_e2e'
const HERE = fileURLToPath(new URL('.', import.meta.url))
// The CLI of this same build (bin/fieldstream.js always loads dist/, which may be another build).
const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url))
const RESULTS = fileURLToPath(new URL('../../../bench/results/', import.meta.url))
const SMALL_DEVICES = { pumps: 4, tanks: 2, flowMeters: 2 }
// Points per poll of the pad's small devices, roughly (sim/modbus/devices.ts): only for the planned-load line.
const SMALL_DEVICE_POINTS = 40

type Log = (line: string) => void
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export function offeredPointsPerSec (o: E2eBenchOptions): number {
  return Math.round((o.rtus * o.rtuChannels + SMALL_DEVICE_POINTS) * 1000 / o.pollIntervalMs + o.sparkplugNodes * o.devicesPerNode * o.metricsPerDevice * 1000 / o.tickMs)
}

async function freshDatabase (): Promise<string> {
  const base = loadConfig()
  const admin = new pg.Client({ connectionString: base.database.url })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${DB_NAME}`)
  await admin.end()
  const url = new URL(base.database.url)
  url.pathname = `/${DB_NAME}`
  return url.toString()
}

async function dropDatabase (): Promise<void> {
  const admin = new pg.Client({ connectionString: loadConfig().database.url })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`)
  await admin.end()
}

interface RunPlan { stamp: string, dir: string, topic: string, configFile: string, group: string, spGroup: string, databaseUrl: string }

function writeConfig (o: E2eBenchOptions, label: string, databaseUrl: string): RunPlan {
  const stamp = `${Date.now().toString(36)}${process.pid.toString(36)}${label}`
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-e2e-'))
  const topic = `fieldstream.bench.e2e.${stamp}`
  const spGroup = `e2e${stamp}`
  const configFile = join(dir, 'config.yaml')
  const base = loadConfig()
  writeFileSync(configFile, stringify({
    kafka: { brokers: [...base.kafka.brokers], topics: { points: topic, deadLetter: `${topic}.dlq`, alerts: `${topic}.alerts` }, partitions: o.partitions },
    database: { url: databaseUrl },
    mqtt: { url: base.mqtt.url },
    workers: { groupId: `bench-e2e-${stamp}`, threads: o.threads, lanes: o.lanes },
    store: { rollupRefreshMs: 2000 },
    scoring: { enabled: o.scoring, groupId: `bench-e2e-score-${stamp}` },
    sim: {
      modbus: { ...SMALL_DEVICES, rtus: o.rtus, rtuChannels: o.rtuChannels, pollIntervalMs: o.pollIntervalMs, basePort: 15500 },
      // The bench drives the rounds itself (field.ts); the edge's own timer stays idle.
      sparkplug: { groupId: spGroup, nodes: o.sparkplugNodes, devicesPerNode: o.devicesPerNode, metricsPerDevice: o.metricsPerDevice, intervalMs: 3_600_000 },
    },
    collectors: {
      mqtt: { enabled: o.sparkplugNodes > 0, clientId: `bench-e2e-${stamp}`, sparkplug: { enabled: o.sparkplugNodes > 0, hostId: `e2e${stamp}`, groupIds: [spGroup] } },
      spool: { dir: join(dir, 'spool') },
    },
  }))
  return { stamp, dir, topic, configFile, group: `bench-e2e-${stamp}`, spGroup, databaseUrl }
}

/** A child whose stdout/stderr lines are handed to callbacks. */
function spawnLines (args: string[], env: Record<string, string>, onOut: (line: string) => void, onErr: (line: string) => void): ChildProcess {
  // FIELDSTREAM_BENCH_CPU_PROF=<dir>: every child (field, workers) writes a V8 CPU profile there when it exits.
  const prof = process.env.FIELDSTREAM_BENCH_CPU_PROF
  const child = spawn(process.execPath, [...(prof === undefined || prof === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  createInterface({ input: child.stdout! }).on('line', onOut)
  createInterface({ input: child.stderr! }).on('line', onErr)
  return child
}

function exited (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise(resolve => child.once('exit', code => resolve(code)))
}

function peakRssMb (pid: number | undefined): number {
  try {
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
    return Math.round(kb / 1024)
  } catch { return 0 }
}

interface WorkerProc { child: ChildProcess, /** [wall ms, cumulative points stored] from its progress lines. */ stored: Array<[number, number]>, ready: boolean }

function startWorker (plan: RunPlan, index: number, log: Log): WorkerProc {
  const w: WorkerProc = { child: undefined as unknown as ChildProcess, stored: [], ready: false }
  w.child = spawnLines([CLI, '-c', plan.configFile, 'work'], { FIELDSTREAM_LOG: 'info' }, line => log(`worker ${index}: ${line}`), line => {
    const m = /stored (\d+) points in/.exec(line)
    if (m !== null) w.stored.push([Date.now(), Number(m[1])])
    else if (/ info (work|score): /.test(line)) {
      if (/assigned partitions/.test(line)) w.ready = true
      // Every (re)join is logged: a rebalance is where replayed messages come from.
      if (!/consuming|scoring |assigned partitions/.test(line)) return
    }
    log(`worker ${index}: ${line.replace(/^\S+ /, '')}`)
  })
  return w
}

/** Kafka end offsets minus the store's durable offsets for the run's group: messages not yet stored. */
async function storeLag (plan: RunPlan, db: pg.Client, consumer: ReturnType<typeof createBatchConsumer>): Promise<bigint> {
  const ends = (await consumer.listOffsets({ topics: [plan.topic] })).get(plan.topic) ?? []
  const { rows } = await db.query<{ partition: number, next_offset: string | null }>('SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2', [plan.group, plan.topic])
  const durable = new Map(rows.map(r => [r.partition, BigInt(r.next_offset ?? 0)]))
  let lag = 0n
  ends.forEach((end, p) => { if (end > (durable.get(p) ?? 0n)) lag += end - (durable.get(p) ?? 0n) })
  return lag
}

interface Tally { lost: number, /** of which Sparkplug tags (QoS 0 over MQTT) */ lostSparkplug: number, duplicated: number, unexpected: number, stored: number, sent: number, tags: number, segments: number }

/** Per tag: stored points and distinct timestamps, against what the simulator sent. */
async function tally (db: pg.Client, sent: Record<string, number>, sparkplugPrefix: string, log: Log): Promise<Tally> {
  await db.query("SET work_mem = '512MB'")
  const { rows } = await db.query<{ name: string, points: string, distinct: string }>(`
    SELECT t.name, count(*) AS points, count(DISTINCT u.t) AS distinct
    FROM points p JOIN tags t ON t.id = p.tag_id, unnest(p.ts) AS u(t) GROUP BY t.name`)
  const { rows: [seg] } = await db.query<{ n: string }>('SELECT count(*) AS n FROM points')
  const out: Tally = { lost: 0, lostSparkplug: 0, duplicated: 0, unexpected: 0, stored: 0, sent: 0, tags: 0, segments: Number(seg!.n) }
  const seen = new Set<string>()
  for (const r of rows) {
    const points = Number(r.points)
    const distinct = Number(r.distinct)
    const want = sent[r.name]
    seen.add(r.name)
    out.stored += points
    out.duplicated += points - distinct
    if (points > distinct && out.duplicated - (points - distinct) < 1) log(`e2e: ${r.name}: ${points} points stored, ${distinct} distinct`)
    if (want === undefined) out.unexpected += distinct
    else {
      if (want > distinct && out.lost < 5) log(`e2e: ${r.name}: sent ${want}, stored ${distinct} distinct`)
      out.lost += Math.max(0, want - distinct)
      if (r.name.startsWith(sparkplugPrefix)) out.lostSparkplug += Math.max(0, want - distinct)
      out.unexpected += Math.max(0, distinct - want)
    }
  }
  if (out.duplicated > 0) {
    // Where and when: enough to look for the cause (a batch stored twice, or two readings with one timestamp).
    const { rows: d } = await db.query<{ tags: string, first: Date, last: Date, n: string, sources: string }>(`
      SELECT count(DISTINCT d.tag_id) AS tags, min(d.t) AS first, max(d.t) AS last, count(*) AS n,
             string_agg(DISTINCT split_part(t.name, '/', 1) || '/' || split_part(t.name, '/', 2), ', ') AS sources
      FROM (SELECT p.tag_id, u.t FROM points p, unnest(p.ts) AS u(t) GROUP BY 1, 2 HAVING count(*) > 1) d JOIN tags t ON t.id = d.tag_id`)
    log(`e2e: DUPLICATES: ${d[0]!.n} (tag, time) pairs over ${d[0]!.tags} tags, source times ${d[0]!.first.toISOString()} .. ${d[0]!.last.toISOString()}, under ${d[0]!.sources}`)
  }
  for (const [name, want] of Object.entries(sent)) {
    out.sent += want
    out.tags++
    if (!seen.has(name)) {
      out.lost += want
      if (name.startsWith(sparkplugPrefix)) out.lostSparkplug += want
    }
  }
  return out
}

/** Per-interval rates of a cumulative series, [seconds since t0, per second]. */
function rates (series: ReadonlyArray<[number, number]>, t0: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let i = 1; i < series.length; i++) {
    const [a, na] = series[i - 1]!
    const [b, nb] = series[i]!
    if (b > a) out.push([(b - t0) / 1000, Math.round((nb - na) / ((b - a) / 1000))])
  }
  return out
}

/** Points/s of one worker between its first progress line at or after `from` and its last at or before `to`. */
function workerRate (stored: ReadonlyArray<[number, number]>, from: number, to: number): { points: number, ms: number } {
  const inside = stored.filter(([t]) => t >= from && t <= to)
  if (inside.length < 2) return { points: 0, ms: 0 }
  const [t0, n0] = inside[0]!
  const [t1, n1] = inside.at(-1)!
  return { points: n1 - n0, ms: t1 - t0 }
}

/** Stored points/s over time: each worker's rate between consecutive progress lines, summed, sampled every 2 s. */
function storedSeries (workers: readonly WorkerProc[], t0: number, until: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let t = t0; t <= until; t += 2000) {
    let rate = 0
    for (const w of workers) {
      for (let i = 1; i < w.stored.length; i++) {
        const [a, na] = w.stored[i - 1]!
        const [b, nb] = w.stored[i]!
        if (t > a && t <= b) { rate += (nb - na) / ((b - a) / 1000); break }
      }
    }
    out.push([(t - t0) / 1000, Math.round(rate)])
  }
  return out
}

export interface E2eRun {
  workers: number
  points_per_sec: number
  points_per_sec_incl_drain: number
  offered_points_per_sec: number
  sent: number
  stored: number
  lost: number
  lost_sparkplug: number
  duplicated: number
  unexpected: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  latency_samples: number
  drain_seconds: number
  tags: number
  segment_rows: number
  worker_rss_mb: number[]
  worker_exits_during_run: number
  /** Present when points were doubled: where a sample of them came from. */
  dup_trace?: DupTrace
  sparkplug_rounds: number
  sparkplug_late_rounds: number
  sparkplug_rebirths: number
  modbus_overruns: number
  modbus_polls_failed: number
  modbus_retries: number
  mqtt_points_shed: number
  spooled_batches: number
  load_avg_during: number
  timeline: RunTimeline
}

async function runPipeline (o: E2eBenchOptions, workerCount: number, log: Log): Promise<E2eRun> {
  const databaseUrl = await freshDatabase()
  const plan = writeConfig(o, `w${workerCount}`, databaseUrl)
  const cfg = loadConfig({ file: plan.configFile, env: {} })
  const admin = createAdmin(cfg.kafka)
  await ensureTopics(admin, [
    { name: plan.topic, partitions: o.partitions, replicationFactor: 1 },
    { name: `${plan.topic}.dlq`, partitions: 1, replicationFactor: 1 },
    { name: `${plan.topic}.alerts`, partitions: 1, replicationFactor: 1 },
  ])
  log(`e2e: ${workerCount} worker process(es), topic ${plan.topic} (${o.partitions} partitions), offered ~${offeredPointsPerSec(o).toLocaleString('en-US')} points/s for ${o.seconds} s`)
  const workers = Array.from({ length: workerCount }, (_, i) => startWorker(plan, i + 1, log))
  const children: ChildProcess[] = workers.map(w => w.child)
  const lagConsumer = createBatchConsumer(cfg.kafka, `${plan.group}-lag`)
  const db = new pg.Client({ connectionString: databaseUrl })
  try {
    const joinDeadline = Date.now() + 120_000
    while (!workers.every(w => w.ready) && Date.now() < joinDeadline) {
      if (workers.some(w => w.child.exitCode !== null)) throw new Error('a worker exited before joining its group')
      await sleep(200)
    }
    if (!workers.every(w => w.ready)) throw new Error('the workers did not join their group within 120 s')
    await db.connect()
    const lastRtu = Math.max(1, o.rtus)
    const probeTags = [
      'pad1/pump1/discharge_pressure', ...(o.rtus > 0 ? [`pad1/rtu${lastRtu}/ai000`] : []),
      ...(o.sparkplugNodes > 0 ? [`${plan.spGroup}/node0/dev0/pressure_0`, `${plan.spGroup}/node${o.sparkplugNodes - 1}/dev${o.devicesPerNode - 1}/flow_0`] : []),
    ]
    const probe = await startLatencyProbe(databaseUrl, probeTags)
    const ledgerFile = join(plan.dir, 'ledger.json')
    const job: FieldJob = { mode: 'pipeline', configFile: plan.configFile, seconds: o.seconds, tickMs: o.tickMs, ledgerFile }
    writeFileSync(join(plan.dir, 'field.json'), JSON.stringify(job))
    const offered: Array<[number, number]> = []
    const loads: number[] = []
    const field = spawnLines([join(HERE, 'field.js'), join(plan.dir, 'field.json')], { FIELDSTREAM_LOG: 'warn' }, line => {
      try { const p = JSON.parse(line) as { t: number, sent: number }; offered.push([p.t, p.sent]); if (offered.length % 10 === 0) { loads.push(loadavg()[0]!); log(`e2e: field sent ${p.sent.toLocaleString('en-US')} points; stored ${workers.reduce((n, w) => n + (w.stored.at(-1)?.[1] ?? 0), 0).toLocaleString('en-US')} (worker lines every 10 s); load ${loadavg()[0]!.toFixed(1)}`) } } catch { log(`field: ${line}`) }
    }, line => log(`field: ${line}`))
    children.push(field)
    const code = await exited(field)
    if (code !== 0) throw new Error(`the field process exited with ${code}`)
    const ledger = JSON.parse(readFileSync(ledgerFile, 'utf8')) as FieldLedger
    log(`e2e: field stopped after ${((ledger.stoppedAt - ledger.startedAt) / 1000).toFixed(1)} s; waiting for the store to reach Kafka's end offsets`)

    let drainedAt = 0
    const drainDeadline = Date.now() + Math.max(180_000, o.seconds * 2000)
    while (Date.now() < drainDeadline) {
      if (await storeLag(plan, db, lagConsumer) === 0n) { drainedAt = Date.now(); break }
      if (workers.every(w => w.child.exitCode !== null || w.child.signalCode !== null)) throw new Error('every worker exited before the store caught up')
      await sleep(250)
    }
    if (drainedAt === 0) log('e2e: the store did NOT reach the end offsets in time; counting what is there')
    await sleep(1000) // the probe sees the last rows
    await probe.stop()
    const rss = workers.map(w => peakRssMb(w.child.pid))
    // A worker that died during the run (its partitions went to the other) is part of the result.
    const exitedEarly = workers.map(w => w.child.exitCode ?? (w.child.signalCode === null ? null : -1))
    if (exitedEarly.some(c => c !== null)) log(`e2e: WORKER EXITED DURING THE RUN: exit codes ${exitedEarly.map(c => c ?? 'running').join(', ')}`)
    for (const w of workers) w.child.kill('SIGTERM')
    await Promise.all(workers.map(w => exited(w.child)))

    log('e2e: counting the store per tag against the simulator ledger')
    const t = await tally(db, ledger.sent, `${plan.spGroup}/`, log)
    // Before the topic goes: which Kafka messages the doubled points came in (dup-trace.ts).
    const dupTrace = t.duplicated > 0 ? await traceDuplicates(db, cfg.kafka, plan.topic) : undefined
    if (dupTrace !== undefined) {
      log(`e2e: DUPLICATES traced (${dupTrace.samples.length} sampled pairs): ${dupTrace.oneMessage} in one Kafka message stored twice, ${dupTrace.sameBatchTwice} in one batch sent twice, ${dupTrace.differentBatches} in different batches`)
      for (const s of dupTrace.samples.slice(0, 5)) log(`e2e:   ${s.tag} @ ${new Date(s.timeUs / 1000).toISOString()} (${s.timeUs} us): values ${s.values.join(', ')}; ${s.rows} segment row(s); messages ${s.messages.map(m => `p${m.partition}@${m.offset} ${m.source}#${m.seq}`).join(', ') || 'none found'}`)
    }
    // Workers report on their own 10-s clocks: sum their rates, each over its own window.
    const rate = workers.reduce((sum, w) => {
      const r = workerRate(w.stored, ledger.startedAt + o.warmupSeconds * 1000, ledger.stoppedAt)
      return r.ms > 0 ? sum + r.points / (r.ms / 1000) : sum
    }, 0)
    const latencies = probe.samples.filter(s => s.at >= ledger.startedAt).map(s => s.ms).sort((a, b) => a - b)
    const lat = latencySeries(probe.samples, ledger.startedAt)
    const sentTotal = Object.values(ledger.sent).reduce((a, b) => a + b, 0)
    const seconds = (ledger.stoppedAt - ledger.startedAt) / 1000
    const offeredRates = rates(offered, ledger.startedAt)
    return {
      workers: workerCount,
      points_per_sec: Math.round(rate),
      points_per_sec_incl_drain: Math.round(t.stored / (((drainedAt || Date.now()) - ledger.startedAt) / 1000)),
      offered_points_per_sec: Math.round(sentTotal / seconds),
      sent: t.sent,
      stored: t.stored,
      lost: t.lost,
      lost_sparkplug: t.lostSparkplug,
      duplicated: t.duplicated,
      unexpected: t.unexpected,
      p50_ms: Math.round(percentile(latencies, 0.5)),
      p99_ms: Math.round(percentile(latencies, 0.99)),
      max_ms: Math.round(latencies.at(-1) ?? NaN),
      latency_samples: latencies.length,
      drain_seconds: drainedAt === 0 ? -1 : Number(((drainedAt - ledger.stoppedAt) / 1000).toFixed(1)),
      tags: t.tags,
      segment_rows: t.segments,
      worker_rss_mb: rss,
      worker_exits_during_run: exitedEarly.filter(c => c !== null).length,
      ...(dupTrace === undefined ? {} : { dup_trace: dupTrace }),
      sparkplug_rounds: ledger.sparkplugRounds,
      sparkplug_late_rounds: ledger.sparkplugLateRounds,
      sparkplug_rebirths: ledger.edge?.rebirthsHonored ?? 0,
      modbus_overruns: ledger.modbus?.overruns ?? 0,
      modbus_polls_failed: ledger.modbus?.pollsFailed ?? 0,
      // A request the collector retried after a timeout may have been answered twice (counted twice by the ledger, one point).
      modbus_retries: ledger.modbus?.retries ?? 0,
      mqtt_points_shed: ledger.mqtt?.pointsShed ?? 0,
      spooled_batches: ledger.sink?.spooled ?? 0,
      load_avg_during: Number((loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)).toFixed(2)),
      timeline: { label: `${workerCount} worker process${workerCount > 1 ? 'es' : ''}`, offered: offeredRates, stored: storedSeries(workers, ledger.startedAt, drainedAt || Date.now()), p50: lat.p50, p99: lat.p99 },
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await db.end().catch(() => undefined)
    await new Promise<void>(resolve => { lagConsumer.close(true, () => resolve()) })
    await admin.deleteTopics({ topics: [plan.topic, `${plan.topic}.dlq`, `${plan.topic}.alerts`] }).catch(() => undefined)
    await admin.close()
  }
}

export interface NaiveRun { points_per_sec: number, stored: number, offered_points_per_sec: number, backlog_points: number, seconds: number, timeline: Array<[number, number]>, offered: Array<[number, number]> }

async function runNaive (o: E2eBenchOptions, log: Log): Promise<NaiveRun> {
  ensureKafkajs()
  const databaseUrl = await freshDatabase()
  const plan = writeConfig(o, 'naive', databaseUrl)
  const cfg = loadConfig({ file: plan.configFile, env: {} })
  const topic = `${plan.topic}.naive`
  const admin = createAdmin(cfg.kafka)
  await ensureTopics(admin, [{ name: topic, partitions: o.partitions, replicationFactor: 1 }])
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  await db.query(NAIVE_TABLE_SQL)
  const children: ChildProcess[] = []
  try {
    const consumerJob: NaiveConsumerJob = { brokers: [...cfg.kafka.brokers], topic, groupId: `${plan.group}-naive`, databaseUrl }
    writeFileSync(join(plan.dir, 'naive.json'), JSON.stringify(consumerJob))
    const consumer = spawnLines([join(HERE, 'naive.js'), 'consume', join(plan.dir, 'naive.json')], {}, line => log(`naive consumer: ${line}`), line => log(`naive consumer: ${line}`))
    children.push(consumer)
    log(`e2e naive: JSON per point via kafkajs -> eachMessage -> one INSERT per point, ${o.naiveSeconds} s, topic ${topic}`)
    const ledgerFile = join(plan.dir, 'ledger.json')
    const job: FieldJob = { mode: 'naive', configFile: plan.configFile, seconds: o.naiveSeconds, tickMs: o.tickMs, ledgerFile, naiveTopic: topic }
    writeFileSync(join(plan.dir, 'field.json'), JSON.stringify(job))
    const counts: Array<[number, number]> = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        const at = Date.now()
        const { rows: [r] } = await db.query<{ n: string }>('SELECT count(*) AS n FROM naive_points')
        counts.push([at, Number(r!.n)])
        await sleep(2000)
      }
    })()
    const offered: Array<[number, number]> = []
    const field = spawnLines([join(HERE, 'field.js'), join(plan.dir, 'field.json')], { FIELDSTREAM_LOG: 'warn' }, line => {
      try { const p = JSON.parse(line) as { t: number, sent: number }; offered.push([p.t, p.sent]) } catch { log(`naive field: ${line}`) }
    }, line => log(`naive field: ${line}`))
    children.push(field)
    const code = await exited(field)
    polling = false
    await poller
    if (code !== 0) throw new Error(`the naive field process exited with ${code}`)
    const ledger = JSON.parse(readFileSync(ledgerFile, 'utf8')) as FieldLedger
    consumer.kill('SIGTERM')
    await Promise.race([exited(consumer), sleep(10_000)])
    // Its own warm-up: a quarter of its run at most.
    const from = ledger.startedAt + Math.min(o.warmupSeconds, Math.floor(o.naiveSeconds / 4)) * 1000
    const inside = counts.filter(([t]) => t >= from && t <= ledger.stoppedAt)
    const [t0, n0] = inside[0] ?? [0, 0]
    const [t1, n1] = inside.at(-1) ?? [0, 0]
    const { rows: [last] } = await db.query<{ n: string }>('SELECT count(*) AS n FROM naive_points')
    const sent = Object.values(ledger.sent).reduce((a, b) => a + b, 0)
    const timeline = rates(counts, ledger.startedAt)
    return {
      points_per_sec: t1 > t0 ? Math.round((n1 - n0) / ((t1 - t0) / 1000)) : 0,
      stored: Number(last!.n),
      offered_points_per_sec: Math.round(sent / ((ledger.stoppedAt - ledger.startedAt) / 1000)),
      backlog_points: sent - Number(last!.n),
      seconds: o.naiveSeconds,
      timeline,
      offered: rates(offered, ledger.startedAt),
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await db.end().catch(() => undefined)
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
    await admin.close()
  }
}

function markdown (o: E2eBenchOptions, result: Record<string, unknown>, runs: readonly E2eRun[], naive: NaiveRun | undefined, svgName: string): string {
  const m = machineInfo()
  const row = (r: E2eRun): string => `| ${r.workers} | ${r.offered_points_per_sec.toLocaleString('en-US')} | **${r.points_per_sec.toLocaleString('en-US')}** | ${r.points_per_sec_incl_drain.toLocaleString('en-US')} | ${r.lost} (${r.lost_sparkplug}) / ${r.duplicated} / ${r.unexpected} | ${r.p50_ms} / ${r.p99_ms} / ${r.max_ms} | ${r.drain_seconds} | ${r.worker_rss_mb.join(', ')} | ${r.worker_exits_during_run} | ${r.load_avg_during} |`
  return `# fieldstream bench e2e, ${new Date().toISOString()}

Machine: ${m.cpus} x ${m.cpu_model}, ${m.mem_gb} GB, Node ${m.node}. Everything on this machine: Mosquitto,
Kafka (one broker), PostgreSQL 15, the field process, the worker process(es) and this measuring process.
Load average at the end: ${loadavg().map(l => l.toFixed(2)).join(', ')} (the machine is shared; figures are noisy).

## Field

- Modbus TCP pad: 4 pumps, 2 tanks, 2 flow meters and ${o.rtus} RTUs x ${o.rtuChannels} channels, polled every ${o.pollIntervalMs} ms by the Modbus collector.
- Sparkplug B: ${o.sparkplugNodes} edge nodes x ${o.devicesPerNode} devices x ${o.metricsPerDevice} metrics, one DDATA per device every ${o.tickMs} ms, through Mosquitto into the MQTT collector (primary host).
- Planned offered load ${offeredPointsPerSec(o).toLocaleString('en-US')} points/s over ${runs[0]?.tags.toLocaleString('en-US') ?? '?'} tags; ${o.seconds} s per run (warm-up ${o.warmupSeconds} s left out of points/s).
- Topic with ${o.partitions} partitions; each \`fieldstream work\` process: ${o.threads} threads, ${o.lanes} COPY lanes, rollups every 2 s, scoring ${o.scoring ? 'on' : 'off'}.

## Results

| worker processes | offered pts/s | stored pts/s (steady) | incl. drain | lost (of which Sparkplug) / dup / unexpected | latency p50 / p99 / max ms | drain s | worker peak RSS MB | workers that died | load avg |
|---|---|---|---|---|---|---|---|---|---|
${runs.map(row).join('\n')}

Field side (what explains a loss or a shortfall of the offered load):

| worker processes | Sparkplug rounds (late) | rebirths | MQTT points shed (QoS 0, collector overloaded) | Modbus overruns | Modbus retries | batches spooled | tags | segment rows |
|---|---|---|---|---|---|---|---|---|
${runs.map(r => `| ${r.workers} | ${r.sparkplug_rounds} (${r.sparkplug_late_rounds}) | ${r.sparkplug_rebirths} | ${r.mqtt_points_shed.toLocaleString('en-US')} | ${r.modbus_overruns.toLocaleString('en-US')} | ${r.modbus_retries} | ${r.spooled_batches} | ${r.tags.toLocaleString('en-US')} | ${r.segment_rows.toLocaleString('en-US')} |`).join('\n')}

${naive === undefined ? 'Naive baseline: not run.' : `Naive baseline (${naive.seconds} s, same field): **${naive.points_per_sec.toLocaleString('en-US')} points/s** stored (offered ${naive.offered_points_per_sec.toLocaleString('en-US')}; ${naive.backlog_points.toLocaleString('en-US')} points still unstored when it stopped). Ratio: **${String(result.ratio_vs_naive)} x**.`}

![throughput and latency](${svgName})

## How it is measured

- **Stored points/s (steady)**: each \`fieldstream work\` process prints, every 10 s, how many points it has
  committed (rows and Kafka offsets in one transaction). Per worker, the points between its first line after
  the warm-up and its last line before the field stopped, over that time; summed over workers.
  **incl. drain**: all stored points over the time from the field's start until the store's offsets
  (\`consumer_offsets\`) reached Kafka's end offsets of the topic.
- **Lost / duplicated**: the field process keeps a ledger of what the simulator sent per tag (Modbus: every
  answered register read, counted per device at the simulator; Sparkplug: one point per metric per round
  the bench drove, plus the birth), and at the end the store is counted per tag:
  \`SELECT t.name, count(*), count(DISTINCT u.t) FROM points p JOIN tags t ON t.id = p.tag_id, unnest(p.ts) u(t) GROUP BY t.name\`.
  lost = sent - distinct (per tag, when positive), duplicated = count - distinct. *unexpected* counts stored
  points beyond the ledger (e.g. bad-quality points a collector made for a poll that timed out, or
  Sparkplug node metrics such as bdSeq) and is not counted as loss or duplication.
- **Latency**: every 200 ms the bench reads, for ${runs[0] === undefined ? 'a few' : 'four'} probe tags (two Modbus, two Sparkplug), the source
  timestamps newer than the newest it has seen from the tag's latest 40 segments; each new timestamp t gives
  (wall clock when that query started) - t. The row was already committed in that query's snapshot, and
  was not in the previous one, so each sample overstates the true latency by less than the 200 ms probe
  interval (plus the probe's own query time); it never understates it.
- **Naive baseline**: the same simulated field and collectors, but each point becomes its own JSON
  message (kafkajs producer, one \`send\` per 100 messages), consumed with kafkajs \`eachMessage\` and one
  \`INSERT INTO naive_points (time, tag, value)\` per point (narrow table, index on (tag, time)). Its
  rate is the table's row count growth after the warm-up while its field ran.

Raw figures: ${svgName.replace(/\.svg$/, '.json')}.
`
}

export async function runE2eBench (opts: Partial<E2eBenchOptions> = {}, log: Log = l => process.stderr.write(`${l}\n`)): Promise<void> {
  const o = { ...DEFAULT_E2E_BENCH, ...opts }
  const runs: E2eRun[] = []
  if (o.naiveSeconds > 0) ensureKafkajs() // fail before the long runs, not after
  for (const n of o.workers) runs.push(await runPipeline(o, n, log))
  const naive = o.naiveSeconds > 0 ? await runNaive(o, log) : undefined
  await dropDatabase()
  const best = runs.reduce((a, b) => (b.points_per_sec > a.points_per_sec ? b : a))
  const result: Record<string, unknown> = {
    bench: 'e2e',
    seconds: o.seconds,
    workers: best.workers,
    points_per_sec: best.points_per_sec,
    points_per_sec_incl_drain: best.points_per_sec_incl_drain,
    offered_points_per_sec: best.offered_points_per_sec,
    // Summed over every run: none may lose or double a point.
    lost: runs.reduce((n, r) => n + r.lost, 0),
    duplicated: runs.reduce((n, r) => n + r.duplicated, 0),
    unexpected: runs.reduce((n, r) => n + r.unexpected, 0),
    p50_ms: best.p50_ms,
    p99_ms: best.p99_ms,
    max_ms: best.max_ms,
    naive_points_per_sec: naive?.points_per_sec ?? null,
    ratio_vs_naive: naive === undefined || naive.points_per_sec === 0 ? null : Number((best.points_per_sec / naive.points_per_sec).toFixed(1)),
    ...Object.fromEntries(runs.map(r => [`points_per_sec_${r.workers}_worker${r.workers > 1 ? 's' : ''}`, r.points_per_sec])),
    runs: runs.map(({ timeline: _t, ...r }) => r),
    naive: naive === undefined ? null : (({ timeline: _t, offered: _o, ...n }) => n)(naive),
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const svg = plotSvg([
    ...runs.map(r => r.timeline),
    ...(naive === undefined ? [] : [{ label: 'naive baseline', offered: naive.offered, stored: naive.timeline, storedName: 'stored (naive rows)' }]),
  ])
  const files = writeReport(RESULTS, stamp, markdown(o, result, runs, naive, `e2e-${stamp}.svg`), svg, result)
  log(`e2e: report ${files.markdown}, plot ${files.svg}`)
  printResult(result)
}
