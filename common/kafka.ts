// The project's Kafka client (@platformatic/kafka: pure TypeScript, maintained, no native
// build). Stages get producers, consumers and the admin from here, configured alike.
import { readFileSync } from 'node:fs'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { Admin, Consumer, Producer, compatibilityPartitioner, type ConsumerOptions, type ProducerOptions, type SASLOptions } from '@platformatic/kafka'
import { ConfigInvalid } from '../schemas/errors.js'
import type { KafkaSaslConfig, KafkaTlsConfig } from '../schemas/config/kafka-security.js'

export interface KafkaSettings {
  brokers: readonly string[]
  clientId: string
  /** `kafka.tls` of the config; absent or `enabled: false` means plaintext. */
  tls?: Readonly<Partial<KafkaTlsConfig>> | undefined
  /** `kafka.sasl` of the config; absent means no authentication. */
  sasl?: Readonly<KafkaSaslConfig> | undefined
}

/** What every client gets besides brokers and client id: the TLS and SASL options of @platformatic/kafka. */
export interface KafkaSecurityOptions {
  tls?: TlsOptions
  sasl?: SASLOptions
}

/**
 * TLS and SASL client options from the settings. Reads the PEM files now (on every client
 * created, so a renewed certificate is picked up by the next producer): a file that is missing,
 * unreadable or not PEM is a ConfigInvalid naming the option and the file, raised before
 * anything connects rather than as a TLS error on the first request.
 */
export function kafkaSecurityOptions (s: KafkaSettings): KafkaSecurityOptions {
  const out: KafkaSecurityOptions = {}
  const tls = s.tls
  if (tls?.enabled === true) {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new ConfigInvalid(`kafka.tls: ${tls.cert === undefined ? 'key' : 'cert'} is set without ${tls.cert === undefined ? 'cert' : 'key'}; a client certificate needs both`)
    }
    const options: TlsOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true }
    if (tls.ca !== undefined) options.ca = readPem('kafka.tls.ca', tls.ca)
    if (tls.cert !== undefined) options.cert = readPem('kafka.tls.cert', tls.cert)
    if (tls.key !== undefined) options.key = readPem('kafka.tls.key', tls.key)
    if (tls.servername !== undefined) options.servername = tls.servername
    out.tls = options
  } else if (tls !== undefined && (tls.ca ?? tls.cert ?? tls.key ?? tls.servername) !== undefined) {
    // Certificate files with TLS off is almost certainly a forgotten `enabled: true`.
    throw new ConfigInvalid('kafka.tls: ca/cert/key/servername are set but kafka.tls.enabled is false; set enabled: true to connect with TLS')
  }
  if (s.sasl !== undefined) out.sasl = { mechanism: s.sasl.mechanism, username: s.sasl.username, password: s.sasl.password }
  return out
}

function readPem (option: string, file: string): Buffer {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    throw new ConfigInvalid(`${option}: cannot read ${file}: ${(err as Error).message}`)
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigInvalid(`${option}: ${file} is not a PEM file (no "-----BEGIN" line)`)
  return pem
}

export interface TopicSpec {
  name: string
  partitions: number
  replicationFactor: number
  /** Topic-level configs, e.g. { 'retention.ms': '604800000' }. */
  configs?: Record<string, string>
}

/** Keys are strings (device ids), values raw bytes (framed point batches), headers strings. */
export type BatchProducer = Producer<string, Buffer, string, string>
export type BatchConsumer = Consumer<string, Buffer, string, string>

const keyAsString = (key: string | undefined): Buffer | undefined => key === undefined ? undefined : Buffer.from(key)
const raw = (value: Buffer | undefined): Buffer | undefined => value
const headerAsString = (value: string | undefined): Buffer | undefined => value === undefined ? undefined : Buffer.from(value)

export function createAdmin (s: KafkaSettings): Admin {
  return new Admin({ clientId: `${s.clientId}-admin`, bootstrapBrokers: [...s.brokers], ...kafkaSecurityOptions(s) })
}

/** Create missing topics; existing ones are left as they are. Returns the names created. */
export async function ensureTopics (admin: Admin, topics: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const created: string[] = []
  for (const topic of topics) {
    if (existing.has(topic.name)) continue
    try {
      await admin.createTopics({
        topics: [topic.name],
        partitions: topic.partitions,
        replicas: topic.replicationFactor,
        configs: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value })),
      })
      created.push(topic.name)
    } catch (err) {
      // Another process may have created it between the list and the create.
      if (!(await admin.listTopics()).includes(topic.name)) throw err
    }
  }
  return created
}

export function createBatchProducer (s: KafkaSettings, options: Partial<ProducerOptions<string, Buffer, string, string>> = {}): BatchProducer {
  return oneSendAtATime(new Producer({
    clientId: `${s.clientId}-producer`,
    bootstrapBrokers: [...s.brokers],
    ...kafkaSecurityOptions(s),
    // Idempotent with acks=all: a retried send never writes a batch twice.
    idempotent: true,
    acks: -1,
    compression: 'lz4',
    // The Java client's murmur2 mapping, so a device key lands on the same partition
    // whichever producer (a gateway's own Kafka client, Kafka Connect) writes it.
    partitioner: compatibilityPartitioner,
    serializers: { key: keyAsString, value: raw, headerKey: headerAsString, headerValue: headerAsString },
    ...options,
  }))
}

/**
 * Overlapping sends on one idempotent @platformatic/kafka 1.35 producer can reach the broker
 * out of sequence (OUT_OF_ORDER_SEQUENCE_NUMBER, after which it refuses the partition), so
 * every producer the project makes queues its promise-style sends behind each other: callers
 * such as the worker's lanes sharing a dead-letter producer need not know.
 */
function oneSendAtATime (producer: BatchProducer): BatchProducer {
  const send = producer.send.bind(producer) as (o: Parameters<BatchProducer['send']>[0]) => ReturnType<BatchProducer['send']>
  let tail: Promise<unknown> = Promise.resolve()
  producer.send = ((o: Parameters<BatchProducer['send']>[0]) => {
    const sent = tail.then(() => send(o))
    tail = sent.catch(() => undefined)
    return sent
  }) as BatchProducer['send']
  return producer
}

export function createBatchConsumer (s: KafkaSettings, groupId: string, options: Partial<ConsumerOptions<string, Buffer, string, string>> = {}): BatchConsumer {
  return new Consumer({
    clientId: `${s.clientId}-consumer`,
    bootstrapBrokers: [...s.brokers],
    ...kafkaSecurityOptions(s),
    groupId,
    deserializers: {
      key: (b?: Buffer) => b?.toString(),
      value: (b?: Buffer) => b,
      headerKey: (b?: Buffer) => b?.toString(),
      headerValue: (b?: Buffer) => b?.toString(),
    },
    ...options,
  } as ConsumerOptions<string, Buffer, string, string>)
}
