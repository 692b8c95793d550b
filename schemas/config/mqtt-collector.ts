// Config of the MQTT / Sparkplug B collector (section `collectors.mqtt`). Owned by ingest/mqtt.
// The broker address is `mqtt.url` (shared with the simulators); everything else is here.
// Checks JSON Schema cannot express (templates against their topic filter) are made once by
// ingest/mqtt/subscriptions.ts at start, with messages naming the option.
import { Type, type Static } from '@sinclair/typebox'

const Section = { additionalProperties: false, default: {} } as const

/** A dotted path into a JSON value: `value`, `data.points`, `readings.0.v`; '' is the value itself. */
const JsonPath = (description: string, dflt?: string) => Type.String({ pattern: '^[^\\s]*$', description, ...(dflt === undefined ? {} : { default: dflt }) })

export const TimestampUnitSchema = Type.Union([
  Type.Literal('ms'), Type.Literal('s'), Type.Literal('us'), Type.Literal('iso'),
], { description: 'ms, s, us (numbers since the Unix epoch) or iso (ISO 8601 string)', default: 'ms' })

export const JsonPayloadSchema = Type.Object({
  /** Path to an array of point objects; '' means the payload itself (an object is one point, an array many). Default ''. */
  points: JsonPath('path to the array of points', ''),
  /** Path of the value inside a point (number or boolean). Default `value`. */
  value: JsonPath('path of the value in a point', 'value'),
  /** Path of the source timestamp inside a point; '' means the time the collector received the message. Default `timestamp`. */
  timestamp: JsonPath('path of the timestamp in a point', 'timestamp'),
  /** Unit of the timestamp. Default `ms`. */
  timestampUnit: TimestampUnitSchema,
  /** Path of an OPC quality word inside a point; '' means good (0xC0). Default ''. */
  quality: JsonPath('path of the quality word in a point', ''),
  /** Path of a per-point name, available to the tag template as `{key}`. Default '' (none). */
  key: JsonPath('path of the per-point name', ''),
}, Section)

export const SubscriptionSchema = Type.Object({
  /** MQTT topic filter, with `+` and `#` wildcards. */
  topic: Type.String({ minLength: 1, description: 'MQTT topic filter' }),
  /**
   * Tag name template: `{N}` is topic level N (0-based), `{#}` the levels matched by `#`,
   * `{key}` the per-point name (payload.key). Example: `{1}/{2}/{key}`.
   */
  tag: Type.String({ minLength: 1, description: 'tag name template' }),
  /** Batch source (Kafka key) template, same placeholders except `{key}`. Default: the topic. */
  source: Type.String({ minLength: 1, default: '{topic}', description: 'batch source template' }),
  /** Subscription QoS; 1 means a message is acknowledged only once its batch is durable. Default 1. */
  qos: Type.Union([Type.Literal(0), Type.Literal(1)], { default: 1 }),
  payload: JsonPayloadSchema,
}, { additionalProperties: false })

export const TlsSchema = Type.Object({
  /** PEM file of the CA that signed the broker's certificate. Default: the system CAs. */
  ca: Type.Optional(Type.String({ minLength: 1 })),
  /** PEM client certificate file (mutual TLS). */
  cert: Type.Optional(Type.String({ minLength: 1 })),
  /** PEM client key file (mutual TLS). */
  key: Type.Optional(Type.String({ minLength: 1 })),
  /** Name checked against the broker certificate (SNI), when it differs from the host in mqtt.url. */
  servername: Type.Optional(Type.String({ minLength: 1 })),
  /** Refuse a broker certificate that does not verify. Default true. */
  rejectUnauthorized: Type.Boolean({ default: true }),
}, { additionalProperties: false })

export const SparkplugHostSchema = Type.Object({
  /** Run the Sparkplug B primary host application. Default false. */
  enabled: Type.Boolean({ default: false }),
  /** Sparkplug host id: the STATE topic is spBv1.0/STATE/<hostId>. Default `fieldstream`. */
  hostId: Type.String({ pattern: '^[^/+#]+$', default: 'fieldstream', description: 'one topic level (no /, + or #)' }),
  /** Group ids to subscribe to; empty means every group (spBv1.0/#). Default []. */
  groupIds: Type.Array(Type.String({ pattern: '^[^/+#]+$', description: 'one topic level (no /, + or #)' }), { default: [] }),
  /** How long an out-of-order message waits for the missing seq before the gap counts, ms. Default 2000. */
  reorderTimeoutMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 2000 }),
  /** Minimum time between two rebirth requests to one edge node, ms. Default 5000. */
  rebirthMinIntervalMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 5000 }),
  /** A rebirth request not answered by an NBIRTH within this time no longer counts as pending, ms. Default 30000. */
  rebirthTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
}, Section)

export const MqttCollectorSchema = Type.Object({
  /** Run the MQTT collector. Default false. */
  enabled: Type.Boolean({ default: false }),
  /** MQTT client id prefix; `-json` and `-sparkplug` are appended for the two sessions. Default `fieldstream-collector`. */
  clientId: Type.String({ minLength: 1, maxLength: 200, default: 'fieldstream-collector' }),
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  tls: Type.Optional(TlsSchema),
  /** MQTT keep-alive, s. Default 30. */
  keepaliveS: Type.Integer({ minimum: 0, maximum: 65535, default: 30 }),
  /** How long the broker keeps the JSON session (and its unacknowledged messages) while we are away, s. Default 3600. */
  sessionExpiryS: Type.Integer({ minimum: 0, maximum: 4_294_967_295, default: 3600 }),
  /** First reconnect delay, ms; doubles on each failure up to reconnectMaxMs. Default 500. */
  reconnectMinMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 500 }),
  /** Longest reconnect delay, ms. Default 30000. */
  reconnectMaxMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000 }),
  /**
   * Most QoS 1 messages received but not yet acknowledged (their batch not yet durable).
   * Sent to the broker as MQTT 5 Receive Maximum, so the broker never exceeds it. Default 1000.
   */
  maxInFlight: Type.Integer({ minimum: 1, maximum: 65535, default: 1000 }),
  /**
   * Most points held in memory between the MQTT sessions and the sink (collecting, sealed or
   * being written). QoS 0 messages (Sparkplug NDATA/DDATA/births, QoS 0 subscriptions) have no
   * flow control from the broker: while this many are held, the points of new QoS 0 messages
   * are dropped and counted (stats.batches.pointsShed). QoS 1 messages are never dropped; they
   * are bounded by maxInFlight. Default 200000 (about 40 MB).
   */
  maxBufferedPoints: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 200_000 }),
  /** Longest time a point waits in the collector before its batch is sealed, ms. Default 100. */
  flushIntervalMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 100 }),
  /** A source's batch is sealed at once when it holds this many points. Default 10000. */
  maxBatchPoints: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  /** A failed sink write is retried after this delay, doubling up to 30 s, ms. Default 200. */
  retryMinMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 200 }),
  /** At most one log line per problem kind (bad payload, unsupported type, ...) per interval, ms. Default 10000. */
  logIntervalMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
  /** Plain MQTT subscriptions with JSON payloads. Default []. */
  subscriptions: Type.Array(SubscriptionSchema, { default: [] }),
  sparkplug: SparkplugHostSchema,
}, Section)

export type MqttCollectorConfig = Static<typeof MqttCollectorSchema>
export type MqttSubscriptionConfig = Static<typeof SubscriptionSchema>
export type JsonPayloadConfig = Static<typeof JsonPayloadSchema>
export type SparkplugHostConfig = Static<typeof SparkplugHostSchema>
export type MqttTlsConfig = Static<typeof TlsSchema>
export type TimestampUnit = Static<typeof TimestampUnitSchema>
