// The fieldstream config file schema (JSON Schema, written with TypeBox so the
// TypeScript type and the validator come from one definition). Defaults sit beside
// each option; loadConfig fills them in and freezes the result.
import { Type, type Static } from '@sinclair/typebox'
import { KafkaSaslSchema, KafkaTlsSchema } from './kafka-security.js'
import { ModbusCollectorSchema } from './modbus.js'
import { MqttCollectorSchema } from './mqtt-collector.js'
import { SpoolSchema } from './spool.js'
import { ScoringSchema } from './scoring.js'
import { TagsSchema } from './tags.js'

const HostPort = Type.String({ pattern: '^[^\\s:/]+:[0-9]{1,5}$', description: 'host:port' })
const Section = { additionalProperties: false, default: {} } as const

export const KafkaTopicsSchema = Type.Object({
  /** Point batches from the collectors. */
  points: Type.String({ minLength: 1, default: 'fieldstream.points' }),
  /** Batches a worker could not decode, with the error in a header. */
  deadLetter: Type.String({ minLength: 1, default: 'fieldstream.points.dlq' }),
  /** Alert events raised by anomaly scoring. */
  alerts: Type.String({ minLength: 1, default: 'fieldstream.alerts' }),
}, Section)

export const KafkaSchema = Type.Object({
  brokers: Type.Array(HostPort, { minItems: 1, default: ['127.0.0.1:9092'] }),
  clientId: Type.String({ minLength: 1, default: 'fieldstream' }),
  topics: KafkaTopicsSchema,
  /** Partitions of the points topic; the unit of scale-out for workers. */
  partitions: Type.Integer({ minimum: 1, maximum: 10000, default: 6 }),
  replicationFactor: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  /** TLS to the brokers (schemas/config/kafka-security.ts). Default off. */
  tls: KafkaTlsSchema,
  /** SASL authentication; absent means none. The password may come from KAFKA_SASL_PASSWORD. */
  sasl: Type.Optional(KafkaSaslSchema),
}, Section)

export const DatabaseSchema = Type.Object({
  url: Type.String({ pattern: '^postgres(ql)?://', description: 'postgres://user:password@host:port/database', default: 'postgres://postgres@127.0.0.1:5432/fieldstream' }),
  /** Connections per worker process. */
  poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 4 }),
}, Section)

export const StoreSchema = Type.Object({
  /** postgres (native partitions) or timescaledb (hypertable + policies); auto detects the extension. */
  flavor: Type.Union([Type.Literal('auto'), Type.Literal('postgres'), Type.Literal('timescaledb')], { default: 'auto' }),
  /** Raw points older than this are dropped, days; 0 keeps them forever. */
  retentionDays: Type.Integer({ minimum: 0, maximum: 36500, default: 365 }),
  /** TimescaleDB: chunks older than this are compressed, days. */
  compressAfterDays: Type.Integer({ minimum: 1, maximum: 3650, default: 7 }),
  /** A tag-hour's segments are merged into one row this long after the hour ends, minutes. */
  compactAfterMinutes: Type.Integer({ minimum: 1, maximum: 10080, default: 10 }),
  /** Plain PostgreSQL: daily partitions created this many days ahead. */
  partitionsAheadDays: Type.Integer({ minimum: 1, maximum: 60, default: 3 }),
  /** How often the workers fold newly stored points into the rollups, ms; 0 turns rollups off. */
  rollupRefreshMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 2000 }),
  /** Tag ranges (one per tag per flush) folded per rollup transaction. */
  rollupRangesPerPass: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20_000 }),
}, Section)

export const WorkersSchema = Type.Object({
  /** Kafka consumer group of the storage workers; the durable offsets are kept per group. */
  groupId: Type.String({ minLength: 1, default: 'fieldstream-store' }),
  /** Piscina threads decoding and encoding point batches. */
  threads: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  /** Parallel COPY lanes (database connections); Kafka partitions are spread over them. */
  lanes: Type.Integer({ minimum: 1, maximum: 32, default: 2 }),
  /** A lane flushes once it holds this many bytes of point batches, MB. */
  flushMB: Type.Number({ exclusiveMinimum: 0, maximum: 256, default: 4 }),
  /** ... or once its oldest batch has waited this long, ms. */
  flushMs: Type.Integer({ minimum: 1, maximum: 60000, default: 250 }),
  /** Kafka intake pauses when this much is buffered or in flight, MB (memory bound). */
  maxBufferedMB: Type.Number({ exclusiveMinimum: 0, maximum: 4096, default: 64 }),
}, Section)

export const MqttSchema = Type.Object({
  url: Type.String({ pattern: '^(mqtts?|wss?)://', description: 'mqtt://host:port (or mqtts://, ws://, wss://)', default: 'mqtt://127.0.0.1:1883' }),
}, Section)

export const ApiSchema = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  /** Requests per API key (per client IP without one) per minute; over it the API answers 429. */
  rateLimitPerMinute: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 60_000 }),
  /** Most rows one JSON response may hold (points page, rollups tags x buckets, scores, alerts). */
  maxRows: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 10_000 }),
  /** Most rows one CSV response may hold (points, rollups). */
  maxCsvRows: Type.Integer({ minimum: 100, maximum: 100_000_000, default: 1_000_000 }),
  /** Verified API keys (and rejected ones) are remembered this long, s; a revoked key stops working within it. */
  keyCacheSeconds: Type.Number({ minimum: 0, maximum: 3600, default: 10 }),
  /** Origins allowed by CORS; empty (the default) sends no CORS headers. */
  corsOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  /** Largest request body, bytes. */
  bodyLimit: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  /** Database connections of the API process. */
  poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
}, Section)

export const MetricsSchema = Type.Object({
  /** `fieldstream work` and `collect` serve Prometheus metrics at http://host:port/metrics; 0: not served. (The API serves its own at /metrics.) */
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
}, Section)

export const StackSchema = Type.Object({
  /** Where `fieldstream stack` keeps Kafka, PostgreSQL and Mosquitto data (relative to the working directory). */
  dataDir: Type.String({ minLength: 1, default: '.fieldstream' }),
}, Section)

export const SimSchema = Type.Object({
  /** The simulated Modbus TCP well pad (sim/modbus). */
  modbus: Type.Object({
    pumps: Type.Integer({ minimum: 0, maximum: 1000, default: 4 }),
    tanks: Type.Integer({ minimum: 0, maximum: 1000, default: 2 }),
    flowMeters: Type.Integer({ minimum: 0, maximum: 1000, default: 2 }),
    /** Multi-channel RTUs, `rtuChannels` holding registers each. */
    rtus: Type.Integer({ minimum: 0, maximum: 1000, default: 0 }),
    rtuChannels: Type.Integer({ minimum: 1, maximum: 2000, default: 120 }),
    /** Poll interval the generated collector config uses, ms. */
    pollIntervalMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 1000 }),
    /** First TCP port tried for the simulated devices. */
    basePort: Type.Integer({ minimum: 1024, maximum: 65000, default: 15100 }),
    /** Inject a random labelled fault (spike, drift, stuck, oscillation, dropout) this often, s; 0: never. */
    faultEveryS: Type.Integer({ minimum: 0, maximum: 86_400, default: 0 }),
  }, Section),
  /** Simulated Sparkplug B edge nodes (sim/sparkplug) publishing to `mqtt.url`. */
  sparkplug: Type.Object({
    groupId: Type.String({ minLength: 1, default: 'sim' }),
    nodes: Type.Integer({ minimum: 0, maximum: 10_000, default: 2 }),
    devicesPerNode: Type.Integer({ minimum: 1, maximum: 1000, default: 4 }),
    metricsPerDevice: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
    /** Publish period, ms. */
    intervalMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 1000 }),
  }, Section),
}, Section)

export const CollectorsSchema = Type.Object({
  modbus: ModbusCollectorSchema,
  mqtt: MqttCollectorSchema,
  spool: SpoolSchema,
}, Section)

export const ConfigSchema = Type.Object({
  kafka: KafkaSchema,
  database: DatabaseSchema,
  mqtt: MqttSchema,
  store: StoreSchema,
  workers: WorkersSchema,
  api: ApiSchema,
  metrics: MetricsSchema,
  stack: StackSchema,
  sim: SimSchema,
  collectors: CollectorsSchema,
  tags: TagsSchema,
  scoring: ScoringSchema,
}, { additionalProperties: false, $id: 'https://fieldstream.dev/schemas/config.json', title: 'fieldstream config' })

export type Config = Static<typeof ConfigSchema>
