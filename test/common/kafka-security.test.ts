// Kafka TLS + SASL (`kafka.tls`, `kafka.sasl`): config checks, then integration against a PRIVATE
// broker whose only client listener is SASL_SSL (throwaway CA made with openssl here; PLAIN and
// SCRAM users). Right credentials: produce, consume and the collectors' sink work; wrong password
// or an untrusted CA: a clear error, in bounded time.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createBatchConsumer, createBatchProducer, kafkaSecurityOptions, type KafkaSettings } from '../../common/kafka.js'
import type { Logger } from '../../common/log.js'
import { KafkaSink } from '../../ingest/kafka/index.js'
import { loadConfig } from '../../schemas/config/load.js'
import { encodeBatch } from '../../schemas/wire/codec.js'
import { makeTestPki } from '../ingest/certs.js'
import { numbered, numberOf, sinkConfig } from '../ingest/kafka-sink/fixtures.js'
import { createTopic, privateSecureKafka, readBack } from '../ingest/kafka-sink/private-kafka.js'

const PORT = 19320
const pki = makeTestPki('kafka')
const alice = { name: 'alice', password: 'alice-secret' }
const quiet: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/** Settle `p` or fail after `ms`: "does not hang" is part of what these tests check. */
async function within<T> (ms: number, p: Promise<T>): Promise<{ value?: T, error?: Error, ms: number }> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms) })
  try {
    return { value: await Promise.race([p, timeout]), ms: Date.now() - started }
  } catch (err) {
    return { error: err as Error, ms: Date.now() - started }
  } finally {
    clearTimeout(timer)
  }
}

t.test('kafka.tls / kafka.sasl config: bad files and half settings are config errors naming option and file', async t => {
  const base = { brokers: ['127.0.0.1:1'], clientId: 'fs-test' }
  t.throws(() => kafkaSecurityOptions({ ...base, tls: { enabled: true, ca: '/nonexistent/ca.pem' } }), { code: 'FS_CONFIG_INVALID', message: /kafka\.tls\.ca: cannot read \/nonexistent\/ca\.pem: ENOENT/ })
  const notPem = join(mkdtempSync(join(tmpdir(), 'fs-notpem-')), 'ca.pem')
  writeFileSync(notPem, 'hello')
  t.throws(() => kafkaSecurityOptions({ ...base, tls: { enabled: true, ca: notPem } }), { code: 'FS_CONFIG_INVALID', message: new RegExp(`kafka\\.tls\\.ca: ${notPem} is not a PEM file`) })
  t.throws(() => kafkaSecurityOptions({ ...base, tls: { enabled: true, cert: pki.serverCertFile } }), { message: /kafka\.tls: cert is set without key/ })
  t.throws(() => kafkaSecurityOptions({ ...base, tls: { enabled: false, ca: pki.caFile } }), { message: /kafka\.tls\.enabled is false/ })
  const ok = kafkaSecurityOptions({ ...base, tls: { enabled: true, ca: pki.caFile, servername: 'localhost', rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' } })
  t.ok(ok.tls?.ca?.toString().includes('-----BEGIN CERTIFICATE-----'), 'the CA file is read')
  t.equal(ok.tls?.servername, 'localhost')
  t.same(ok.sasl, { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' })
  t.same(kafkaSecurityOptions(base), {}, 'nothing configured: plaintext, no SASL')

  // The sink checks the files before it locks its spool.
  const cfg = sinkConfig('127.0.0.1:1', 'fs.test.unused')
  await t.rejects(KafkaSink.open({ ...cfg, kafka: { ...cfg.kafka, tls: { enabled: true, ca: '/nonexistent/ca.pem', rejectUnauthorized: true } } }, { log: quiet }), { code: 'FS_CONFIG_INVALID', message: /kafka\.tls\.ca/ })

  // Schema and environment.
  const env = { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 's3cret' }
  t.same(loadConfig({ env }).kafka.sasl, { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 's3cret' }, 'sasl from the environment')
  t.same(loadConfig({ env: {} }).kafka.tls, { enabled: false, rejectUnauthorized: true }, 'tls defaults: off')
  t.throws(() => loadConfig({ env: { KAFKA_SASL_PASSWORD: 'x' } }), { code: 'FS_CONFIG_INVALID', message: /kafka\.sasl\.mechanism: is required|kafka\.sasl.*\[from environment variable KAFKA_SASL_PASSWORD\]/ })
  t.throws(() => loadConfig({ env: { ...env, KAFKA_SASL_MECHANISM: 'GSSAPI' } }), { message: /kafka\.sasl\.mechanism/ })
})

t.test('SASL_SSL broker', async t => {
  const started = Date.now()
  const kafka = await privateSecureKafka(PORT, pki, [alice])
  t.teardown(async () => await kafka.down())
  t.comment(`SASL_SSL broker on ${kafka.broker} ready in ${Date.now() - started} ms`)
  const secure = (mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', password = alice.password, ca = pki.caFile): Pick<KafkaSettings, 'tls' | 'sasl'> =>
    ({ tls: { enabled: true, ca, rejectUnauthorized: true }, sasl: { mechanism, username: alice.name, password } })

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    t.test(`${mechanism} over TLS with the right password: produce and consume`, async t => {
      const topic = `fs.test.sasl.${mechanism.toLowerCase()}.${process.pid}`
      const security = secure(mechanism)
      await createTopic(kafka.broker, topic, 2, security)
      const producer = createBatchProducer({ brokers: [kafka.broker], clientId: 'fs-test', ...security })
      const sent = await within(20_000, producer.send({ messages: [0, 1, 2].map(n => ({ topic, key: 'dev1', value: encodeBatch({ ...numbered('dev1', n), seq: n + 1 }) })) }))
      await producer.close()
      t.error(sent.error, 'the send is acknowledged')
      const got = (await readBack(kafka.broker, topic, 3, 15_000, security)).get('dev1') ?? []
      t.same(got.map(numberOf), [0, 1, 2], 'and read back in order')
    })
  }

  t.test('the collectors\' Kafka sink, configured from kafka.tls / kafka.sasl', async t => {
    const topic = `fs.test.sasl.sink.${process.pid}`
    const security = secure('SCRAM-SHA-256')
    await createTopic(kafka.broker, topic, 2, security)
    const cfg = sinkConfig(kafka.broker, topic)
    const sink = await KafkaSink.open({ ...cfg, kafka: { ...cfg.kafka, tls: { enabled: true, ca: pki.caFile, rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-256', username: alice.name, password: alice.password } } }, { log: quiet })
    for (let n = 0; n < 20; n++) await sink.write(numbered('pump9', n))
    t.equal(sink.stats.sentDirect, 20, 'every batch acknowledged directly, none spooled')
    await sink.close()
    const got = (await readBack(kafka.broker, topic, 20, 15_000, security)).get('pump9') ?? []
    t.same(got.map(numberOf), Array.from({ length: 20 }, (_, i) => i), 'all 20 batches, in order')
    t.same(got.map(b => b.seq), Array.from({ length: 20 }, (_, i) => i + 1), 'stamped with the sink\'s seqs')
  })

  t.test('wrong password: the send fails with an authentication error, it does not hang', async t => {
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256'] as const) {
      // retries as the collectors' sink sets them: the client's default for an idempotent
      // producer retries forever (ingest/kafka/sink.ts, SEND_RETRIES).
      const producer = createBatchProducer({ brokers: [kafka.broker], clientId: 'fs-test', ...secure(mechanism, 'wrong-password') }, { retries: 3 })
      const topic = `fs.test.sasl.${mechanism.toLowerCase()}.${process.pid}`
      const r = await within(30_000, producer.send({ messages: [{ topic, key: 'dev1', value: encodeBatch(numbered('dev1', 0)) }] }))
      await producer.close(true)
      t.ok(r.error !== undefined && !/still pending/.test(r.error.message), `${mechanism}: rejected after ${r.ms} ms`)
      t.match(describe(r.error), /SASL|[Aa]uthentication/, `${mechanism}: the error says authentication failed: ${describe(r.error).slice(0, 300)}`)
    }
    const consumer = createBatchConsumer({ brokers: [kafka.broker], clientId: 'fs-test', ...secure('SCRAM-SHA-512', 'wrong-password') }, `fs-test-badpw-${process.pid}`)
    const r = await within(30_000, consumer.listOffsets({ topics: [`fs.test.sasl.plain.${process.pid}`] }))
    await consumer.close(true)
    t.match(describe(r.error), /SASL|[Aa]uthentication/, `consumer: rejected after ${r.ms} ms with an authentication error`)
  })

  t.test('a broker certificate from an untrusted CA is refused', async t => {
    const producer = createBatchProducer({ brokers: [kafka.broker], clientId: 'fs-test', ...secure('PLAIN', alice.password, pki.otherCaFile) }, { retries: 3 })
    const r = await within(30_000, producer.send({ messages: [{ topic: `fs.test.sasl.plain.${process.pid}`, key: 'dev1', value: encodeBatch(numbered('dev1', 0)) }] }))
    await producer.close(true)
    t.ok(r.error !== undefined && !/still pending/.test(r.error.message), `rejected after ${r.ms} ms`)
    t.match(describe(r.error), /certificate|self[- ]signed|verify/i, `the error names the certificate problem: ${describe(r.error).slice(0, 300)}`)
  })

  t.test('wrong password through the sink: batches are kept in the spool and the warning says why', async t => {
    const topic = `fs.test.sasl.sink.${process.pid}`
    // Long enough for the client's own attempts (4 x ~1 s) to end with the broker's answer.
    const cfg = sinkConfig(kafka.broker, topic, { sendTimeoutMs: 10_000 })
    const warnings: string[] = []
    const sink = await KafkaSink.open({ ...cfg, kafka: { ...cfg.kafka, tls: { enabled: true, ca: pki.caFile, rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-256', username: alice.name, password: 'wrong-password' } } }, { log: { ...quiet, warn: m => warnings.push(m) } })
    const r = await within(20_000, sink.write(numbered('pump9', 99)))
    t.error(r.error, `write() resolves (spooled) after ${r.ms} ms`)
    t.equal(sink.stats.spool.pendingBatches, 1, 'the batch waits in the spool')
    t.match(warnings.join('\n'), /Kafka send failed \(.*(SASL|[Aa]uthentication)/, 'the warning names the authentication failure')
    t.comment(warnings[0]?.slice(0, 400))
    const closed = await within(30_000, sink.close())
    t.error(closed.error, `close() returns (${closed.ms} ms); the batch stays spooled`)
  })
})

/** The client nests causes (MultipleErrors, `cause`): flatten them for matching. */
function describe (err: unknown): string {
  if (err === undefined) return 'no error'
  const e = err as Error & { errors?: unknown[], cause?: unknown }
  const inner = e.errors?.length ? e.errors : e.cause !== undefined ? [e.cause] : []
  return inner.length === 0 ? e.message : `${e.message} (${inner.map(describe).join('; ')})`
}


