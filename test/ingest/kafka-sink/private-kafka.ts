// A private single-node Kafka broker for tests that stop it (the shared one on 9092 is never
// touched), plus helpers to read a topic back per source. `privateSecureKafka` runs one with a
// SASL_SSL listener (PEM key store, PLAIN and SCRAM users) from the jars `stack up` resolved.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAdmin, createBatchConsumer, ensureTopics, type KafkaSettings } from '../../../common/kafka.js'
import { stackDown, stackOptionsFromConfig, stackUp, type StackOptions } from '../../../stack/index.js'
import { isAlive, run, signalAndWait, spawnDetached, tail, tcpReachable, waitUntil } from '../../../stack/process.js'
import { repoPath } from '../../helpers/repo.js'
import { keyStorePem, type TestPki } from '../certs.js'
import { decodeBatch } from '../../../schemas/wire/codec.js'
import { loadConfig } from '../../../schemas/config/load.js'
import type { PointBatch } from '../../../schemas/points.js'

export interface PrivateKafka {
  broker: string
  opts: StackOptions
  down (): Promise<void>
}

export async function privateKafka (port: number): Promise<PrivateKafka> {
  // A broker left behind on this port (a killed test run) would be reused without notice, and
  // "stopping" ours would then leave it running: an outage test that never has an outage.
  if (await tcpReachable('127.0.0.1', port)) throw new Error(`private Kafka: port ${port} is already in use (a broker left over from an earlier run?)`)
  const defaults = loadConfig({ env: {} })
  const broker = `127.0.0.1:${port}`
  const opts = stackOptionsFromConfig({
    kafka: { brokers: [broker] },
    database: { ...defaults.database },
    mqtt: { ...defaults.mqtt },
    stack: { dataDir: mkdtempSync(join(tmpdir(), 'fs-private-kafka-')) },
  }, () => undefined)
  await stackUp(opts, ['kafka'])
  return { broker, opts, down: async () => await stackDown(opts, ['kafka']) }
}

export interface SecureKafkaUser { name: string, password: string }

export interface PrivateSecureKafka {
  /** host:port of the SASL_SSL listener. */
  broker: string
  /** Users known to the PLAIN mechanism (JAAS) and, with the same passwords, to SCRAM-SHA-256/512. */
  users: readonly SecureKafkaUser[]
  logFile: string
  down (): Promise<void>
}

/**
 * A private broker whose only client listener is SASL_SSL on `port` (controller on port + 1,
 * plaintext, loopback only): TLS with the test CA's server certificate, SASL PLAIN,
 * SCRAM-SHA-256 and SCRAM-SHA-512 for `users`. Started with `java` directly, because the stack's
 * broker config is plaintext by design. Ready once a TLS+SASL client lists its topics.
 */
export async function privateSecureKafka (port: number, pki: TestPki, users: readonly SecureKafkaUser[]): Promise<PrivateSecureKafka> {
  if (await tcpReachable('127.0.0.1', port)) throw new Error(`private Kafka: port ${port} is already in use (a broker left over from an earlier run?)`)
  const dir = mkdtempSync(join(tmpdir(), 'fs-private-kafka-sasl-'))
  const paths = { properties: join(dir, 'server.properties'), log4j: join(dir, 'log4j2.properties'), logFile: join(dir, 'server.log'), logDir: join(dir, 'data') }
  mkdirSync(paths.logDir)
  const libs = await brokerJars(dir)
  const broker = `127.0.0.1:${port}`
  const interBroker = { name: 'broker', password: 'broker-secret' }
  const plainUsers = [interBroker, ...users].map(u => `user_${u.name}="${u.password}"`).join(' ')
  writeFileSync(paths.properties, `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${port + 1}
listeners=SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${port + 1}
advertised.listeners=SASL_SSL://127.0.0.1:${port}
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${interBroker.name}" password="${interBroker.password}" ${plainUsers};
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=${keyStorePem(pki)}
ssl.truststore.type=PEM
ssl.truststore.location=${pki.caFile}
log.dirs=${paths.logDir}
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
`)
  writeFileSync(paths.log4j, 'status = warn\nappender.out.type = Console\nappender.out.name = OUT\nappender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\nrootLogger.level = INFO\nrootLogger.appenderRef.out.ref = OUT\n')
  const java = (main: string, ...args: string[]): string[] => ['-Xmx512m', '-Xms512m', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${paths.log4j}`, '-cp', `${libs}/*`, main, ...args]
  // SCRAM credentials live in the cluster metadata: KRaft takes them at format time.
  const scram = users.flatMap(u => ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap(m => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`]))
  const format = await run('java', java('kafka.tools.StorageTool', 'format', '--config', paths.properties, '--cluster-id', 'fs-test-sasl-cluster-0', ...scram))
  if (format.code !== 0) throw new Error(`formatting the SASL_SSL test broker failed (exit ${format.code}):\n${format.stdout}${format.stderr}`)
  const pid = await spawnDetached('java', java('kafka.Kafka', paths.properties), paths.logFile)
  const down = async (): Promise<void> => {
    if (!await signalAndWait(pid, 'SIGTERM', 30_000)) await signalAndWait(pid, 'SIGKILL', 5000)
  }
  const client: KafkaSettings = { brokers: [broker], clientId: 'fs-test-ready', tls: { enabled: true, ca: pki.caFile }, sasl: { mechanism: 'PLAIN', username: interBroker.name, password: interBroker.password } }
  const ready = async (): Promise<boolean> => {
    const admin = createAdmin(client)
    try {
      await admin.listTopics()
      return true
    } finally {
      await admin.close().catch(() => undefined)
    }
  }
  const outcome = await waitUntil(ready, { timeoutMs: 120_000, alive: () => isAlive(pid), intervalMs: 500 })
  if (outcome !== 'ready') {
    await down()
    throw new Error(`the SASL_SSL test broker did not become ready (${outcome}); ${paths.logFile}:\n${tail(paths.logFile, 30)}`)
  }
  // The group coordinator (__consumer_offsets) comes up on first use, seconds after the broker
  // answers metadata: join a group once, patiently, so tests' consumers do not meet NOT_COORDINATOR.
  try {
    await createTopic(broker, 'fs-test-warmup', 1, client)
    const consumer = createBatchConsumer(client, 'fs-test-warmup', { retries: 60 })
    const stream = await consumer.consume({ topics: ['fs-test-warmup'], mode: 'earliest', autocommit: false, maxWaitTime: 100 })
    await stream.close()
    await consumer.close(true)
  } catch (err) {
    await down()
    throw err
  }
  return { broker, users, logFile: paths.logFile, down }
}

/**
 * The broker jars: those `stack up` resolved (when resolved from this pom), else a fresh
 * `mvn dependency:copy-dependencies` into the test's folder (from the local Maven repository).
 */
async function brokerJars (dir: string): Promise<string> {
  const pom = repoPath('stack/kafka/pom.xml')
  const shared = join(resolve(loadConfig({ env: process.env }).stack.dataDir), 'kafka', 'libs')
  const stamp = join(shared, '.fieldstream-complete')
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === createHash('sha256').update(readFileSync(pom)).digest('hex')) return shared
  const libs = join(dir, 'libs')
  const res = await run('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`])
  if (res.code !== 0) throw new Error(`mvn could not copy the broker jars (exit ${res.code}):\n${res.stdout}${res.stderr}`)
  return libs
}

export async function createTopic (broker: string, topic: string, partitions: number, security: Pick<KafkaSettings, 'tls' | 'sasl'> = {}): Promise<void> {
  const admin = createAdmin({ brokers: [broker], clientId: 'fs-test', ...security })
  try {
    await ensureTopics(admin, [{ name: topic, partitions, replicationFactor: 1 }])
  } finally {
    await admin.close()
  }
}

/** Every batch in the topic (read from the start until `count` arrived or `timeoutMs` passed), per source in offset order. */
export async function readBack (broker: string, topic: string, count: number, timeoutMs = 30_000, security: Pick<KafkaSettings, 'tls' | 'sasl'> = {}): Promise<Map<string, PointBatch[]>> {
  const consumer = createBatchConsumer({ brokers: [broker], clientId: 'fs-test', ...security }, `fs-test-reader-${process.pid}-${Date.now()}`)
  const out = new Map<string, PointBatch[]>()
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
  let n = 0
  const timer = setTimeout(() => { void stream.close() }, timeoutMs)
  try {
    for await (const m of stream) {
      const b = decodeBatch(m.value)
      out.set(b.source, [...(out.get(b.source) ?? []), b])
      if (++n >= count) break
    }
  } finally {
    clearTimeout(timer)
    await stream.close().catch(() => undefined)
    await consumer.close(true)
  }
  return out
}
