// The storage worker: a Kafka consumer group member that makes point batches durable.
//
//   Kafka ──▶ partition queues ──▶ lanes (one DB connection each) ──▶ Piscina: decode,
//   resolve tags, encode COPY rows ──▶ one transaction: COPY + durable offsets ──▶ Kafka commit
//
// Exactly-once effect: the store keeps, per partition, the next offset not yet stored, and
// moves it in the same transaction as the rows, fenced on the value this worker expects.
// Messages below it are skipped after a crash or rebalance; a zombie writer's flush fails
// the fence and rolls back. Kafka's own committed offsets only serve lag monitoring and
// a faster restart.
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Piscina } from 'piscina'
import type { Logger } from '../common/log.js'
import { copySeconds, pointsIngested } from '../common/metrics.js'
import type { BatchConsumer, BatchProducer, KafkaSettings } from '../common/kafka.js'
import type { Config } from '../schemas/config/schema.js'
import { closeConsumer, firstLine, openGroupStream, rejoinWithBackoff } from './consume/rejoin.js'
import { admit, commitLastPerPartition, newPartitionState, requeue, type BatchMessage, type PartitionState } from './consume/partitions.js'
import { deadLetter } from './dead-letter.js'
import { createRollupRefresher, type RollupRefresher } from '../aggregate/refresher.js'
import type { TagRule } from '../schemas/config/tags.js'
import { compactAll } from './store/compact.js'
import { isRetryable } from './store/errors.js'
import { migrate, type StoreFlavor } from './store/migrate.js'
import { loadOffsets, type OffsetAdvance } from './store/offsets.js'
import { PartitionManager } from './store/partitions.js'
import { applyPolicies, type PolicyOptions } from './store/policies.js'
import { sqlOfPg } from './store/sql.js'
import { syncTagRules } from './store/tag-rules.js'
import { writeFlush } from './store/writer.js'
import type { EncodeOutcome, EncodeResult, EncodeTask, EncodeWorkerData } from './tasks.js'

const TASK_FILE = fileURLToPath(new URL('./encode/task.js', import.meta.url))
const MAINTENANCE_MS = 3_600_000
const COMPACT_EVERY_MS = 60_000
/** At most this many flushes of one lane between cut and commit (one encoding while one writes). */
const LANE_DEPTH = 2

export interface StorageWorkerOptions {
  kafka: KafkaSettings
  topic: string
  deadLetterTopic: string
  databaseUrl: string
  groupId: string
  threads: number
  lanes: number
  flushBytes: number
  flushMs: number
  maxBufferedBytes: number
  flavor: 'auto' | StoreFlavor
  policies: PolicyOptions
  compactAfterMinutes: number
  /** Rollup refresh period, ms; 0: no rollups from this worker. */
  rollupRefreshMs: number
  rollupRangesPerPass: number
  tagRules: readonly TagRule[]
}

export interface StorageWorkerDeps {
  log: Logger
  /** Producer for the dead-letter topic. */
  producer: BatchProducer
}

export interface StorageStats {
  pointsStored: number
  rowsWritten: number
  flushes: number
  deadLettered: number
  skippedReplays: number
  fencedFlushes: number
  /** Times the Kafka consumer failed and joined the group again. */
  kafkaReconnects: number
  bufferedBytes: number
  paused: boolean
  dbRetries: number
  compactedTagHours: number
  /** Tag ranges folded into the rollups. */
  rolledUpRanges: number
}

export interface StorageWorker {
  readonly stats: Readonly<StorageStats>
  readonly flavor: StoreFlavor
  start (): Promise<void>
  /** Drain: stop intake, write what is buffered, commit, leave the group. */
  stop (): Promise<void>
  /** Fold everything stored so far into the rollups now (tests, shutdown); returns tag ranges done. */
  refreshRollups (): Promise<number>
  /** Messages in the points topic not yet durable in the store, over this worker's partitions. */
  lag (): Promise<bigint>
  /** Resolves or rejects when the worker stops on its own (a fatal error). */
  readonly done: Promise<void>
}

interface Lane {
  readonly index: number
  queuedBytes: number
  oldestQueuedAt: number
  inFlight: number
  chain: Promise<void>
  timer: NodeJS.Timeout | undefined
}

interface Flush {
  messages: BatchMessage[]
  advances: OffsetAdvance[]
  /** The partition states this flush holds messages of (captured: a state may be replaced). */
  states: PartitionState[]
  bytes: number
}

export function workerOptionsFromConfig (cfg: Readonly<Config>): StorageWorkerOptions {
  return {
    kafka: cfg.kafka,
    topic: cfg.kafka.topics.points,
    deadLetterTopic: cfg.kafka.topics.deadLetter,
    databaseUrl: cfg.database.url,
    groupId: cfg.workers.groupId,
    threads: cfg.workers.threads,
    lanes: cfg.workers.lanes,
    flushBytes: cfg.workers.flushMB * 2 ** 20,
    flushMs: cfg.workers.flushMs,
    maxBufferedBytes: cfg.workers.maxBufferedMB * 2 ** 20,
    flavor: cfg.store.flavor,
    policies: cfg.store,
    compactAfterMinutes: cfg.store.compactAfterMinutes,
    rollupRefreshMs: cfg.store.rollupRefreshMs,
    rollupRangesPerPass: cfg.store.rollupRangesPerPass,
    tagRules: cfg.tags.rules,
  }
}

export function createStorageWorker (o: StorageWorkerOptions, deps: StorageWorkerDeps): StorageWorker {
  const { log } = deps
  const stats: StorageStats = { pointsStored: 0, rowsWritten: 0, flushes: 0, deadLettered: 0, skippedReplays: 0, fencedFlushes: 0, kafkaReconnects: 0, bufferedBytes: 0, paused: false, dbRetries: 0, compactedTagHours: 0, rolledUpRanges: 0 }
  const states = new Map<number, PartitionState>()
  const lanes: Lane[] = Array.from({ length: o.lanes }, (_, index) => ({ index, queuedBytes: 0, oldestQueuedAt: 0, inFlight: 0, chain: Promise.resolve(), timer: undefined }))
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: o.lanes + 1, connectionTimeoutMillis: 10_000 })
  // An idle connection dropped by a server restart: the next checkout reconnects.
  db.on('error', err => log.debug(`idle database connection closed: ${err.message}`))
  const sql = sqlOfPg(db)
  const partitions = new PartitionManager(sql)
  let flavor: StoreFlavor = 'postgres'
  let pool: Piscina | undefined
  let consumer: BatchConsumer | undefined
  let stream: Awaited<ReturnType<BatchConsumer['consume']>> | undefined
  let stopping = false
  let maintenance: NodeJS.Timeout | undefined
  let compaction: NodeJS.Timeout | undefined
  let compacting = false
  const rollups: RollupRefresher | undefined = o.rollupRefreshMs > 0
    ? createRollupRefresher({ databaseUrl: o.databaseUrl, everyMs: o.rollupRefreshMs, rangesPerPass: o.rollupRangesPerPass }, { log, onRefreshed: n => { stats.rolledUpRanges += n } })
    : undefined
  let failWith: (err: Error) => void = () => undefined
  let finish: () => void = () => undefined
  const done = new Promise<void>((resolve, reject) => { finish = resolve; failWith = reject })
  done.catch(() => undefined) // observed by whoever awaits it; never an unhandled rejection

  const laneOf = (partition: number): Lane => lanes[partition % lanes.length]!

  function stateOf (partition: number): PartitionState {
    let s = states.get(partition)
    if (s === undefined) {
      s = newPartitionState(partition)
      states.set(partition, s)
      void loadDurable([partition])
    }
    return s
  }

  async function loadDurable (list: number[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const loaded = await loadOffsets(sql, o.groupId, o.topic, list)
        for (const p of list) {
          const s = states.get(p)
          if (s === undefined) continue
          const durable = loaded.get(p) ?? null
          s.durable = durable
          s.cutNext = durable
          kick(laneOf(p))
        }
        return
      } catch (err) {
        if (!isRetryable(err) || stopping) { fatal(err as Error); return }
        await backoff(attempt, `loading durable offsets: ${(err as Error).message}`)
      }
    }
  }

  function onMessage (m: BatchMessage): void {
    const s = stateOf(m.partition)
    // Queued in offset order; a message queued already (redelivered after a rebalance) is dropped: see admit().
    if (!admit(s, m)) { stats.skippedReplays++; return }
    const lane = laneOf(m.partition)
    if (lane.queuedBytes === 0) lane.oldestQueuedAt = Date.now()
    lane.queuedBytes += m.value.length
    stats.bufferedBytes += m.value.length
    if (!stats.paused && stats.bufferedBytes >= o.maxBufferedBytes) {
      stats.paused = true
      stream?.pause()
      log.debug(`intake paused: ${(stats.bufferedBytes / 2 ** 20).toFixed(0)} MB buffered`)
    }
    kick(lane)
  }

  function release (bytes: number): void {
    stats.bufferedBytes -= bytes
    if (stats.paused && !stopping && stats.bufferedBytes < o.maxBufferedBytes / 2) {
      stats.paused = false
      stream?.resume()
    }
  }

  /** Start a flush on the lane if it is due and there is room; otherwise arm its timer. */
  function kick (lane: Lane): void {
    if (lane.inFlight >= LANE_DEPTH || lane.queuedBytes === 0) return
    const age = Date.now() - lane.oldestQueuedAt
    if (!stopping && lane.queuedBytes < o.flushBytes && age < o.flushMs) {
      lane.timer ??= setTimeout(() => { lane.timer = undefined; kick(lane) }, o.flushMs - age)
      return
    }
    const flush = cut(lane)
    if (flush === undefined) return
    lane.inFlight++
    const encoded = encode(flush)
    lane.chain = lane.chain
      .then(async () => { await persist(flush, await encodedWhenPossible(flush, encoded)) })
      .catch(err => { fatal(err as Error) })
      .finally(() => {
        lane.inFlight--
        for (const st of flush.states) {
          st.inFlight--
          if (st.inFlight === 0) st.stale = false
        }
        release(flush.bytes)
        kick(lane)
      })
    kick(lane)
  }

  /** Take up to flushBytes of loaded partitions' messages, skipping what is already durable. */
  function cut (lane: Lane): Flush | undefined {
    const flush: Flush = { messages: [], advances: [], states: [], bytes: 0 }
    for (const s of states.values()) {
      if (laneOf(s.partition) !== lane || s.durable === undefined || s.stale || s.queue.length === 0) continue
      let taken = 0
      let skippedBytes = 0
      for (const m of s.queue) {
        if (flush.bytes >= o.flushBytes && !stopping) break
        taken++
        if (s.cutNext !== null && m.offset < s.cutNext) {
          stats.skippedReplays++
          skippedBytes += m.value.length
          continue
        }
        flush.messages.push(m)
        flush.bytes += m.value.length
      }
      const batch = s.queue.splice(0, taken)
      lane.queuedBytes -= skippedBytes
      release(skippedBytes)
      const last = batch.at(-1)
      if (last !== undefined && (s.cutNext === null || last.offset >= s.cutNext)) {
        flush.advances.push({ partition: s.partition, expected: s.cutNext, next: last.offset + 1n })
        flush.states.push(s)
        s.inFlight++
        s.cutNext = last.offset + 1n
      }
      if (flush.bytes >= o.flushBytes && !stopping) break
    }
    lane.queuedBytes -= flush.bytes
    if (lane.queuedBytes > 0) lane.oldestQueuedAt = Date.now()
    if (flush.advances.length === 0) return undefined
    return flush
  }

  /** The encode result, re-running the task while the database is unavailable. */
  async function encodedWhenPossible (flush: Flush, first: Promise<EncodeOutcome>): Promise<EncodeResult> {
    let outcome = await first
    for (let attempt = 0; outcome.kind === 'retry'; attempt++) {
      stats.dbRetries++
      await backoff(attempt, `registering tags: ${outcome.reason}`)
      outcome = await encode(flush)
    }
    return outcome
  }

  async function encode (flush: Flush): Promise<EncodeOutcome> {
    const bounds = new Uint32Array(flush.messages.length + 1)
    for (let i = 0; i < flush.messages.length; i++) bounds[i + 1] = bounds[i]! + flush.messages[i]!.value.length
    const values = new Uint8Array(bounds[flush.messages.length]!)
    for (let i = 0; i < flush.messages.length; i++) values.set(flush.messages[i]!.value, bounds[i])
    const task: EncodeTask = { values: values.buffer, bounds }
    return await pool!.run(task, { transferList: [values.buffer] }) as EncodeOutcome
  }

  async function persist (flush: Flush, result: EncodeResult): Promise<void> {
    // Cut before a fence failed on one of its partitions: its offset range may be stale.
    if (flush.states.some(st => st.stale)) { await refence(flush, []); return }
    if (result.rejected.length > 0) {
      const bad = result.rejected.map(r => ({ message: flush.messages[r.index]!, error: r.error }))
      await deadLetter(deps.producer, o.deadLetterTopic, bad)
      stats.deadLettered += bad.length
      for (const b of bad) log.warn(`dead-lettered ${o.topic}[${b.message.partition}]@${b.message.offset} (key ${b.message.key ?? '-'}): ${b.error}`)
    }
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | undefined
      try {
        if (flavor === 'postgres' && result.minBucketUs >= 0) await partitions.ensure(result.minBucketUs, result.maxBucketUs)
        client = await db.connect()
        const endTimer = copySeconds.startTimer()
        const fenced = await writeFlush(client, { groupId: o.groupId, topic: o.topic, rows: [result.rows], advances: flush.advances, written: result.written, onCommitted: id => { if (result.contributions !== undefined) rollups?.contributions.put(id, result.contributions) } })
        endTimer()
        client.release()
        client = undefined
        if (fenced.length > 0) { await refence(flush, fenced); return }
        break
      } catch (err) {
        client?.release(err as Error)
        if (!isRetryable(err) && (err as { code?: string }).code !== '23514') throw err
        stats.dbRetries++
        await backoff(attempt, `writing ${result.pointCount} points: ${(err as Error).message}`)
      }
    }
    stats.flushes++
    stats.pointsStored += result.pointCount
    pointsIngested.inc({ stage: 'store' }, result.pointCount)
    stats.rowsWritten += result.rowCount
    flush.advances.forEach((a, i) => {
      const s = flush.states[i]!
      if (s.durable === undefined || s.durable === null || a.next > s.durable) s.durable = a.next
    })
    commitKafka(flush)
  }

  /**
   * Another writer moved these partitions (or an earlier flush of the lane was fenced):
   * nothing of this flush was written. Requeue its messages and reload the durable offsets;
   * the partitions stay closed to new flushes until every flush cut before has come back.
   */
  async function refence (flush: Flush, fenced: number[]): Promise<void> {
    stats.fencedFlushes++
    if (fenced.length > 0) log.warn(`flush fenced on partitions ${fenced.join(',')}: another worker wrote them; reloading offsets`)
    for (const st of flush.states) st.stale = true
    const involved = flush.advances.map(a => a.partition)
    const loaded = await loadOffsets(sql, o.groupId, o.topic, involved)
    for (const st of flush.states) {
      const p = st.partition
      const s = states.get(p)
      if (s !== st) continue // revoked since; its new owner reads these messages again
      const durable = loaded.get(p) ?? null
      s.durable = durable
      s.cutNext = durable
      const mine = flush.messages.filter(m => m.partition === p)
      const bytes = mine.reduce((sum, m) => sum + m.value.length, 0) - requeue(s, mine)
      const lane = laneOf(p)
      lane.queuedBytes += bytes
      stats.bufferedBytes += bytes
    }
  }

  /** Tell Kafka too (lag monitoring, faster restarts); the store's offsets stay authoritative. */
  function commitKafka (flush: Flush): void {
    commitLastPerPartition(flush.messages, err => { log.debug(`kafka commit failed (the store's offsets stay authoritative): ${err.message}`) })
  }

  let lastBackoffLog = 0
  async function backoff (attempt: number, what: string): Promise<void> {
    const ms = Math.min(5000, 100 * 2 ** Math.min(attempt, 6))
    if (Date.now() - lastBackoffLog > 5000) {
      log.warn(`database unavailable, retrying in ${ms} ms (${what})`)
      lastBackoffLog = Date.now()
    }
    await new Promise(resolve => setTimeout(resolve, ms))
  }

  function fatal (err: Error): void {
    if (stopping) return
    log.error(`storage worker stopping on an error it cannot retry: ${err.stack ?? err.message}`)
    void shutdown().finally(() => failWith(err))
  }

  function onJoin (payload: { assignments?: Array<{ topic: string, partitions: number[] }> }): void {
    const mine = new Set(payload.assignments?.filter(a => a.topic === o.topic).flatMap(a => a.partitions) ?? [])
    log.info(`group ${o.groupId}: assigned partitions ${[...mine].sort((a, b) => a - b).join(',') || '(none)'}`)
    forgetPartitions(p => !mine.has(p))
  }

  /** Drops what is queued (not in flight) for these partitions: it is read again from the durable offset. */
  function forgetPartitions (which: (partition: number) => boolean): void {
    for (const [p, s] of states) {
      if (!which(p)) continue
      const bytes = s.queue.reduce((sum, m) => sum + m.value.length, 0)
      laneOf(p).queuedBytes -= bytes
      release(bytes)
      states.delete(p)
    }
  }

  async function openStream (): Promise<void> {
    const opened = await openGroupStream({ kafka: o.kafka, groupId: o.groupId, topic: o.topic, maxBytes: Math.max(o.flushBytes, 8 * 2 ** 20), onMessage, onJoin, onFailure: err => { void reconnectKafka(err) } })
    consumer = opened.consumer
    stream = opened.stream
    if (stats.paused) stream.pause()
  }

  let reconnecting = false
  /**
   * The consumer failed (broker down, connection lost, coordinator gone): leave the stored rows
   * and offsets as they are, drop what was queued, and join again with capped backoff until the
   * broker answers. Whatever was dropped is read again from the store's durable offsets.
   */
  async function reconnectKafka (err: Error): Promise<void> {
    if (stopping || reconnecting) return
    reconnecting = true
    stats.kafkaReconnects++
    log.warn(`Kafka consumer failed (${firstLine(err)}); rejoining group ${o.groupId} with backoff`)
    const old = { stream, consumer }
    stream = undefined
    consumer = undefined
    old.stream?.removeListener('data', onMessage)
    await old.stream?.close().catch(() => undefined)
    if (old.consumer !== undefined) await closeConsumer(old.consumer)
    forgetPartitions(() => true)
    await rejoinWithBackoff(openStream, () => stopping, log)
    if (!stopping) log.info(`rejoined group ${o.groupId} after the Kafka consumer failed`)
    reconnecting = false
  }

  async function runMaintenance (): Promise<void> {
    try {
      const dropped = await applyPolicies(sql, flavor, partitions, o.policies)
      if (dropped.length > 0) log.info(`retention dropped ${dropped.join(', ')}`)
    } catch (err) {
      log.warn(`maintenance failed, will retry: ${(err as Error).message}`)
    }
  }

  /** Merge closed tag-hours on a session of its own (the compaction lock is per session). */
  async function runCompaction (): Promise<void> {
    if (compacting || stopping) return
    compacting = true
    const client = new pg.Client({ connectionString: o.databaseUrl })
    client.on('error', () => undefined)
    try {
      await client.connect()
      const r = await compactAll(sqlOfPg(client), Date.now() * 1000 - o.compactAfterMinutes * 60_000_000, 20)
      stats.compactedTagHours += r.merged
      if (r.merged > 0) log.debug(`compacted ${r.merged} tag-hours (${r.replacedRows} segments)`)
    } catch (err) {
      log.warn(`compaction failed, will retry: ${(err as Error).message}`)
    } finally {
      await client.end().catch(() => undefined)
      compacting = false
    }
  }

  async function shutdown (): Promise<void> {
    if (stopping) return
    stopping = true
    clearInterval(maintenance)
    clearInterval(compaction)
    await rollups?.stop()
    stream?.pause()
    for (const lane of lanes) { clearTimeout(lane.timer); kick(lane) }
    // Write everything that was queued, lane by lane, until nothing is left.
    for (;;) {
      await Promise.all(lanes.map(l => l.chain))
      const left = lanes.filter(l => l.queuedBytes > 0 && [...states.values()].some(s => laneOf(s.partition) === l && s.queue.length > 0 && s.durable !== undefined))
      if (left.length === 0 && lanes.every(l => l.inFlight === 0)) break
      for (const lane of left) kick(lane)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    await stream?.close().catch(() => undefined)
    if (consumer !== undefined) await closeConsumer(consumer)
    await pool?.destroy()
    await db.end().catch(() => undefined)
  }

  return {
    stats,
    get flavor () { return flavor },
    async refreshRollups () { return await (rollups?.runOnce() ?? Promise.resolve(0)) },
    done,
    async start () {
      const client = await db.connect()
      try {
        const result = await migrate(sqlOfPg(client), { flavor: o.flavor === 'auto' ? undefined : o.flavor })
        flavor = result.flavor
        if (result.applied.length > 0) log.info(`migrations applied (${flavor}): ${result.applied.join(', ')}`)
        const rules = await syncTagRules(sqlOfPg(client), o.tagRules)
        if (rules.updated > 0) log.info(`tag rules changed ${rules.updated} tags (${rules.rebuilt} queued for rollup recomputation)`)
      } finally {
        client.release()
      }
      await runMaintenance()
      maintenance = setInterval(() => { void runMaintenance() }, MAINTENANCE_MS)
      maintenance.unref()
      compaction = setInterval(() => { void runCompaction() }, COMPACT_EVERY_MS)
      compaction.unref()
      rollups?.start()
      const workerData: EncodeWorkerData = { databaseUrl: o.databaseUrl, contributions: rollups !== undefined }
      pool = new Piscina({ filename: TASK_FILE, minThreads: o.threads, maxThreads: o.threads, workerData, idleTimeout: Infinity })
      // A broker that is not up yet (or still loading its group coordinator) is waited for.
      await rejoinWithBackoff(openStream, () => stopping, log)
    },
    async stop () {
      await shutdown()
      finish()
    },
    async lag () {
      if (consumer === undefined) return 0n
      const ends = (await consumer.listOffsets({ topics: [o.topic] })).get(o.topic) ?? []
      let total = 0n
      for (const s of states.values()) {
        const end = ends[s.partition]
        if (end === undefined) continue
        const durable = s.durable ?? 0n
        if (end > durable) total += end - durable
      }
      return total
    },
  }
}
