// A hand-driven Sparkplug edge node for host tests: every message is built with Tahu's codec
// (`sparkplug-payload`, the interop reference) and sent exactly as the test says, seq included.
import type { MqttClient } from 'mqtt'
import sparkplug from 'sparkplug-payload'
import type { UMetric } from 'sparkplug-payload/lib/sparkplugbpayload.js'
import { deviceTopic, nodeTopic } from '../../../schemas/sparkplug/topic.js'
import { connectRaw } from '../mqtt/helpers.js'

export const tahu = sparkplug.get('spBv1.0')!

export class TestEdge {
  readonly client: MqttClient
  readonly group: string
  readonly node: string
  seq = 0
  /** NCMD payloads received (decoded with Tahu). */
  readonly commands: ReturnType<typeof tahu.decodePayload>[] = []

  private constructor (client: MqttClient, group: string, node: string) {
    this.client = client
    this.group = group
    this.node = node
    client.on('message', (_topic, payload) => this.commands.push(tahu.decodePayload(payload)))
  }

  static async connect (group: string, node: string): Promise<TestEdge> {
    const client = await connectRaw()
    const edge = new TestEdge(client, group, node)
    await client.subscribeAsync(nodeTopic(group, 'NCMD', node), { qos: 0 })
    return edge
  }

  get rebirthRequests (): number {
    return this.commands.filter(c => c.metrics?.some(m => m.name === 'Node Control/Rebirth' && m.value === true)).length
  }

  async nbirth (bdSeq: number, metrics: UMetric[], timestamp = Date.now()): Promise<void> {
    this.seq = 0
    await this.#send(nodeTopic(this.group, 'NBIRTH', this.node), { timestamp, seq: this.seq, metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }, { name: 'Node Control/Rebirth', type: 'Boolean', value: false }, ...metrics] })
  }

  async ndeath (bdSeq: number): Promise<void> {
    await this.#send(nodeTopic(this.group, 'NDEATH', this.node), { metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }] }, 1)
  }

  async ndata (metrics: UMetric[], opts: { seq?: number, timestamp?: number } = {}): Promise<void> {
    await this.#send(nodeTopic(this.group, 'NDATA', this.node), { timestamp: opts.timestamp ?? Date.now(), seq: opts.seq ?? this.#next(), metrics })
  }

  async dbirth (device: string, metrics: UMetric[]): Promise<void> {
    await this.#send(deviceTopic(this.group, 'DBIRTH', this.node, device), { timestamp: Date.now(), seq: this.#next(), metrics })
  }

  async ddata (device: string, metrics: UMetric[], opts: { seq?: number, timestamp?: number } = {}): Promise<void> {
    await this.#send(deviceTopic(this.group, 'DDATA', this.node, device), { timestamp: opts.timestamp ?? Date.now(), seq: opts.seq ?? this.#next(), metrics })
  }

  async ddeath (device: string, timestamp = Date.now()): Promise<void> {
    await this.#send(deviceTopic(this.group, 'DDEATH', this.node, device), { timestamp, seq: this.#next(), metrics: [] })
  }

  /** Take the next seq without sending (to make a gap). */
  skip (): number {
    return this.#next()
  }

  #next (): number {
    this.seq = (this.seq + 1) % 256
    return this.seq
  }

  async #send (topic: string, payload: Parameters<typeof tahu.encodePayload>[0], qos: 0 | 1 = 0): Promise<void> {
    await this.client.publishAsync(topic, Buffer.from(tahu.encodePayload(payload)), { qos })
  }

  async close (): Promise<void> {
    await this.client.endAsync()
  }
}
