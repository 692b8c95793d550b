// Deferred PUBACKs: a QoS 1 message is acknowledged only once the batch holding its points is
// durable, in the order the messages arrived (MQTT 5 section 4.6), without holding up the
// connection meanwhile.
//
// MQTT.js acknowledges from inside its packet loop: `handleMessage(packet, cb)` must call `cb`
// before the next packet is read, and `cb()` sends the PUBACK. Waiting there for the sink would
// stall every later packet (PINGRESP included) - the stall telegraf #13476 describes. So we
// answer `cb` at once with SKIP (MQTT.js then sends no PUBACK and moves on), and send the
// PUBACK later through the client's packet writer.
//
// The window: we advertise Receive Maximum = maxInFlight (client.ts), but Mosquitto 2.0.11 does
// not keep to it once PUBACKs flow (measured: receive maximum 10, acks 100 ms late -> 90 in
// flight). So the bound is also enforced here: when maxInFlight messages are un-acked, the
// packet loop waits (TCP pushes back to the broker) until an ack frees a slot. The owner seals
// its batches as soon as the window is full, so the wait lasts one sink write, not forever.
import type { IPublishPacket, MqttClient } from 'mqtt'

/** Signals MQTT.js to skip its automatic PUBACK for this packet. */
const SKIP = new Error('PUBACK deferred until the batch is durable')

interface PacketWriter { _sendPacket (packet: { cmd: 'puback', messageId: number, reasonCode: number }): void }

/** Marks one received message done (its points are durable, or it was skipped). Idempotent. */
export type Ack = () => void

export class AckQueue {
  readonly #client: MqttClient
  #entries: { messageId: number, done: boolean }[] = []
  #head = 0
  #generation = 0
  readonly #limit: number
  #waiter: (() => void) | undefined

  constructor (client: MqttClient, limit: number) {
    this.#client = client
    this.#limit = limit
  }

  /** Call `resume` once fewer than the limit are un-acked (at once if so already). */
  whenRoom (resume: () => void): void {
    if (this.size < this.#limit) resume()
    else this.#waiter = resume
  }

  /** Messages received and not yet acknowledged. */
  get size (): number { return this.#entries.length - this.#head }

  /** Track a QoS 1 message; PUBACK is sent when it and every earlier message are done. */
  track (messageId: number): Ack {
    const entry = { messageId, done: false }
    this.#entries.push(entry)
    const generation = this.#generation
    return () => {
      // A message from a connection that has since dropped is redelivered by the broker
      // under a new id: acknowledging the old id on the new connection would be wrong.
      if (entry.done || generation !== this.#generation) return
      entry.done = true
      this.#release()
    }
  }

  /** The connection dropped: un-acked messages will be redelivered, forget them. */
  reset (): void {
    this.#generation++
    this.#entries = []
    this.#head = 0
    this.#wake()
  }

  #wake (): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.()
  }

  #release (): void {
    const writer = this.#client as unknown as PacketWriter
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.done) {
      writer._sendPacket({ cmd: 'puback', messageId: this.#entries[this.#head]!.messageId, reasonCode: 0 })
      this.#head++
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
    if (this.size < this.#limit) this.#wake()
  }
}

/**
 * Route every incoming PUBLISH to `onMessage`; QoS 1 messages get an Ack from `queue`,
 * QoS 0 messages none. Replaces the client's 'message' event for this purpose.
 */
export function installDeferredAcks (client: MqttClient, queue: AckQueue, onMessage: (topic: string, payload: Buffer, ack: Ack | undefined) => void): void {
  client.on('close', () => queue.reset())
  client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
    const ack = packet.qos === 1 && packet.messageId !== undefined ? queue.track(packet.messageId) : undefined
    try {
      onMessage(packet.topic, packet.payload as Buffer, ack)
    } finally {
      if (ack === undefined) callback()
      else queue.whenRoom(() => callback(SKIP))
    }
  }
}
