// The plain-MQTT half of the collector: one persistent MQTT session subscribed to the
// configured topics; JSON payloads become points, QoS 1 messages are acknowledged once durable.
import type { MqttClient } from 'mqtt'
import type { Logger } from '../../common/log.js'
import type { MqttCollectorConfig } from '../../schemas/config/mqtt-collector.js'
import { AckQueue, installDeferredAcks } from './acks.js'
import type { Batcher } from './batcher.js'
import { createSession, firstConnect } from './client.js'
import { MqttPayloadInvalid, MqttSubscribeFailed } from './errors.js'
import type { RateLimitedLog } from './rate-log.js'
import { compileSubscriptions, routeMessage, type Route } from './subscriptions.js'

export interface JsonIntakeStats {
  messages: number
  /** Messages whose payload did not parse: counted, logged (rate-limited) and skipped. */
  payloadInvalid: number
  /** Messages on a topic no subscription matches (overlapping broker-side subscriptions). */
  unrouted: number
}

export interface JsonIntakeDeps {
  url: string
  batcher: Batcher
  log: Logger
  warn: RateLimitedLog
  nowMs: () => number
}

export class JsonIntake {
  readonly stats: JsonIntakeStats = { messages: 0, payloadInvalid: 0, unrouted: 0 }
  readonly #cfg: MqttCollectorConfig
  readonly #deps: JsonIntakeDeps
  readonly #routes: Route[]
  #client: MqttClient | undefined
  #acks: AckQueue | undefined
  #stopping = false

  constructor (cfg: MqttCollectorConfig, deps: JsonIntakeDeps) {
    this.#cfg = cfg
    this.#deps = deps
    this.#routes = compileSubscriptions(cfg.subscriptions)
  }

  /** Messages received and not yet acknowledged. */
  get inFlight (): number { return this.#acks?.size ?? 0 }

  /**
   * Resolves once connected and subscribed the first time; later reconnects resubscribe by
   * themselves. Rejects with MqttConnectRefused when the broker refuses our credentials or TLS.
   */
  async start (): Promise<void> {
    const clientId = `${this.#cfg.clientId}-json`
    const client = createSession(this.#cfg, { url: this.#deps.url, clientId, clean: false }, this.#deps.log)
    const acks = new AckQueue(client, this.#cfg.maxInFlight)
    this.#client = client
    this.#acks = acks
    installDeferredAcks(client, acks, (topic, payload, ack) => {
      if (this.#stopping) return // not acknowledged: the broker redelivers it to the next session
      this.#onMessage(topic, payload, ack)
    })
    const subscribed = new Promise<void>((resolve, reject) => {
      client.on('connect', connack => {
        // A resumed session still holds our subscriptions; subscribing again is harmless and
        // covers a config change between runs.
        this.#subscribe(client).then(resolve, err => {
          this.#deps.log.error((err as Error).message)
          reject(err)
        })
        if (connack.sessionPresent) this.#deps.log.debug('resumed MQTT session')
      })
    })
    const connected = firstConnect(client, this.#deps.url, clientId)
    client.connect()
    await Promise.all([connected, subscribed])
  }

  async #subscribe (client: MqttClient): Promise<void> {
    const granted = await client.subscribeAsync(Object.fromEntries(this.#cfg.subscriptions.map(s => [s.topic, { qos: s.qos }])))
    for (const g of granted) {
      if (g.qos > 2) throw new MqttSubscribeFailed(`broker refused subscription ${JSON.stringify(g.topic)} (reason code ${g.qos})`)
    }
  }

  #onMessage (topic: string, payload: Buffer, ack: (() => void) | undefined): void {
    this.stats.messages++
    const { batcher, warn } = this.#deps
    let routed
    try {
      routed = routeMessage(this.#routes, topic, payload, this.#deps.nowMs() * 1000)
    } catch (err) {
      if (!(err instanceof MqttPayloadInvalid)) throw err
      this.stats.payloadInvalid++
      warn.warn(`payload:${topic}`, `${err.code}: topic ${topic}: ${err.message}; message skipped`)
      ack?.()
      return
    }
    if (routed === undefined) {
      this.stats.unrouted++
      ack?.()
      return
    }
    // A QoS 0 message (no ack) is dropped, counted, when the batcher holds its maximum.
    batcher.add(routed.source, routed.points, ack, ack === undefined)
    // The broker stops sending once maxInFlight messages are un-acked: seal now rather than
    // let the window sit full until the next flush tick.
    if (ack !== undefined && this.inFlight >= this.#cfg.maxInFlight) batcher.flush()
  }

  /** Stop taking messages (later ones stay un-acked for redelivery). */
  pause (): void { this.#stopping = true }

  async stop (): Promise<void> {
    this.#stopping = true
    await this.#client?.endAsync()
  }
}
