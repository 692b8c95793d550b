// One MQTT 5 session to the broker: options from config (auth, TLS files, keep-alive),
// reconnect with exponential backoff, and the broker's in-flight window (Receive Maximum).
import { readFileSync } from 'node:fs'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Logger } from '../../common/log.js'
import type { MqttCollectorConfig } from '../../schemas/config/mqtt-collector.js'
import { MqttConnectRefused, MqttTlsUnreadable } from './errors.js'

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
    // After the first connect a refused CONNACK (credentials rotated on the broker, say) is
    // retried with the same backoff as a lost connection instead of ending the session for good.
    reconnectOnConnackError: true,
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
    if (cfg.tls.servername !== undefined) options.servername = cfg.tls.servername
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

/** MQTT 5 CONNACK reason codes that retrying with the same settings cannot fix. */
const REFUSED_FOR_GOOD: Readonly<Record<number, string>> = {
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid (collectors.mqtt.clientId)',
  0x86: 'bad user name or password (collectors.mqtt.username / password)',
  0x87: 'not authorized (collectors.mqtt.username / the broker\'s ACL)',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
}

/** Node/OpenSSL codes of a TLS handshake the same settings will fail again. */
const TLS_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
])

/**
 * Wait for the session's first CONNACK. A refusal no retry can fix (bad credentials, an
 * untrusted or mismatched broker certificate) rejects with MqttConnectRefused naming the option
 * to check, instead of retrying quietly forever; an unreachable broker is still waited for (the
 * collector may start before the broker). After the first connect every failure is retried.
 */
export function firstConnect (client: MqttClient, url: string, clientId: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onConnect = (): void => { done(); resolve() }
    const onError = (err: Error & { code?: string | number }): void => {
      const why = refusal(err)
      if (why === undefined) return
      done()
      // After MQTT.js has finished handling the refusal: it schedules a reconnect right after
      // emitting the error (reconnectOnConnackError), which end() then cancels.
      setImmediate(() => endForGood(client))
      reject(new MqttConnectRefused(`MQTT broker ${url} refused client ${clientId}: ${why}`, { cause: err }))
    }
    const done = (): void => { client.off('connect', onConnect); client.off('error', onError) }
    client.on('connect', onConnect)
    client.on('error', onError)
  })
}

/**
 * End a session so that it stays ended. With manualConnect, MQTT.js clears its `disconnecting`
 * flag once end() is done, and a later close then schedules a reconnect after all (measured:
 * a refused client kept reconnecting every few seconds and kept the process alive); a
 * reconnect period of 0 is what its reconnect logic checks.
 */
function endForGood (client: MqttClient): void {
  client.options.reconnectPeriod = 0
  client.end(true)
}

function refusal (err: Error & { code?: string | number }): string | undefined {
  if (typeof err.code === 'number') {
    const meaning = REFUSED_FOR_GOOD[err.code]
    return meaning === undefined ? undefined : `${meaning} (CONNACK reason 0x${err.code.toString(16)}: ${err.message})`
  }
  if (typeof err.code === 'string' && TLS_FAILURES.has(err.code)) {
    return `TLS handshake failed: ${err.message} (${err.code}); check collectors.mqtt.tls.ca / tls.servername and that mqtt.url points at the broker's TLS listener`
  }
  return undefined
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
    if (client.options.reconnectPeriod === 0) return // ended for good (endForGood)
    delay = Math.min(delay * 2, cfg.reconnectMaxMs)
    client.options.reconnectPeriod = delay
    if (session.refreshWill !== undefined) client.options.will = session.refreshWill()
  })
  client.on('offline', () => log.warn(`${session.clientId}: broker ${session.url} unreachable, retrying (next in ${delay} ms)`))
  client.on('error', err => log.warn(`${session.clientId}: ${err.message}`))
  return client
}
