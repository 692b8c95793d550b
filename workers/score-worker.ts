// The scoring stage: a consumer group of its own on the points topic (so scoring never slows
// storage, and scales out on partitions like it), feeding single-thread Piscina pools that each
// own a share of the tags' windows (tag id modulo threads: a window must live in one thread).
// Due windows are scored in batches, the scores stored, and the alert hysteresis fed; Kafka
// offsets are committed once scores and alert events are durable. A replay after a crash
// rewrites the same (tag, time) scores and finds its alerts already recorded.
//
//   Kafka ──▶ decode, tag ids ──▶ pool[tag % threads]: windows, ONNX ──▶ anomaly_scores
//                                                            └──▶ hysteresis ──▶ alerts table, alert topic, webhook
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import pg from 'pg'
import { Piscina } from 'piscina'
import type { BatchConsumer, BatchProducer, KafkaSettings } from '../common/kafka.js'
import type { Logger } from '../common/log.js'
import type { Config } from '../schemas/config/schema.js'
import { BatchCorrupt } from '../schemas/errors.js'
import { ValueKind, type PointBatch } from '../schemas/points.js'
import { decodeBatch } from '../schemas/wire/codec.js'
import { closeConsumer, firstLine, openGroupStream, rejoinWithBackoff } from './consume/rejoin.js'
import { commitLastPerPartition, type BatchMessage } from './consume/partitions.js'
import { AlertTracker, type AlertEvent } from './alerts/hysteresis.js'
import { openAlerts, recordAlert, type AlertRecord } from './alerts/store.js'
import { createWebhook, type Webhook } from './alerts/webhook.js'
import { SCORE_TASK_FILE, type ScoreTask, type ScoreTaskResult, type ScoreWorkerData } from './score/task.js'
import { SHIPPED_MODEL_PATH } from './score/scorer.js'
import { isRetryable } from './store/errors.js'
import { sqlOfPg } from './store/sql.js'
import { TagRegistry } from './store/tags.js'

export interface ScoreWorkerOptions {
  kafka: KafkaSettings
  topic: string
  alertsTopic: string
  databaseUrl: string
  groupId: string
  modelPath: string
  threads: number
  hop: number
  alerts: { openAbove?: number, openAfterS: number, closeBelow: number, closeAfterS: number, webhook: { url: string, timeoutMs: number, retries: number, maxQueued: number } }
  /** Intake pauses when this much is waiting, bytes. */
  maxBufferedBytes: number
  /** Buffered points are scored at least this often, ms. */
  everyMs: number
}

export interface ScoreStats {
  pointsSeen: number
  scores: number
  alertsOpened: number
  alertsClosed: number
  corruptSkipped: number
  dbRetries: number
}

export interface ScoreWorker {
  readonly stats: Readonly<ScoreStats>
  readonly model: string
  start (): Promise<void>
  stop (): Promise<void>
  /** Score what has arrived so far (tests). */
  flush (): Promise<void>
  readonly done: Promise<void>
}

export function scoreOptionsFromConfig (cfg: Readonly<Config>): ScoreWorkerOptions {
  const s = cfg.scoring
  return {
    kafka: cfg.kafka,
    topic: cfg.kafka.topics.points,
    alertsTopic: cfg.kafka.topics.alerts,
    databaseUrl: cfg.database.url,
    groupId: s.groupId,
    modelPath: s.model === '' ? SHIPPED_MODEL_PATH : s.model,
    threads: s.threads,
    hop: s.hop,
    alerts: s.alerts,
    maxBufferedBytes: 32 * 2 ** 20,
    everyMs: 250,
  }
}

/** The alert threshold a model was calibrated for, from its metadata file beside it (models/README.md). */
function calibratedThreshold (modelPath: string): number | undefined {
  try {
    const meta = JSON.parse(readFileSync(modelPath.replace(/\.onnx$/, '.json'), 'utf8')) as { threshold?: unknown }
    return typeof meta.threshold === 'number' && meta.threshold >= 0 && meta.threshold <= 1 ? meta.threshold : undefined
  } catch {
    return undefined
  }
}

export function createScoreWorker (o: ScoreWorkerOptions, deps: { log: Logger, producer: BatchProducer }): ScoreWorker {
  const { log } = deps
  const model = basename(o.modelPath).replace(/\.onnx$/, '')
  const openAbove = o.alerts.openAbove ?? calibratedThreshold(o.modelPath) ?? 0.9
  const stats: ScoreStats = { pointsSeen: 0, scores: 0, alertsOpened: 0, alertsClosed: 0, corruptSkipped: 0, dbRetries: 0 }
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: 2, connectionTimeoutMillis: 10_000 })
  db.on('error', err => log.debug(`idle database connection closed: ${err.message}`))
  const sql = sqlOfPg(db)
  const registry = new TagRegistry(sql)
  const tracker = new AlertTracker({ openAbove, closeBelow: o.alerts.closeBelow, openAfterUs: o.alerts.openAfterS * 1e6, closeAfterUs: o.alerts.closeAfterS * 1e6 })
  const webhook: Webhook | undefined = o.alerts.webhook.url === ''
    ? undefined
    : createWebhook({ ...o.alerts.webhook, backoffMs: 500 }, { log })
  let pools: Piscina[] = []
  let consumer: BatchConsumer | undefined
  let stream: Awaited<ReturnType<BatchConsumer['consume']>> | undefined
  let buffered: BatchMessage[] = []
  let bufferedBytes = 0
  let paused = false
  let timer: NodeJS.Timeout | undefined
  /** Counter tags (totalizers) rise by design: their raw values are not scored (nor boolean tags). */
  let counters = new Set<number>()
  let countersLoadedAt = 0
  let chain: Promise<void> = Promise.resolve()
  let stopping = false
  let failWith: (err: Error) => void = () => undefined
  let finish: () => void = () => undefined
  const done = new Promise<void>((resolve, reject) => { finish = resolve; failWith = reject })
  done.catch(() => undefined)

  function onMessage (m: BatchMessage): void {
    buffered.push(m)
    bufferedBytes += m.value.length
    if (!paused && bufferedBytes >= o.maxBufferedBytes) { paused = true; stream?.pause() }
  }

  /** One chunk at a time: the chain is the stage's backpressure. */
  function schedule (): Promise<void> {
    chain = chain.then(processBuffered).catch(err => { fatal(err as Error) })
    return chain
  }

  async function processBuffered (): Promise<void> {
    if (buffered.length === 0) return
    const messages = buffered
    buffered = []
    bufferedBytes = 0
    const batches: PointBatch[] = []
    for (const m of messages) {
      try { batches.push(decodeBatch(m.value)) } catch (err) {
        // The storage stage dead-letters it; scoring only skips it.
        if (!(err instanceof BatchCorrupt)) throw err
        stats.corruptSkipped++
      }
    }
    const ids = await retrying('resolving tag ids', async () => await registry.idsFor(batches))
    if (Date.now() - countersLoadedAt > 30_000) {
      const { rows } = await retrying('reading tag kinds', async () => await sql.query<{ id: number }>("SELECT id FROM tags WHERE kind = 'counter'"))
      counters = new Set(rows.map(r => r.id))
      countersLoadedAt = Date.now()
    }
    const result = await scoreOnThreads(batches, ids)
    await retrying('storing scores', async () => { await storeScores(result) })
    await raiseAlerts(result)
    commit(messages)
    if (paused && bufferedBytes < o.maxBufferedBytes / 2) { paused = false; stream?.resume() }
  }

  async function scoreOnThreads (batches: readonly PointBatch[], ids: readonly Int32Array[]): Promise<ScoreTaskResult[]> {
    const n = pools.length
    const count = new Array<number>(n).fill(0)
    // Boolean tags (a pump running, a high-level switch) go on and off by design; counters rise.
    const scored = (batch: PointBatch, b: number, k: number): boolean => batch.tagKinds[k] !== ValueKind.bool && !counters.has(ids[b]![k]!)
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!
      for (const k of batch.tagIndex) if (scored(batch, b, k)) count[ids[b]![k]! % n]!++
    }
    const parts = count.map(c => ({ tagIds: new Int32Array(c), timeUs: new Float64Array(c), value: new Float64Array(c), quality: new Uint16Array(c), at: 0 }))
    batches.forEach((batch, b) => {
      for (let i = 0; i < batch.tagIndex.length; i++) {
        const k = batch.tagIndex[i]!
        if (!scored(batch, b, k)) continue
        const tagId = ids[b]![k]!
        const p = parts[tagId % n]!
        p.tagIds[p.at] = tagId
        p.timeUs[p.at] = batch.timeUs[i]!
        p.value[p.at] = batch.value[i]!
        p.quality[p.at++] = batch.quality[i]!
      }
      stats.pointsSeen += batch.tagIndex.length
    })
    return await Promise.all(parts.map(async (p, i) => {
      const task: ScoreTask = { tagIds: p.tagIds, timeUs: p.timeUs, value: p.value, quality: p.quality }
      return await pools[i]!.run(task, { transferList: [p.tagIds.buffer, p.timeUs.buffer, p.value.buffer, p.quality.buffer] }) as ScoreTaskResult
    }))
  }

  async function storeScores (results: readonly ScoreTaskResult[]): Promise<void> {
    const tagIds: number[] = []
    const ts: number[] = []
    const scores: number[] = []
    for (const r of results) {
      for (let i = 0; i < r.tagIds.length; i++) { tagIds.push(r.tagIds[i]!); ts.push(r.ts[i]!); scores.push(Math.min(1, Math.max(0, r.scores[i]!))) }
    }
    if (tagIds.length === 0) return
    await sql.query(
      `INSERT INTO anomaly_scores (tag_id, ts, score, model)
       SELECT u.tag_id, TIMESTAMPTZ 'epoch' + u.us * interval '1 microsecond', u.score, $4
         FROM unnest($1::int[], $2::float8[], $3::real[]) AS u(tag_id, us, score)
       ON CONFLICT (tag_id, ts) DO UPDATE SET score = EXCLUDED.score, model = EXCLUDED.model`,
      [tagIds, ts, scores, model])
    stats.scores += tagIds.length
  }

  async function raiseAlerts (results: readonly ScoreTaskResult[]): Promise<void> {
    const scored: Array<[tagId: number, ts: number, score: number]> = []
    for (const r of results) for (let i = 0; i < r.tagIds.length; i++) scored.push([r.tagIds[i]!, r.ts[i]!, r.scores[i]!])
    scored.sort((a, b) => a[1] - b[1])
    const events: AlertEvent[] = []
    for (const [tagId, ts, score] of scored) {
      const e = tracker.observe(tagId, ts, score)
      if (e !== undefined) events.push(e)
    }
    for (const e of events) {
      const record = await retrying('recording an alert', async () => await recordAlert(sql, e, model, e.type === 'opened' ? openAbove : o.alerts.closeBelow))
      if (record === undefined) continue // already recorded by an earlier run of these offsets
      if (record.event === 'opened') stats.alertsOpened++
      else stats.alertsClosed++
      log.info(`alert ${record.id} ${record.event}: ${record.tag} (${record.asset ?? 'no asset'}) peak score ${record.peakScore.toFixed(3)}`)
      await publish(record)
      webhook?.send(record)
    }
  }

  async function publish (record: AlertRecord): Promise<void> {
    await deps.producer.send({ messages: [{ topic: o.alertsTopic, key: record.tag, value: Buffer.from(JSON.stringify(record)) }] })
  }

  function commit (messages: readonly BatchMessage[]): void {
    commitLastPerPartition(messages, err => { log.debug(`kafka commit failed (replayed scores are rewritten): ${err.message}`) })
  }

  async function retrying<T> (what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try { return await fn() } catch (err) {
        if (!isRetryable(err) || stopping) throw err
        stats.dbRetries++
        const ms = Math.min(5000, 100 * 2 ** Math.min(attempt, 6))
        if (attempt % 10 === 0) log.warn(`database unavailable while ${what}, retrying in ${ms} ms: ${(err as Error).message}`)
        await new Promise(resolve => setTimeout(resolve, ms))
      }
    }
  }

  async function openStream (): Promise<void> {
    const opened = await openGroupStream({ kafka: o.kafka, groupId: o.groupId, topic: o.topic, maxBytes: 8 * 2 ** 20, onMessage, onFailure: err => { void reconnectKafka(err) } })
    consumer = opened.consumer
    stream = opened.stream
    if (paused) stream.pause()
  }

  let reconnecting = false
  /**
   * The consumer failed (broker down, connection lost): drop what is buffered and not yet scored
   * (it is read again from the committed offsets) and join again with capped backoff.
   */
  async function reconnectKafka (err: Error): Promise<void> {
    if (stopping || reconnecting) return
    reconnecting = true
    log.warn(`Kafka consumer failed (${firstLine(err)}); rejoining group ${o.groupId} with backoff`)
    const old = { stream, consumer }
    stream = undefined
    consumer = undefined
    old.stream?.removeListener('data', onMessage)
    await old.stream?.close().catch(() => undefined)
    if (old.consumer !== undefined) await closeConsumer(old.consumer)
    await chain.catch(() => undefined)
    buffered = []
    bufferedBytes = 0
    paused = false
    await rejoinWithBackoff(openStream, () => stopping, log)
    if (!stopping) log.info(`rejoined group ${o.groupId} after the Kafka consumer failed`)
    reconnecting = false
  }

  function fatal (err: Error): void {
    if (stopping) return
    log.error(`scoring stage stopping on an error it cannot retry: ${err.stack ?? err.message}`)
    void shutdown().finally(() => failWith(err))
  }

  async function shutdown (): Promise<void> {
    if (stopping) return
    stopping = true
    clearInterval(timer)
    stream?.pause()
    await chain.catch(() => undefined)
    await stream?.close().catch(() => undefined)
    if (consumer !== undefined) await closeConsumer(consumer)
    await webhook?.drain(5_000)
    webhook?.close()
    await Promise.all(pools.map(async p => await p.destroy()))
    await db.end().catch(() => undefined)
  }

  return {
    stats,
    model,
    done,
    async start () {
      for (const a of await openAlerts(sql, model)) tracker.restoreOpen(a.tagId, a.openedAtUs, a.peakScore)
      const workerData: ScoreWorkerData = { modelPath: o.modelPath, modelName: model, hop: o.hop }
      pools = Array.from({ length: o.threads }, () => new Piscina({ filename: SCORE_TASK_FILE, minThreads: 1, maxThreads: 1, workerData, idleTimeout: Infinity }))
      // Fail at start, not on the first points, when the model is missing or breaks the contract.
      await Promise.all(pools.map(async p => await p.run({ tagIds: new Int32Array(0), timeUs: new Float64Array(0), value: new Float64Array(0), quality: new Uint16Array(0), score: false } satisfies ScoreTask)))
      // A broker that is not up yet (or still loading its group coordinator) is waited for.
      await rejoinWithBackoff(openStream, () => stopping, log)
      timer = setInterval(() => { void schedule() }, o.everyMs)
      timer.unref()
    },
    async stop () {
      await shutdown()
      finish()
    },
    async flush () {
      await schedule()
    },
  }
}
