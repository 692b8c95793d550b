// A plain-MQTT JSON publisher for tests, demos and benchmarks: batched readings per message
// in the shape `{ "points": [{ "name", "v", "t" }] }` (matching config/ sample subscriptions).
import mqtt, { type MqttClient } from 'mqtt'

export interface JsonReading { name: string, v: number | boolean, t: number }

export interface JsonPublisher {
  readonly client: MqttClient
  /** Publish one message of readings to `topic` (QoS 1 by default). */
  publish (topic: string, readings: readonly JsonReading[], qos?: 0 | 1): Promise<void>
  close (): Promise<void>
}

export function encodeJsonReadings (readings: readonly JsonReading[]): Buffer {
  return Buffer.from(JSON.stringify({ points: readings }))
}

export async function startJsonPublisher (url: string, clientId?: string): Promise<JsonPublisher> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, ...(clientId === undefined ? {} : { clientId }) })
  return {
    client,
    async publish (topic, readings, qos = 1) {
      await client.publishAsync(topic, encodeJsonReadings(readings), { qos })
    },
    async close () {
      await client.endAsync()
    },
  }
}
