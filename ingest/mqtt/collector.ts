// The MQTT collector: JSON subscriptions and/or the Sparkplug B primary host, each on its own
// MQTT session, feeding one per-source batcher that writes to the sink.
import type { Logger } from '../../common/log.js'
import { ConfigInvalid } from '../../schemas/errors.js'
import type { MqttCollectorConfig } from '../../schemas/config/mqtt-collector.js'
import type { BatchSink } from '../sink.js'
import { PrimaryHost } from '../sparkplug/host.js'
import type { SparkplugStats } from '../sparkplug/context.js'
import { Batcher, type BatcherStats } from './batcher.js'
import { clientOptions } from './client.js'
import { JsonIntake, type JsonIntakeStats } from './json-intake.js'
import { RateLimitedLog } from './rate-log.js'

export interface MqttCollectorDeps {
  sink: BatchSink
  log: Logger
  /** mqtt://host:port, mqtts://... (config `mqtt.url`). */
  mqttUrl: string
  /** Clock, ms since the epoch (tests pin it). Default Date.now. */
  now?: () => number
}

export interface MqttCollectorStats {
  batches: BatcherStats
  json: JsonIntakeStats | undefined
  /** QoS 1 JSON messages received and not yet acknowledged. */
  inFlight: number
  sparkplug: SparkplugStats | undefined
}

export interface MqttCollector {
  /** Connect and subscribe; resolves once every session is subscribed (and the Sparkplug STATE birth is out). */
  start (): Promise<void>
  /** Stop taking messages, make what was taken durable and acknowledged, disconnect. */
  stop (): Promise<void>
  readonly stats: MqttCollectorStats
}

export function createMqttCollector (cfg: MqttCollectorConfig, deps: MqttCollectorDeps): MqttCollector {
  if (cfg.tls !== undefined && !/^(mqtts|wss):\/\//.test(deps.mqttUrl)) {
    // The TLS files would be read and silently unused on a plaintext connection.
    throw new ConfigInvalid(`collectors.mqtt.tls is set but mqtt.url (${deps.mqttUrl}) is not a TLS address; use mqtts://host:port (or wss://)`)
  }
  // Reads the TLS files now: a missing one is FS_MQTT_TLS_UNREADABLE here, not at start().
  if (cfg.tls !== undefined) clientOptions(cfg, { url: deps.mqttUrl, clientId: cfg.clientId, clean: true })
  const now = deps.now ?? Date.now
  const warn = new RateLimitedLog(deps.log, cfg.logIntervalMs, now)
  const batcher = new Batcher(deps.sink, cfg, deps.log, warn, () => now() * 1000)
  // Both are built here, before anything connects, so a config mistake (a template naming a
  // level its filter lacks, an unreadable TLS file) is reported at once.
  const json = cfg.subscriptions.length === 0 ? undefined : new JsonIntake(cfg, { url: deps.mqttUrl, batcher, log: deps.log, warn, nowMs: now })
  const host = cfg.sparkplug.enabled ? new PrimaryHost(cfg, { url: deps.mqttUrl, batcher, log: deps.log, warn, nowMs: now }) : undefined
  return {
    get stats (): MqttCollectorStats {
      return { batches: batcher.stats, json: json?.stats, inFlight: json?.inFlight ?? 0, sparkplug: host?.stats }
    },
    async start () {
      batcher.start()
      try {
        await Promise.all([json?.start(), host?.start()])
      } catch (err) {
        await Promise.allSettled([json?.stop(), host?.stop()])
        await batcher.stop()
        throw err
      }
    },
    async stop () {
      json?.pause()
      host?.pause()
      // Seal and write what was taken while the sessions are still up, so its PUBACKs go out;
      // a batch the sink still refuses stays un-acked and the broker redelivers it next time.
      await batcher.stop()
      await Promise.all([json?.stop(), host?.stop()])
    },
  }
}
