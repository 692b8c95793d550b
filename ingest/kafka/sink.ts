// The collectors' BatchSink: point batches to the Kafka points topic, keyed by source, with a
// store-and-forward spool for when Kafka is away or slow.
//
// While the spool is empty a batch is sent straight to Kafka and write() resolves on the ack.
// A send that fails or outlasts sendTimeoutMs puts its batch in the spool instead, and from
// then on every batch goes to the spool behind it until the drain loop has sent the spool
// empty, in order: so a source's batches reach Kafka in the order they were written.
//
// Every batch is stamped with the next seq of its source (SeqAllocator: never reused, even
// across crashes), so (source, seq) names it for good. A send whose outcome is unknown (a
// timeout, a lost connection, a crash before the spool's cursor moved) is resolved before
// anything is sent again: the drain waits for sends still in flight, then reads Kafka back
// (findLanded) and skips the spooled batches found there.
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { ProducerOptions } from '@platformatic/kafka'
import { createAdmin, createBatchProducer, ensureTopics, kafkaSecurityOptions, type BatchProducer } from '../../common/kafka.js'
import type { Logger } from '../../common/log.js'
import type { Config } from '../../schemas/config/schema.js'
import type { PointBatch } from '../../schemas/points.js'
import { encodeBatch } from '../../schemas/wire/codec.js'
import type { BatchSink } from '../sink.js'
import { resolveSpoolOptions, SeqAllocator, Spool, SpoolFull, type SpoolEntry, type SpoolStats } from '../spool/index.js'
import { findLanded } from './landed.js'

export interface KafkaSinkConfig {
  kafka: Config['kafka']
  spool: Config['collectors']['spool']
}

export interface KafkaSinkDeps {
  log: Logger
  /** Extra producer options, e.g. `tls` and `sasl` (see @platformatic/kafka ConnectionOptions). */
  producer?: Partial<ProducerOptions<string, Buffer, string, string>>
}

export interface KafkaSinkStats {
  /** `direct` while batches go straight to Kafka, `spooling` while they queue in the spool. */
  state: 'direct' | 'spooling'
  /** Batches acknowledged by Kafka on the direct path. */
  sentDirect: number
  /** Batches sent from the spool. */
  sentFromSpool: number
  /** Batches written to the spool. */
  spooled: number
  /** Spooled batches not sent because Kafka already had them (a send with an unknown outcome had landed). */
  alreadyInKafka: number
  /** Failed or timed-out Kafka sends. */
  sendFailures: number
  /** Batches refused because the spool was full (FS_SPOOL_FULL). */
  spoolFull: number
  spool: SpoolStats
}

/** Longest wait for a new producer's id (InitProducerId), ms. */
const PRODUCER_INIT_TIMEOUT_MS = 30_000

/**
 * Attempts per producer request (@platformatic/kafka `retries`, 1 s apart). The client's default
 * for an idempotent producer is Number.MAX_SAFE_INTEGER: a send to a broker that is down, or
 * refuses our credentials, then never settles, and once its producer is force-closed while an
 * attempt is in flight it keeps retrying on the closed client forever, its promise never
 * settled (measured with 1.35.0). That stalled the send pump and, through it, the drain and
 * close() after a broker restart: the hang of the once-quarantined Kafka-outage test. A finite
 * count makes every send settle with its real error (e.g. SASL authentication failed); the
 * sink itself retries by spooling and draining with backoff, on a fresh producer.
 */
const SEND_RETRIES = 3

/** Longest wait for a force-closed producer to finish closing, ms (its pending sends are abandoned anyway). */
const CLOSE_TIMEOUT_MS = 5000

type Outcome = { ok: true } | { ok: false, why: string }

export class KafkaSink implements BatchSink {
  readonly #topic: string
  readonly #cfg: KafkaSinkConfig
  readonly #log: Logger
  readonly #spool: Spool
  readonly #seqs: SeqAllocator
  #producer: BatchProducer
  /** Aborted when #producer is force-closed: the sends still waiting on it are abandoned (outcome unknown). */
  #producerGone = new AbortController()
  readonly #producerOptions: KafkaSinkDeps['producer']
  /** Per source: the tail of its writes, so each source's batches are handled one at a time, in order. */
  readonly #tails = new Map<string, Promise<void>>()
  /** Sends not settled yet, direct or from the spool (a timed-out one may still land). */
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #sendQueue: Array<{ entries: readonly SpoolEntry[], resolve: () => void, reject: (err: Error) => void }> = []
  #pumping = false
  /** Per source: the highest seq known to be in Kafka among batches that are also spooled. */
  readonly #landed = new Map<string, number>()
  readonly #stats: Omit<KafkaSinkStats, 'spool' | 'spoolFull' | 'state'>
  #spooling: boolean
  /** Batches decided for the spool and not appended yet: the spool is not drained while any exist. */
  #appending = 0
  #needCheck: boolean
  #closing = false
  #stopDrain = new AbortController()
  #wake: (() => void) | undefined
  #drain: Promise<void>

  private constructor (cfg: KafkaSinkConfig, deps: KafkaSinkDeps, spool: Spool, seqs: SeqAllocator) {
    this.#cfg = cfg
    this.#topic = cfg.kafka.topics.points
    this.#log = deps.log
    this.#spool = spool
    this.#seqs = seqs
    this.#producerOptions = deps.producer
    this.#producer = createBatchProducer(cfg.kafka, { retries: SEND_RETRIES, ...deps.producer })
    this.#stats = { sentDirect: 0, sentFromSpool: 0, spooled: 0, alreadyInKafka: 0, sendFailures: 0 }
    this.#spooling = !spool.empty
    // A recorded send start means some spooled batch may already be in Kafka (a crash after
    // the ack, before the cursor moved): look before sending anything again.
    this.#needCheck = spool.sendingSinceMs !== null
    if (!spool.empty) this.#log.info(`spool ${cfg.spool.dir}: ${spool.stats.pendingBatches} unsent batches from an earlier run; sending them first`)
    this.#drain = this.#drainLoop()
  }

  /** Opens (and recovers) the spool; throws ConfigInvalid, SpoolLocked. Connects lazily. */
  static async open (cfg: KafkaSinkConfig, deps: KafkaSinkDeps): Promise<KafkaSink> {
    // kafka.tls files are checked before the spool is locked: a bad path is a config error at start.
    kafkaSecurityOptions(cfg.kafka)
    const options = resolveSpoolOptions(cfg.spool)
    const spool = await Spool.open(options, deps.log)
    return new KafkaSink(cfg, deps, spool, await SeqAllocator.open(options.dir))
  }

  get stats (): KafkaSinkStats {
    return { ...this.#stats, state: this.#spooling ? 'spooling' : 'direct', spoolFull: this.#spool.stats.rejectedFull, spool: { ...this.#spool.stats } }
  }

  write (batch: PointBatch): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('the Kafka sink is closed'))
    const previous = this.#tails.get(batch.source) ?? Promise.resolve()
    const mine = previous.then(async () => await this.#writeOne(batch))
    const tail = mine.catch(() => undefined)
    this.#tails.set(batch.source, tail)
    void tail.then(() => { if (this.#tails.get(batch.source) === tail) this.#tails.delete(batch.source) })
    return mine
  }

  /** Waits for writes in progress, sends what the spool holds while Kafka answers (up to ~2 x sendTimeoutMs), then closes. Unsent batches stay spooled for the next start. */
  async close (): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    await Promise.all(this.#tails.values())
    this.#wake?.()
    await Promise.race([this.#drain, sleep(2 * this.#cfg.spool.sendTimeoutMs, undefined, { ref: false })])
    this.#stopDrain.abort()
    await Promise.race([Promise.allSettled(this.#inflight), sleep(this.#cfg.spool.sendTimeoutMs, undefined, { ref: false })])
    // Fails whatever is still pending (a send to an unreachable broker never settles by itself),
    // which also ends a drain step that waits on it.
    await this.#closeProducer()
    await this.#drain
    if (!this.#spool.empty) this.#log.info(`spool ${this.#cfg.spool.dir}: ${this.#spool.stats.pendingBatches} batches stay spooled; they are sent at the next start`)
    await this.#spool.close()
  }

  async #writeOne (batch: PointBatch): Promise<void> {
    const seq = await this.#seqs.take(batch.source)
    const entry: SpoolEntry = { source: batch.source, seq, value: encodeBatch({ ...batch, seq }) }
    let startedAt: number | undefined
    if (!this.#spooling) {
      startedAt = Date.now()
      const send = this.#send([entry])
      const outcome = await this.#withTimeout(send)
      if (outcome.ok) {
        this.#stats.sentDirect++
        return
      }
      this.#onSendFailed(outcome.why)
      // The send may still land; if it does, the drain must not send this batch again.
      send.then(() => this.#markLanded(entry.source, entry.seq), () => undefined)
    }
    this.#appending++
    try {
      if (startedAt !== undefined) await this.#spool.noteSendStarted(startedAt)
      await this.#spool.append(entry)
    } catch (err) {
      if (err instanceof SpoolFull) this.#log.error(err.message)
      throw err
    } finally {
      this.#appending--
    }
    this.#stats.spooled++
    this.#wake?.()
  }

  async #drainLoop (): Promise<void> {
    let delay = this.#cfg.spool.retryMinMs
    const signal = this.#stopDrain.signal
    while (!signal.aborted) {
      if (this.#spool.empty && this.#appending === 0) {
        if (this.#spooling) this.#log.info(`spool ${this.#cfg.spool.dir}: drained (${this.#stats.sentFromSpool} batches sent from it so far); sending directly again`)
        this.#spooling = false
        if (this.#closing) return
        await new Promise<void>(resolve => {
          const onAbort = (): void => resolve()
          signal.addEventListener('abort', onAbort, { once: true })
          this.#wake = () => { signal.removeEventListener('abort', onAbort); resolve() }
        })
        this.#wake = undefined
        continue
      }
      try {
        await this.#sendSpoolChunk()
        if (delay > this.#cfg.spool.retryMinMs) this.#log.info(`Kafka takes batches again; sending the ${this.#spool.stats.pendingBatches} spooled batches`)
        delay = this.#cfg.spool.retryMinMs
      } catch (err) {
        this.#onSendFailed((err as Error).message)
        this.#log.debug(`spool drain failed: ${describe(err)}`)
        if (delay === this.#cfg.spool.retryMinMs) this.#log.warn(`Kafka unavailable (${(err as Error).message}); ${this.#spool.stats.pendingBatches} batches wait in the spool, retrying with backoff up to ${this.#cfg.spool.retryMaxMs} ms`)
        await sleep(delay, undefined, { signal }).catch(() => undefined)
        delay = Math.min(delay * 2, this.#cfg.spool.retryMaxMs)
      }
    }
  }

  /** One step of the drain: resolve unknown outcomes if needed, then send a chunk and commit it. */
  async #sendSpoolChunk (): Promise<void> {
    if (this.#needCheck) {
      // A send still in flight could land after we looked: let them settle (or fail them by
      // closing their producer: against an unreachable broker they never settle by themselves).
      await Promise.race([Promise.allSettled(this.#inflight), sleep(this.#cfg.spool.sendTimeoutMs)])
      await this.#renewProducer()
      await Promise.allSettled(this.#inflight)
      await this.#checkLanded()
      this.#needCheck = false
    }
    const records = await this.#spool.read(this.#cfg.spool.drainBatches)
    if (records.length === 0) {
      // The drain has caught up with the writers: what is unsent is still in the spool's write
      // queue. Wait for it to reach the file, and yield to the event loop in any case: without a
      // real wait, read -> [] -> commit -> read spins on resolved promises and starves the very
      // I/O that would end it (a collector frozen for good, seen as the Kafka-outage test's hang).
      await this.#spool.written()
      await nextTurn()
      return
    }
    const toSend = records.filter(r => r.seq > (this.#landed.get(r.source) ?? 0))
    this.#stats.alreadyInKafka += records.length - toSend.length
    if (toSend.length > 0) {
      await this.#spool.noteSendStarted(Date.now())
      const outcome = await this.#withTimeout(this.#send(toSend))
      if (!outcome.ok) throw new Error(outcome.why)
      this.#stats.sentFromSpool += toSend.length
    }
    // Everything unsent after this commit is sent later than now.
    await this.#spool.commit(records, Date.now())
    if (this.#spool.empty) this.#landed.clear()
  }

  async #checkLanded (): Promise<void> {
    const since = this.#spool.sendingSinceMs
    if (since === null) return
    const admin = createAdmin(this.#cfg.kafka)
    try {
      // The topic may not exist yet (a first start while Kafka was away).
      await ensureTopics(admin, [{ name: this.#topic, partitions: this.#cfg.kafka.partitions, replicationFactor: this.#cfg.kafka.replicationFactor }])
    } finally {
      await admin.close()
    }
    const sources = new Set((await this.#spool.read(this.#cfg.spool.drainBatches * 4)).map(r => r.source))
    const started = performance.now()
    const found = await findLanded(this.#cfg.kafka, this.#topic, since, sources)
    for (const [source, seq] of found) this.#markLanded(source, seq)
    this.#log.info(`spool ${this.#cfg.spool.dir}: checked Kafka for batches sent before a failure or crash since ${new Date(since).toISOString()} in ${Math.round(performance.now() - started)} ms: ${found.size === 0 ? 'none there' : `found up to ${[...found].map(([s, q]) => `${s}#${q}`).join(', ')}`}`)
  }

  /**
   * A new idempotent producer (new producer id) after a failed send: the old one may have
   * counted sequence numbers for requests the broker never got, and the broker then refuses
   * every later request on those partitions (out of order sequence) for good.
   */
  async #renewProducer (): Promise<void> {
    await this.#closeProducer()
    this.#producer = createBatchProducer(this.#cfg.kafka, { retries: SEND_RETRIES, ...this.#producerOptions })
    this.#producerGone = new AbortController()
    // Get the new producer id now, without the send timeout: on a broker that just came back
    // this alone can take longer than sendTimeoutMs, and a timed-out first send would renew
    // the producer again, and again.
    // close() does not wait for it either.
    const init = this.#producer.initIdempotentProducer({})
    const stopped = this.#stopDrain.signal
    const outcome = await Promise.race([
      init.then(() => 'ok', (err: unknown) => describe(err)),
      sleep(PRODUCER_INIT_TIMEOUT_MS, `no answer within ${PRODUCER_INIT_TIMEOUT_MS} ms`, { ref: false, signal: stopped }).catch(() => 'the sink is closing'),
    ])
    if (outcome !== 'ok') throw new Error(`the Kafka producer could not register with the broker: ${outcome}`)
  }

  /** Force-close the current producer; sends waiting on it are abandoned at once. */
  async #closeProducer (): Promise<void> {
    this.#producerGone.abort()
    await forceClose(this.#producer)
  }

  #markLanded (source: string, seq: number): void {
    if (seq > (this.#landed.get(source) ?? 0)) this.#landed.set(source, seq)
  }

  /**
   * Queue a send. One produce request is in flight at a time, carrying everything queued
   * meanwhile: concurrent sends on one idempotent producer raced on its sequence numbers
   * (the broker answered "out of order sequence number" and refused the partition for good).
   */
  #send (entries: readonly SpoolEntry[]): Promise<void> {
    const p = new Promise<void>((resolve, reject) => { this.#sendQueue.push({ entries, resolve, reject }) })
    this.#inflight.add(p)
    void p.then(() => this.#inflight.delete(p), () => this.#inflight.delete(p))
    void this.#pumpSends()
    return p
  }

  async #pumpSends (): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#sendQueue.length > 0) {
        const group = this.#sendQueue.splice(0)
        const timestamp = BigInt(Date.now())
        const messages = group.flatMap(g => g.entries.map(e => ({ topic: this.#topic, key: e.source, value: e.value, timestamp })))
        try {
          // The producer may be force-closed (renewed, or the sink closing) while this is in
          // flight: stop waiting then, whether or not the client ever settles the send.
          await untilAbandoned(this.#producer.send({ messages }), this.#producerGone.signal)
          for (const g of group) g.resolve()
        } catch (err) {
          for (const g of group) g.reject(err as Error)
        }
      }
    } finally {
      this.#pumping = false
    }
  }

  async #withTimeout (send: Promise<unknown>): Promise<Outcome> {
    const timeout = new AbortController()
    try {
      return await Promise.race([
        send.then((): Outcome => ({ ok: true }), (err: unknown): Outcome => ({ ok: false, why: describe(err) })),
        sleep(this.#cfg.spool.sendTimeoutMs, undefined, { signal: timeout.signal }).then(
          (): Outcome => ({ ok: false, why: `no acknowledgement within ${this.#cfg.spool.sendTimeoutMs} ms (collectors.spool.sendTimeoutMs)` }),
          (): Outcome => ({ ok: true }), // aborted: the send won the race, this value is never used
        ),
      ])
    } finally {
      timeout.abort()
    }
  }

  #onSendFailed (why: string): void {
    this.#stats.sendFailures++
    this.#needCheck = true
    if (!this.#spooling) this.#log.warn(`Kafka send failed (${why}); batches go to the spool ${this.#cfg.spool.dir} until Kafka takes them again`)
    this.#spooling = true
    this.#wake?.()
  }
}

/** `send`, or a rejection as soon as `gone` is aborted (its outcome is then unknown). */
async function untilAbandoned<T> (send: Promise<T>, gone: AbortSignal): Promise<T> {
  if (gone.aborted) throw abandoned()
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([send, new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(abandoned())
      gone.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) gone.removeEventListener('abort', onAbort)
  }
}

const abandoned = (): Error => new Error('the producer was closed with this send in flight (outcome unknown)')

/** Close now, abandoning the producer's pending sends; close errors do not matter here. */
async function forceClose (producer: BatchProducer): Promise<void> {
  await Promise.race([
    new Promise<void>(resolve => { producer.close(true, () => resolve()) }),
    sleep(CLOSE_TIMEOUT_MS, undefined, { ref: false }),
  ])
}

/** The client wraps causes (AggregateError, `cause`): name the innermost ones in logs. */
function describe (err: unknown): string {
  const e = err as Error & { errors?: unknown[], cause?: unknown }
  const inner = e.errors?.length ? e.errors : e.cause !== undefined ? [e.cause] : []
  return inner.length === 0 ? e.message : `${e.message} (${inner.map(describe).join('; ')})`
}
