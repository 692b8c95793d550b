// Simulated Sparkplug B edge nodes: one MQTT connection per node, devices with realistic
// metrics, NBIRTH/DBIRTH with aliases and bdSeq, NDATA/DDATA with seq, NDEATH as the will,
// rebirth on NCMD, and store-and-forward while the primary host's STATE is offline (stored
// values are published with is_historical on its return). Payloads use Tahu's codec.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import sparkplug from 'sparkplug-payload'
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js'
import { parseState } from '../../schemas/sparkplug/state.js'
import { BDSEQ_METRIC, deviceTopic, nodeTopic, REBIRTH_METRIC, stateTopic } from '../../schemas/sparkplug/topic.js'
import { applyFault, makeSignal, rng, type FaultLabel, type FaultSpec, type Signal, type SignalKind } from './signals.js'

const tahu = sparkplug.get('spBv1.0')!
const KINDS: readonly SignalKind[] = ['pressure', 'flow', 'tank_level', 'totalizer']

export interface SparkplugEdgeOptions {
  url: string
  groupId: string
  /** Edge nodes, one MQTT connection each. */
  nodes: number
  devicesPerNode: number
  /** Metrics per device; kinds cycle pressure, flow, tank_level, totalizer. */
  metricsPerDevice: number
  /** Publish period, ms. */
  intervalMs: number
  /** Sparkplug 3.0: wait for this host's STATE online before birth; store and forward while it is offline. */
  primaryHostId?: string
  /** Node ids are `<nodePrefix><n>`. Default `node`. */
  nodePrefix?: string
  seed?: number
  /** Faults to inject; `metric` is `<node>/<device>/<metric>`. */
  faults?: FaultSpec[]
  /** Most stored device updates per node while the host is offline (oldest dropped first). Default 10000. */
  storeLimit?: number
  /** Broker credentials and TLS (username, password, ca, ...) for every node's connection. */
  connectOptions?: Pick<IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>
  now?: () => number
}

export interface SparkplugEdgeStats {
  births: number
  dataMessages: number
  metricsPublished: number
  rebirthsHonored: number
  stored: number
  replayed: number
}

export interface SparkplugEdge {
  readonly nodeIds: readonly string[]
  /** Ground truth of the injected faults. */
  readonly labels: readonly FaultLabel[]
  readonly stats: SparkplugEdgeStats
  /** Publish one round now (besides the timer), e.g. from a test. */
  tick (): Promise<void>
  /**
   * Cut node `index`'s connection without a DISCONNECT (a network failure): the broker then
   * publishes its will, the NDEATH with the bdSeq of the session that died; the node reconnects,
   * stores meanwhile and births with the next bdSeq.
   */
  dropConnection (index: number): void
  stop (): Promise<void>
}

interface DeviceSim {
  id: string
  metrics: { name: string, alias: number, signal: Signal, last: number }[]
}

class EdgeNodeSim {
  readonly id: string
  readonly #opts: SparkplugEdgeOptions
  readonly #stats: SparkplugEdgeStats
  readonly #devices: DeviceSim[]
  readonly #faults: Map<string, Required<FaultSpec>>
  readonly #now: () => number
  readonly client: MqttClient
  #bdSeq = 0
  #seq = 0
  #born = false
  #lastSampleMs = 0
  #hostOnline: boolean
  #stored: { device: string, metrics: UMetric[] }[] = []
  /** Timestamp of the newest STATE seen: an older one (a stale retained message, a late will) is ignored (Sparkplug 3.0). */
  #stateTimestamp = -1

  constructor (id: string, opts: SparkplugEdgeOptions, stats: SparkplugEdgeStats, faults: Map<string, Required<FaultSpec>>, random: () => number) {
    this.id = id
    this.#opts = opts
    this.#stats = stats
    this.#faults = faults
    this.#now = opts.now ?? Date.now
    this.#hostOnline = opts.primaryHostId === undefined
    let alias = 100
    this.#devices = Array.from({ length: opts.devicesPerNode }, (_, d) => ({
      id: `dev${d}`,
      metrics: Array.from({ length: opts.metricsPerDevice }, (_, m) => {
        const kind = KINDS[m % KINDS.length]!
        return { name: `${kind}_${Math.floor(m / KINDS.length)}`, alias: alias++, signal: makeSignal(kind, random), last: 0 }
      }),
    }))
    this.client = mqtt.connect(opts.url, { ...opts.connectOptions, protocolVersion: 5, clientId: `sim-${opts.groupId}-${id}`, manualConnect: true, reconnectPeriod: 1000, will: this.#will() })
    this.client.on('close', () => {
      this.#born = false
      this.#bdSeq = (this.#bdSeq + 1) % 256
      this.client.options.will = this.#will()
    })
    this.client.on('connect', () => { this.#onConnect().catch(() => {}) })
    this.client.on('message', (topic, payload) => { this.#onMessage(topic, payload).catch(() => {}) })
    this.client.on('error', () => {})
  }

  async start (): Promise<void> {
    const connected = new Promise<void>(resolve => this.client.once('connect', () => resolve()))
    this.client.connect()
    await connected
  }

  #will (): { topic: string, payload: Buffer, qos: 1, retain: false } {
    return { topic: nodeTopic(this.#opts.groupId, 'NDEATH', this.id), payload: Buffer.from(tahu.encodePayload({ timestamp: this.#now(), metrics: [{ name: BDSEQ_METRIC, type: 'UInt64', value: this.#bdSeq }] })), qos: 1, retain: false }
  }

  async #onConnect (): Promise<void> {
    await this.client.subscribeAsync(nodeTopic(this.#opts.groupId, 'NCMD', this.id), { qos: 1 })
    if (this.#opts.primaryHostId !== undefined) await this.client.subscribeAsync(stateTopic(this.#opts.primaryHostId), { qos: 1 })
    // Values stored while the connection was down go out behind the new birth, as historical.
    if (this.#hostOnline) await this.#goLive()
  }

  async #goLive (): Promise<void> {
    await this.birth()
    await this.#replay()
  }

  async #onMessage (topic: string, payload: Buffer): Promise<void> {
    if (topic.endsWith(`/NCMD/${this.id}`)) {
      const cmd = tahu.decodePayload(payload)
      if (cmd.metrics?.some(m => m.name === REBIRTH_METRIC && m.value === true)) {
        this.#stats.rebirthsHonored++
        await this.birth()
      }
      return
    }
    const state = parseState(payload)
    if (state === undefined || state.timestamp < this.#stateTimestamp) return
    this.#stateTimestamp = state.timestamp
    const wasOnline = this.#hostOnline
    this.#hostOnline = state.online
    if (state.online && !wasOnline) await this.#goLive()
  }

  /** NBIRTH then every DBIRTH: a new seq run, all aliases and current values. */
  async birth (): Promise<void> {
    const t = this.#sampleTime()
    this.#seq = 0
    this.#born = true
    this.#stats.births++
    await this.#send(nodeTopic(this.#opts.groupId, 'NBIRTH', this.id), { timestamp: t, seq: 0, metrics: [{ name: BDSEQ_METRIC, type: 'UInt64', value: this.#bdSeq }, { name: REBIRTH_METRIC, alias: 1, type: 'Boolean', value: false }] })
    for (const d of this.#devices) {
      await this.#send(deviceTopic(this.#opts.groupId, 'DBIRTH', this.id, d.id), {
        timestamp: t,
        seq: this.#nextSeq(),
        metrics: d.metrics.map(m => ({ name: m.name, alias: m.alias, type: 'Double', value: m.last, timestamp: t })),
      })
    }
  }

  /** One round: every device's metrics in one DDATA (or into the store while the host is away). */
  async tick (): Promise<void> {
    const t = this.#sampleTime()
    for (const d of this.#devices) {
      const metrics: UMetric[] = []
      for (const m of d.metrics) {
        const fault = this.#faults.get(`${this.id}/${d.id}/${m.name}`)
        const before = m.last
        const v = applyFault(fault, t, m.signal.next(t), () => before)
        if (v === undefined) continue
        m.last = v
        metrics.push({ alias: m.alias, type: 'Double', value: v, timestamp: t })
      }
      if (metrics.length === 0) continue
      if (!this.#hostOnline || !this.#born || !this.client.connected) {
        this.#store(d.id, metrics)
        continue
      }
      await this.#send(deviceTopic(this.#opts.groupId, 'DDATA', this.id, d.id), { timestamp: t, seq: this.#nextSeq(), metrics })
      this.#stats.dataMessages++
      this.#stats.metricsPublished += metrics.length
    }
  }

  #store (device: string, metrics: UMetric[]): void {
    this.#stored.push({ device, metrics })
    this.#stats.stored += metrics.length
    if (this.#stored.length > (this.#opts.storeLimit ?? 10_000)) this.#stored.shift()
  }

  async #replay (): Promise<void> {
    const stored = this.#stored
    this.#stored = []
    for (const { device, metrics } of stored) {
      await this.#send(deviceTopic(this.#opts.groupId, 'DDATA', this.id, device), { timestamp: this.#now(), seq: this.#nextSeq(), metrics: metrics.map(m => ({ ...m, isHistorical: true })) })
      this.#stats.replayed += metrics.length
    }
  }

  /**
   * The time of a birth or a round: strictly after the previous one, as a device's clock makes
   * them. A birth sharing a millisecond with a round would give a tag two values at one instant.
   */
  #sampleTime (): number {
    this.#lastSampleMs = Math.max(this.#now(), this.#lastSampleMs + 1)
    return this.#lastSampleMs
  }

  #nextSeq (): number {
    this.#seq = (this.#seq + 1) % 256
    return this.#seq
  }

  async #send (topic: string, payload: UPayload): Promise<void> {
    await this.client.publishAsync(topic, Buffer.from(tahu.encodePayload(payload)), { qos: 0 })
  }

  /** A network failure: the socket is destroyed, no DISCONNECT is sent, so the broker publishes the will. */
  dropConnection (): void {
    this.client.stream.destroy()
  }

  /** A clean stop: NDEATH first (a DISCONNECT suppresses the will), then disconnect. */
  async stop (): Promise<void> {
    if (this.client.connected) await this.client.publishAsync(this.#will().topic, this.#will().payload, { qos: 1 })
    await this.client.endAsync()
  }
}

/** Start `opts.nodes` edge nodes; they publish every intervalMs until stop(). */
export async function startSparkplugEdge (opts: SparkplugEdgeOptions): Promise<SparkplugEdge> {
  const random = rng(opts.seed ?? 1)
  const prefix = opts.nodePrefix ?? 'node'
  const labels: FaultLabel[] = (opts.faults ?? []).map(f => ({ magnitude: 10, ...f, node: f.metric.split('/')[0]! }))
  const faults = new Map(labels.map(l => [l.metric, l]))
  const stats: SparkplugEdgeStats = { births: 0, dataMessages: 0, metricsPublished: 0, rebirthsHonored: 0, stored: 0, replayed: 0 }
  const nodes = Array.from({ length: opts.nodes }, (_, n) => new EdgeNodeSim(`${prefix}${n}`, opts, stats, faults, random))
  // Connect in small groups: hundreds of simultaneous CONNECTs would only queue at the broker.
  for (let i = 0; i < nodes.length; i += 50) await Promise.all(nodes.slice(i, i + 50).map(n => n.start()))
  let ticking = false
  const tick = async (): Promise<void> => {
    for (const n of nodes) await n.tick()
  }
  const timer = setInterval(() => {
    if (ticking) return // a slow round is not stacked on top of itself
    ticking = true
    tick().catch(() => {}).finally(() => { ticking = false })
  }, opts.intervalMs)
  return {
    nodeIds: nodes.map(n => n.id),
    labels,
    stats,
    tick,
    dropConnection (index: number) {
      const node = nodes[index]
      if (node === undefined) throw new RangeError(`dropConnection: no node ${index} (have ${nodes.length})`)
      node.dropConnection()
    },
    async stop () {
      clearInterval(timer)
      await Promise.all(nodes.map(n => n.stop()))
    },
  }
}
