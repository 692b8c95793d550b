// Config of the MQTT / Sparkplug B collector (section `collectors.mqtt`). Owned by ingest/mqtt.
import { Type, type Static } from '@sinclair/typebox'

export const MqttCollectorSchema = Type.Object({
  enabled: Type.Boolean({ default: false }),
}, { additionalProperties: false, default: {} })

export type MqttCollectorConfig = Static<typeof MqttCollectorSchema>
