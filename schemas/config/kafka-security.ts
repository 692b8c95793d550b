// TLS and SASL of the Kafka connection (`kafka.tls`, `kafka.sasl`): the same settings serve every
// producer, consumer and admin the project makes (common/kafka.ts turns them into client options;
// certificate files are read there, so a missing file is reported with its option).
import { Type, type Static } from '@sinclair/typebox'

const PemFile = (description: string) => Type.Optional(Type.String({ minLength: 1, description }))

export const KafkaTlsSchema = Type.Object({
  /** Connect with TLS (listener SSL or SASL_SSL). Default false. */
  enabled: Type.Boolean({ default: false }),
  /** PEM file of the CA that signed the brokers' certificates. Default: Node's built-in CAs. */
  ca: PemFile('PEM file of the CA'),
  /** PEM client certificate file (mutual TLS, `ssl.client.auth=required`); needs `key`. */
  cert: PemFile('PEM client certificate file'),
  /** PEM private key file of `cert` (unencrypted). */
  key: PemFile('PEM client key file'),
  /** Name checked against the broker certificate (SNI) instead of the host of each broker address. */
  servername: Type.Optional(Type.String({ minLength: 1 })),
  /** Refuse a broker certificate that does not verify. Default true; false only for tests. */
  rejectUnauthorized: Type.Boolean({ default: true }),
}, { additionalProperties: false, default: {} })

export const KafkaSaslMechanismSchema = Type.Union([
  Type.Literal('PLAIN'), Type.Literal('SCRAM-SHA-256'), Type.Literal('SCRAM-SHA-512'),
], { description: 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512' })

export const KafkaSaslSchema = Type.Object({
  mechanism: KafkaSaslMechanismSchema,
  username: Type.String({ minLength: 1 }),
  /** Better from the environment (KAFKA_SASL_PASSWORD) than in the file. */
  password: Type.String({ minLength: 1 }),
}, { additionalProperties: false })

export type KafkaTlsConfig = Static<typeof KafkaTlsSchema>
export type KafkaSaslConfig = Static<typeof KafkaSaslSchema>
