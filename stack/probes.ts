// Readiness probes that speak each service's own protocol over a raw socket, so "ready" means the
// broker answers requests, not merely that a port is open (Kafka opens its port before it has
// joined its own metadata quorum).
import { connect, type Socket } from 'node:net'

/** Kafka wire protocol pieces used here (https://kafka.apache.org/protocol#protocol_messages). */
const KAFKA = {
  /** Metadata API key. */
  metadataKey: 3,
  /** Metadata v4: the oldest version Kafka 4.x still serves and the newest without flexible encoding. */
  metadataVersion: 4,
  clientId: 'fieldstream-stack',
} as const

/** MQTT 3.1.1 packet bytes (https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html). */
const MQTT = {
  connect: 0x10,
  connack: 0x20,
  disconnect: 0xe0,
  protocolLevel: 4,
  cleanSession: 0x02,
  keepAliveS: 10,
  clientId: 'fieldstream-stack-probe',
} as const

export interface KafkaMetadata { clusterId: string | null; controllerId: number; brokers: { nodeId: number; host: string; port: number }[] }

/**
 * Sends one Metadata request (no topics) and returns the brokers the cluster knows. A KRaft broker
 * lists itself only once it has registered with the controller, so `brokers.length > 0` is ready.
 */
export async function kafkaMetadata (host: string, port: number, timeoutMs = 3000): Promise<KafkaMetadata> {
  const clientId = Buffer.from(KAFKA.clientId)
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1)
  let o = body.writeInt16BE(KAFKA.metadataKey, 0)
  o = body.writeInt16BE(KAFKA.metadataVersion, o)
  o = body.writeInt32BE(1, o) // correlation id
  o = body.writeInt16BE(clientId.length, o)
  o += clientId.copy(body, o)
  o = body.writeInt32BE(0, o) // topics: empty array = none (-1 would mean all)
  body.writeInt8(0, o) // allow_auto_topic_creation = false
  const frame = Buffer.concat([int32(body.length), body])

  const res = await exchange(host, port, frame, timeoutMs, (buf) => buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0))
  const r = new Reader(res.subarray(4))
  r.int32() // correlation id
  r.int32() // throttle_time_ms
  const brokers: KafkaMetadata['brokers'] = []
  for (let n = r.int32(); n > 0; n--) {
    const nodeId = r.int32()
    const bhost = r.string() ?? ''
    const bport = r.int32()
    r.string() // rack
    brokers.push({ nodeId, host: bhost, port: bport })
  }
  const clusterId = r.string()
  return { clusterId, controllerId: r.int32(), brokers }
}

/** MQTT CONNECT then CONNACK; returns the CONNACK return code (0 = accepted). */
export async function mqttConnack (host: string, port: number, timeoutMs = 3000): Promise<number> {
  const id = Buffer.from(MQTT.clientId)
  const variable = Buffer.from([0, 4, ...Buffer.from('MQTT'), MQTT.protocolLevel, MQTT.cleanSession, 0, MQTT.keepAliveS])
  const payload = Buffer.concat([Buffer.from([id.length >> 8, id.length & 0xff]), id])
  const remaining = variable.length + payload.length // < 128, so a one-byte remaining length
  const frame = Buffer.concat([Buffer.from([MQTT.connect, remaining]), variable, payload])
  const res = await exchange(host, port, frame, timeoutMs, (buf) => buf.length >= 4, Buffer.from([MQTT.disconnect, 0]))
  if (res[0] !== MQTT.connack) throw new Error(`expected CONNACK, got packet type 0x${(res[0] ?? 0).toString(16)}`)
  return res[3] ?? -1
}

/** Writes `request`, collects bytes until `complete`, optionally writes `farewell`, closes. */
function exchange (host: string, port: number, request: Buffer, timeoutMs: number, complete: (buf: Buffer) => boolean, farewell?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port })
    let buf = Buffer.alloc(0)
    socket.setTimeout(timeoutMs, () => { socket.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)) })
    socket.once('error', reject)
    socket.once('close', () => { reject(new Error(`${host}:${port} closed the connection`)) })
    socket.once('connect', () => { socket.write(request) })
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!complete(buf)) return
      resolve(buf)
      if (farewell !== undefined) socket.end(farewell)
      else socket.end()
    })
  })
}

function int32 (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

/** Big-endian reader for the non-flexible Kafka encodings (int16-length strings, -1 = null). */
class Reader {
  #buf: Buffer
  #at = 0
  constructor (buf: Buffer) { this.#buf = buf }
  int32 (): number {
    const v = this.#buf.readInt32BE(this.#at)
    this.#at += 4
    return v
  }

  string (): string | null {
    const len = this.#buf.readInt16BE(this.#at)
    this.#at += 2
    if (len < 0) return null
    const s = this.#buf.toString('utf8', this.#at, this.#at + len)
    this.#at += len
    return s
  }
}
