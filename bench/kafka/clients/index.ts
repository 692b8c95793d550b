// The three Kafka clients under comparison, behind one small contract so the benchmark
// drives each the same way. One file per client; this file maps names to factories.
import { createKafkajsClient } from './kafkajs.js'
import { createPlatformaticClient } from './platformatic.js'
import { createRdkafkaClient } from './rdkafka.js'

export const CLIENT_NAMES = ['platformatic', 'kafkajs', 'rdkafka'] as const
export type ClientName = (typeof CLIENT_NAMES)[number]

export interface BenchMessage { key: string, value: Buffer }

export interface ClientSettings {
  brokers: readonly string[]
  clientId: string
  /** Messages per send() call for the clients that take arrays (platformatic, kafkajs). Default 100. */
  sendBatches: number
}

export interface BenchProducer {
  /** Send every message (keyed, acks=all), resolving once all are acknowledged. */
  sendAll (topic: string, messages: readonly BenchMessage[]): Promise<void>
  close (): Promise<void>
}

export interface BenchConsumer {
  /**
   * Join a new group on `topic` from earliest and hand each value to onValue until `count`
   * values were handed over. Offsets are not committed.
   */
  readAll (count: number, onValue: (value: Buffer) => void): Promise<void>
  close (): Promise<void>
}

export interface BenchClient {
  readonly name: ClientName
  /** Library version and the produce settings actually used, for the result line. */
  readonly describe: { version: string, compression: string, idempotent: boolean }
  /** A connected producer (connection set-up is not timed). */
  openProducer (topic: string): Promise<BenchProducer>
  openConsumer (topic: string, groupId: string): Promise<BenchConsumer>
}

export type ClientFactory = (s: ClientSettings) => BenchClient

export const CLIENT_FACTORIES: Record<ClientName, ClientFactory> = {
  platformatic: createPlatformaticClient,
  kafkajs: createKafkajsClient,
  rdkafka: createRdkafkaClient,
}
