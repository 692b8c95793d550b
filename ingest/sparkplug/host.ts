// The Sparkplug B 3.0 Primary Host Application: its own MQTT session (clean start, as the
// spec requires of hosts) with the STATE death as its will; on every connect it subscribes to
// its own STATE topic and the groups, then publishes the STATE birth as its first publish. Messages go through handlers/index.ts; points go to the shared batcher.
import type { MqttClient } from 'mqtt'
import sparkplug from 'sparkplug-payload'
import type { Logger } from '../../common/log.js'
import type { MqttCollectorConfig } from '../../schemas/config/mqtt-collector.js'
import type { Point } from '../../schemas/points.js'
import { encodeState } from '../../schemas/sparkplug/state.js'
import { NAMESPACE, nodeTopic, parseTopic, REBIRTH_METRIC, stateTopic, type EdgeTopic } from '../../schemas/sparkplug/topic.js'
import { AckQueue, installDeferredAcks, type Ack } from '../mqtt/acks.js'
import type { Batcher } from '../mqtt/batcher.js'
import { createSession, firstConnect } from '../mqtt/client.js'
import type { RateLimitedLog } from '../mqtt/rate-log.js'
import { emptyStats, nodeKey, type HostContext, type NodeSession, type SparkplugStats } from './context.js'
import { SparkplugStateFailed } from './errors.js'
import { dispatch } from './handlers/index.js'
import { MetricTable } from './metrics.js'
import { RebirthGate } from './rebirth.js'
import { SeqTracker } from './seq.js'

const tahu = sparkplug.get(NAMESPACE)!

/** How long a STATE death read about ourselves waits before the birth is published again, ms. */
const REASSERT_DELAY_MS = 1000

export interface PrimaryHostDeps {
  url: string
  batcher: Batcher
  log: Logger
  warn: RateLimitedLog
  nowMs: () => number
}

export class PrimaryHost implements HostContext {
  readonly stats: SparkplugStats = emptyStats()
  readonly nodes = new Map<string, NodeSession>()
  readonly hostId: string
  readonly #cfg: MqttCollectorConfig
  readonly #deps: PrimaryHostDeps
  readonly #gate: RebirthGate
  /** Counts closed connections, so a delayed action can tell whether its connection is gone. */
  #connections = 0
  #client: MqttClient | undefined
  /** Timestamp of this connection's STATE death (will) and birth: they must match (spec 3.0). */
  #stateTimestamp = 0
  #stateLive = false
  #acks: AckQueue | undefined
  /** Sources the message being dispatched emitted points to: its ack waits for all of them. */
  #emitted = new Set<string>()
  /**
   * Whether the points being emitted may be shed under overload: true for QoS 0 messages
   * (births, NDATA/DDATA, also when released later by the reorder buffer), false while a
   * QoS 1 message (NDEATH will, STATE) is dispatched: its stale marks are never dropped.
   */
  #sheddable = true
  #stopping = false

  constructor (cfg: MqttCollectorConfig, deps: PrimaryHostDeps) {
    this.#cfg = cfg
    this.#deps = deps
    this.hostId = cfg.sparkplug.hostId
    this.#gate = new RebirthGate({ minIntervalMs: cfg.sparkplug.rebirthMinIntervalMs, timeoutMs: cfg.sparkplug.rebirthTimeoutMs }, deps.nowMs)
  }

  get stateLive (): boolean { return this.#stateLive }

  /** Resolves once the STATE birth is out; rejects with MqttConnectRefused on refused credentials or TLS. */
  async start (): Promise<void> {
    const clientId = `${this.#cfg.clientId}-${this.hostId}`
    const client = createSession(this.#cfg, {
      url: this.#deps.url,
      clientId,
      clean: true,
      will: this.#will(),
      refreshWill: () => this.#will(),
    }, this.#deps.log)
    this.#client = client
    this.#acks = new AckQueue(client, this.#cfg.maxInFlight)
    installDeferredAcks(client, this.#acks, (topic, payload, ack) => this.#onMessage(topic, payload, ack))
    client.on('close', () => { this.#stateLive = false; this.#connections++ })
    const online = new Promise<void>((resolve, reject) => {
      client.on('connect', () => { this.#online(client).then(resolve, reject) })
    })
    const connected = firstConnect(client, this.#deps.url, clientId)
    client.connect()
    await Promise.all([connected, online])
  }

  /** A STATE death with a fresh timestamp; the next birth reuses it. */
  #will (): { topic: string, payload: Buffer, qos: 1, retain: true } {
    this.#stateTimestamp = this.#deps.nowMs()
    return { topic: stateTopic(this.hostId), payload: encodeState({ online: false, timestamp: this.#stateTimestamp }), qos: 1, retain: true }
  }

  async #online (client: MqttClient): Promise<void> {
    const groups = this.#cfg.sparkplug.groupIds
    const filters = [stateTopic(this.hostId), ...(groups.length === 0 ? [`${NAMESPACE}/#`] : groups.map(g => `${NAMESPACE}/${g}/#`))]
    // Subscribe before the birth: edge nodes send NBIRTH as soon as they see us online, and
    // a birth published before our subscription is active would be lost.
    await client.subscribeAsync(Object.fromEntries(filters.map(f => [f, { qos: 1 as const }])))
    await this.#publishBirth(client)
    this.#deps.log.info(`sparkplug host ${this.hostId} online, subscribed to ${filters.join(', ')}`)
  }

  async #publishBirth (client: MqttClient): Promise<void> {
    try {
      await client.publishAsync(stateTopic(this.hostId), encodeState({ online: true, timestamp: this.#stateTimestamp }), { qos: 1, retain: true })
    } catch (err) {
      throw new SparkplugStateFailed(`cannot publish STATE birth of host ${this.hostId}: ${(err as Error).message}`, { cause: err })
    }
    this.#stateLive = true
  }

  #onMessage (topic: string, payload: Buffer, ack: Ack | undefined): void {
    if (this.#stopping) return
    this.stats.messages++
    this.#emitted.clear()
    const parsed = parseTopic(topic)
    if (parsed === undefined) {
      this.stats.topicInvalid++
      this.warn('topic', `not a Sparkplug B topic: ${topic}`)
    } else {
      this.#sheddable = ack === undefined
      try {
        dispatch(this, parsed, payload, this.#deps.nowMs())
      } finally {
        this.#sheddable = true
      }
    }
    if (ack === undefined) return
    // A QoS 1 message (an NDEATH will, a STATE) is acknowledged once the points it produced
    // are durable in every source they went to.
    let left = this.#emitted.size
    if (left === 0) return ack()
    const part = (): void => { if (--left === 0) ack() }
    for (const source of this.#emitted) this.#deps.batcher.add(source, [], part)
  }

  openNode (topic: EdgeTopic, bdSeq: number | undefined): NodeSession {
    const key = nodeKey(topic)
    const node: NodeSession = {
      key,
      groupId: topic.groupId,
      edgeNodeId: topic.edgeNodeId,
      bdSeq,
      metrics: new MetricTable(),
      devices: new Map(),
      seq: new SeqTracker(this.#cfg.sparkplug.reorderTimeoutMs, released => {
        this.stats.seqGaps++
        for (const item of released) item.handler(this, node, item.msg)
        this.requestRebirth(topic, 'seq gap not filled within the reorder timeout')
      }),
    }
    this.nodes.set(key, node)
    return node
  }

  emit (source: string, points: Point[]): void {
    if (points.length === 0) return
    // Shed points are counted by the batcher (stats.batches.pointsShed), not here.
    if (!this.#deps.batcher.add(source, points, undefined, this.#sheddable)) return
    this.stats.points += points.length
    this.#emitted.add(source)
  }

  requestRebirth (topic: EdgeTopic, reason: string): void {
    const key = nodeKey(topic)
    const client = this.#client
    // Until the STATE birth is out nothing else may be published (it must be our first
    // publish); edge nodes rebirth on seeing it anyway.
    if (client === undefined || !client.connected || !this.#stateLive || !this.#gate.admit(key)) {
      this.stats.rebirthSuppressed++
      return
    }
    this.stats.rebirthRequests++
    this.#deps.log.info(`rebirth request to ${key}: ${reason}`)
    const payload = tahu.encodePayload({ timestamp: this.#deps.nowMs(), metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: true }] })
    client.publish(nodeTopic(topic.groupId, 'NCMD', topic.edgeNodeId), Buffer.from(payload), { qos: 0 })
  }

  birthed (key: string): void {
    this.#gate.birthed(key)
  }

  reassertState (): void {
    const client = this.#client
    if (client === undefined || this.#stopping) return
    // Our own death is also delivered to us when the broker shuts down: answered then, the
    // birth would be retained across the broker's restart and tell edge nodes we are online
    // while we are still reconnecting, and what they forward would reach no one. So answer
    // only if this connection is still up a moment later (the broker keeps it: a real mistake).
    const connection = this.#connections
    setTimeout(() => {
      if (this.#stopping || connection !== this.#connections || !client.connected) return
      this.#deps.log.warn(`STATE of host ${this.hostId} read offline while online: publishing the birth again`)
      this.#publishBirth(client).catch(err => this.#deps.log.error((err as Error).message))
    }, REASSERT_DELAY_MS).unref()
  }

  warn (kind: string, message: string): void {
    this.#deps.warn.warn(kind, message)
  }

  /** Stop taking messages (the collector then seals what was taken). */
  pause (): void {
    this.#stopping = true
  }

  /**
   * Go offline cleanly: publish the STATE death ourselves (a clean DISCONNECT suppresses the
   * will), then disconnect. Reorder timers stop.
   */
  async stop (): Promise<void> {
    this.#stopping = true
    for (const node of this.nodes.values()) node.seq.close()
    const client = this.#client
    if (client === undefined) return
    if (client.connected) {
      await client.publishAsync(stateTopic(this.hostId), encodeState({ online: false, timestamp: this.#stateTimestamp }), { qos: 1, retain: true })
        .catch(err => this.#deps.log.warn(`STATE death not published: ${(err as Error).message}`))
    }
    this.#stateLive = false
    await client.endAsync()
  }
}
