// One MQTT 5 session to the broker: options from config (auth, TLS files, keep-alive),
// reconnect with exponential backoff, and the broker's in-flight window (Receive Maximum).
import { readFileSync } from 'node:fs'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Logger } from '../../common/log.js'
import type { MqttCollectorConfig } from '../../schemas/config/mqtt-collector.js'
import { MqttTlsUnreadable } from './errors.js'

export interface SessionOptions {
  url: string
  clientId: string
  /** Start a fresh session (Sparkplug hosts must) or resume the stored one (JSON intake, so un-acked messages are redelivered). */
  clean: boolean
  /** MQTT will; `refreshWill` may replace it before each reconnect. */
  will?: IClientOptions['will']
  /** Called before every (re)connect: lets the Sparkplug host stamp a fresh STATE death. */
  refreshWill?: () => IClientOptions['will']
}

export function clientOptions (cfg: MqttCollectorConfig, session: SessionOptions): IClientOptions {
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: session.clientId,
    clean: session.clean,
    keepalive: cfg.keepaliveS,
    reconnectPeriod: cfg.reconnectMinMs,
    connectTimeout: 10_000,
    // Subscriptions are made by the owner on every connect, in the order it needs
    // (the Sparkplug host must publish STATE before subscribing to spBv1.0/#).
    resubscribe: false,
    properties: {
      receiveMaximum: cfg.maxInFlight,
      ...(session.clean ? {} : { sessionExpiryInterval: cfg.sessionExpiryS }),
    },
  }
  if (session.will !== undefined) options.will = session.will
  if (cfg.username !== undefined) options.username = cfg.username
  if (cfg.password !== undefined) options.password = cfg.password
  if (cfg.tls !== undefined) {
    options.rejectUnauthorized = cfg.tls.rejectUnauthorized
    if (cfg.tls.ca !== undefined) options.ca = readPem(cfg.tls.ca, 'ca')
    if (cfg.tls.cert !== undefined) options.cert = readPem(cfg.tls.cert, 'cert')
    if (cfg.tls.key !== undefined) options.key = readPem(cfg.tls.key, 'key')
  }
  return options
}

function readPem (file: string, option: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new MqttTlsUnreadable(`collectors.mqtt.tls.${option}: cannot read ${file}: ${(err as Error).message}`)
  }
}

/** Create the client without connecting (handlers must be installed first). */
export function createSession (cfg: MqttCollectorConfig, session: SessionOptions, log: Logger): MqttClient {
  const client = mqtt.connect(session.url, { ...clientOptions(cfg, session), manualConnect: true })
  let delay = cfg.reconnectMinMs
  client.on('connect', () => {
    delay = cfg.reconnectMinMs
    client.options.reconnectPeriod = delay
  })
  // MQTT.js schedules the next attempt with reconnectPeriod as it stands when the connection
  // closes; widening it afterwards makes each later attempt wait twice as long, up to the cap.
  client.on('close', () => {
    delay = Math.min(delay * 2, cfg.reconnectMaxMs)
    client.options.reconnectPeriod = delay
    if (session.refreshWill !== undefined) client.options.will = session.refreshWill()
  })
  client.on('offline', () => log.warn(`${session.clientId}: broker ${session.url} unreachable, retrying (next in ${delay} ms)`))
  client.on('error', err => log.warn(`${session.clientId}: ${err.message}`))
  return client
}
