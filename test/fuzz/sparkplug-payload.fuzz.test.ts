// Fuzzing the Sparkplug B path: ingest/sparkplug/decode.ts decodePayload on arbitrary bytes,
// and the whole host dispatch (handlers -> points.ts -> metrics.ts) on sessions of valid
// Tahu-encoded messages with some of them mutated. protobuf has no checksum, so a mutated
// payload may decode to other values; what must hold is that nothing but
// SparkplugPayloadInvalid escapes the decoder, dispatch never throws, and every point emitted
// could be stored as it claims: a finite value, and a real timestamp.
import fc from 'fast-check'
import t from 'tap'
import sparkplug from 'sparkplug-payload'
import type { UMetric } from 'sparkplug-payload/lib/sparkplugbpayload.js'
import type { Batcher } from '../../ingest/mqtt/batcher.js'
import type { RateLimitedLog } from '../../ingest/mqtt/rate-log.js'
import { decodePayload } from '../../ingest/sparkplug/decode.js'
import { SparkplugPayloadInvalid } from '../../ingest/sparkplug/errors.js'
import { dispatch } from '../../ingest/sparkplug/handlers/index.js'
import { PrimaryHost } from '../../ingest/sparkplug/host.js'
import { checkTimeUs, MAX_TIME_US, type Point } from '../../schemas/points.js'
import { isQualityWord } from '../../schemas/quality.js'
import { deviceTopic, nodeTopic, parseTopic } from '../../schemas/sparkplug/topic.js'
import { captureLog, mqttConfig } from '../ingest/mqtt/helpers.js'
import { fuzzParams, mutate, mutationsArb, timed, typedOutcome } from './helpers.js'

const tahu = sparkplug.get('spBv1.0')!
const NOW_MS = 1_767_225_600_000
const GROUP = 'g1'
const NODE = 'n1'
const DEVICE = 'd1'

/** A host that is never started: dispatch drives it directly, points land in `points`. */
function hostUnderTest (): { host: PrimaryHost, points: Point[], warnings: string[] } {
  const points: Point[] = []
  const warnings: string[] = []
  const batcher = { add: (_source: string, p: readonly Point[]) => { points.push(...p); return true } } as unknown as Batcher
  const warn = { warn: (_kind: string, message: string) => { warnings.push(message) } } as unknown as RateLimitedLog
  // reorderTimeoutMs 0: a seq gap is given up at once, so no timer outlives a run.
  const cfg = mqttConfig({ sparkplug: { enabled: true, reorderTimeoutMs: 0 } })
  const host = new PrimaryHost(cfg, { url: 'mqtt://127.0.0.1:1', batcher, log: captureLog(), warn, nowMs: () => NOW_MS })
  return { host, points, warnings }
}

/** Every emitted point must be storable as it claims. */
function assertStorable (points: readonly Point[]): void {
  points.forEach((p, i) => {
    const ok = typeof p.value === 'boolean' || (typeof p.value === 'number' && Number.isFinite(p.value))
    if (!ok) throw new Error(`point ${i} ${p.tag}: value ${String(p.value)} (quality 0x${p.quality.toString(16)})`)
    if (!isQualityWord(p.quality)) throw new Error(`point ${i} ${p.tag}: quality ${p.quality}`)
    const problem = checkTimeUs(p.timeUs)
    if (problem !== undefined) throw new Error(`point ${i} ${p.tag} (quality 0x${p.quality.toString(16)}): ${problem}`)
  })
}

// --- valid messages, built with Tahu's encoder ---------------------------------------------

const MAX_SAFE_MS = Math.floor(MAX_TIME_US / 1000) - 1
/** ms timestamps: absent, plausible, at the edges, and beyond what a µs timestamp can hold. */
const timestampMs = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, MAX_SAFE_MS, MAX_SAFE_MS + 1, 2 ** 53 - 1, 1_767_225_600_000_000) },
)

const typedValue: fc.Arbitrary<{ type: string, value: unknown }> = fc.oneof(
  fc.record({ type: fc.constant('Int8'), value: fc.integer({ min: -128, max: 127 }) }),
  fc.record({ type: fc.constant('Int16'), value: fc.integer({ min: -32768, max: 32767 }) }),
  fc.record({ type: fc.constant('Int32'), value: fc.integer() }),
  fc.record({ type: fc.constant('Int64'), value: fc.integer() }),
  fc.record({ type: fc.constant('UInt8'), value: fc.nat({ max: 255 }) }),
  fc.record({ type: fc.constant('UInt16'), value: fc.nat({ max: 65535 }) }),
  fc.record({ type: fc.constant('UInt32'), value: fc.nat() }),
  fc.record({ type: fc.constant('UInt64'), value: fc.nat() }),
  // fc.float()/fc.double() rarely give NaN or ±Infinity on their own; they are what matters here.
  fc.record({ type: fc.constant('Float'), value: fc.oneof(fc.float(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 3.4e38)) }),
  fc.record({ type: fc.constant('Double'), value: fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, Number.MAX_VALUE)) }),
  fc.record({ type: fc.constant('Boolean'), value: fc.boolean() }),
  fc.record({ type: fc.constant('DateTime'), value: fc.integer({ min: 0, max: 2_000_000_000 }).map(s => s * 1000) }),
  fc.record({ type: fc.constant('String'), value: fc.string({ maxLength: 8 }) }),
)

const metricArb = fc.record({
  name: fc.oneof(fc.constantFrom('flow', 'level', 'temp/inlet', 'Node Control/Rebirth', 'bdSeq'), fc.string({ minLength: 1, maxLength: 10 })),
  tv: typedValue,
  timestamp: timestampMs,
  historical: fc.boolean(),
  isNull: fc.boolean(),
})

type MetricSpec = typeof metricArb extends fc.Arbitrary<infer M> ? M : never

function birthMetrics (specs: readonly MetricSpec[]): UMetric[] {
  return specs.map((m, i) => ({ name: m.name, alias: i + 1, type: m.tv.type, value: m.tv.value, ...(m.timestamp === undefined ? {} : { timestamp: m.timestamp }) }) as UMetric)
}

/** DATA metrics refer to the birth by alias (no name, no datatype), as edge nodes with aliases send them. */
function dataMetrics (specs: readonly MetricSpec[], picks: readonly number[]): UMetric[] {
  return picks.filter(() => specs.length > 0).map(p => {
    const i = p % specs.length
    const m = specs[i]!
    return { alias: i + 1, type: m.tv.type, value: m.tv.value, isHistorical: m.historical, isNull: m.isNull, ...(m.timestamp === undefined ? {} : { timestamp: m.timestamp }) } as UMetric
  })
}

interface Message { topic: string, bytes: Buffer }

const sessionArb = fc.record({
  bdSeq: fc.nat({ max: 255 }),
  nodeMetrics: fc.array(metricArb, { maxLength: 5 }),
  deviceMetrics: fc.array(metricArb, { maxLength: 5 }),
  payloadTimestamp: timestampMs,
  steps: fc.array(fc.record({
    kind: fc.constantFrom('NDATA', 'DDATA', 'DDATA', 'DDEATH', 'DBIRTH', 'NDEATH', 'NBIRTH'),
    picks: fc.array(fc.nat(), { maxLength: 4 }),
    seqSkip: fc.constantFrom(0, 0, 0, 1, 7, 200),
  }), { maxLength: 6 }),
}).map(s => {
  const messages: Message[] = []
  let seq = 0
  const next = (skip: number): number => { seq = (seq + 1 + skip) % 256; return seq }
  const bdSeqMetric = { name: 'bdSeq', type: 'UInt64', value: s.bdSeq } as UMetric
  const nbirth = (): Message => {
    seq = 0
    return { topic: nodeTopic(GROUP, 'NBIRTH', NODE), bytes: Buffer.from(tahu.encodePayload({ timestamp: s.payloadTimestamp ?? NOW_MS, seq, metrics: [bdSeqMetric, ...birthMetrics(s.nodeMetrics)] })) }
  }
  const dbirth = (skip = 0): Message => ({ topic: deviceTopic(GROUP, 'DBIRTH', NODE, DEVICE), bytes: Buffer.from(tahu.encodePayload({ timestamp: NOW_MS, seq: next(skip), metrics: birthMetrics(s.deviceMetrics) })) })
  messages.push(nbirth(), dbirth())
  for (const step of s.steps) {
    const ts = s.payloadTimestamp === undefined ? {} : { timestamp: s.payloadTimestamp }
    switch (step.kind) {
      case 'NBIRTH': messages.push(nbirth()); break
      case 'DBIRTH': messages.push(dbirth(step.seqSkip)); break
      case 'NDATA': messages.push({ topic: nodeTopic(GROUP, 'NDATA', NODE), bytes: Buffer.from(tahu.encodePayload({ ...ts, seq: next(step.seqSkip), metrics: dataMetrics(s.nodeMetrics, step.picks) })) }); break
      case 'DDATA': messages.push({ topic: deviceTopic(GROUP, 'DDATA', NODE, DEVICE), bytes: Buffer.from(tahu.encodePayload({ ...ts, seq: next(step.seqSkip), metrics: dataMetrics(s.deviceMetrics, step.picks) })) }); break
      case 'DDEATH': messages.push({ topic: deviceTopic(GROUP, 'DDEATH', NODE, DEVICE), bytes: Buffer.from(tahu.encodePayload({ ...ts, seq: next(step.seqSkip), metrics: [] })) }); break
      case 'NDEATH': messages.push({ topic: nodeTopic(GROUP, 'NDEATH', NODE), bytes: Buffer.from(tahu.encodePayload({ metrics: [bdSeqMetric] })) }); break
    }
  }
  return messages
})

/** Run a session through dispatch: any throw is a bug (dispatch handles SparkplugPayloadInvalid itself). */
function runSession (messages: readonly Message[]): Point[] {
  const { host, points } = hostUnderTest()
  for (const m of messages) {
    const topic = parseTopic(m.topic)!
    try {
      timed(`dispatch ${m.topic}`, () => dispatch(host, topic, m.bytes, NOW_MS))
    } catch (err) {
      throw new Error(`dispatch of ${m.topic} (${m.bytes.toString('hex')}) threw ${(err as Error).constructor.name}: ${(err as Error).message}`, { cause: err })
    }
  }
  for (const node of host.nodes.values()) node.seq.close()
  return points
}

t.test('decodePayload: arbitrary bytes give a payload or SparkplugPayloadInvalid', async t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), bytes => {
    typedOutcome(() => decodePayload(bytes), [SparkplugPayloadInvalid], 'decodePayload')
  }), fuzzParams(t, 'arbitrary bytes', 1500))
  t.pass('only SparkplugPayloadInvalid escapes')
})

t.test('decodePayload: mutated valid payloads give a payload or SparkplugPayloadInvalid', async t => {
  fc.assert(fc.property(sessionArb, fc.nat(), mutationsArb(), (messages, which, mutations) => {
    const m = messages[which % messages.length]!
    const other = messages[(which + 1) % messages.length]!
    typedOutcome(() => decodePayload(mutate(m.bytes, mutations, other.bytes)), [SparkplugPayloadInvalid], 'decodePayload')
  }), fuzzParams(t, 'mutated payloads', 600))
  t.pass('only SparkplugPayloadInvalid escapes')
})

t.test('well-formed sessions (any values and timestamps): dispatch never throws and every point is storable', async t => {
  let total = 0
  fc.assert(fc.property(sessionArb, messages => { const points = runSession(messages); total += points.length; assertStorable(points) }), fuzzParams(t, 'well-formed sessions', 300))
  t.ok(total > 0, `sessions produced points (${total})`)
})

t.test('sessions with mutated messages: dispatch never throws and every point is storable', async t => {
  const mutatedSession = fc.record({
    messages: sessionArb,
    mutations: fc.array(fc.record({ which: fc.nat(), mutations: mutationsArb() }), { minLength: 1, maxLength: 3 }),
  }).map(({ messages, mutations }) => {
    const out = messages.map(m => ({ ...m }))
    for (const { which, mutations: ms } of mutations) {
      const i = which % out.length
      out[i] = { topic: out[i]!.topic, bytes: mutate(out[i]!.bytes, ms, out[(i + 1) % out.length]!.bytes) }
    }
    return out
  })
  fc.assert(fc.property(mutatedSession, messages => { assertStorable(runSession(messages)) }), fuzzParams(t, 'mutated sessions', 600))
  t.pass('dispatch never threw; every point storable')
})

t.test('deeply nested templates are refused or decoded, not a stack overflow escaping', async t => {
  // Metric.template_value holds a Template, whose metrics hold Templates...: a payload of a
  // few hundred KB can nest tens of thousands deep. Built by hand, field by field.
  const nest = fc.constantFrom(100, 5_000, 50_000).map(nested)
  // The generator is right when a shallow nest decodes to one Template metric.
  t.same(decodePayload(nested(100)).metrics.map(m => [m.name, m.datatype]), [['x', 19]], 'a 100-deep nest is a valid payload')
  // A few hundred ms per call on an idle machine: the bound allows for a loaded one.
  fc.assert(fc.property(nest, bytes => {
    typedOutcome(() => decodePayload(bytes), [SparkplugPayloadInvalid], 'decodePayload', 6000)
    const { host } = hostUnderTest()
    timed('dispatch', () => dispatch(host, parseTopic(nodeTopic(GROUP, 'NBIRTH', NODE))!, bytes, NOW_MS), 6000)
  }), fuzzParams(t, 'nested templates', 6))
  t.pass('no untyped throw')
})

/**
 * Payload { metrics: [Metric { name "x", datatype Template, template_value: Template {
 * metrics: [Metric { template_value: Template { metrics: [...] } }] } }] }, `depth` levels.
 * Lengths are worked out inside-out first, then the bytes written outside-in in one buffer
 * (concatenating level by level would copy quadratically).
 */
function nested (depth: number): Buffer {
  const templateLen: number[] = [0] // templateLen[i]: bytes of the Template at nesting level i from the inside
  for (let i = 0; i < depth; i++) {
    const metricLen = 2 + varint(templateLen[i]!).length + templateLen[i]! // Metric.template_value (field 18, len)
    templateLen.push(1 + varint(metricLen).length + metricLen) // Template.metrics (field 2, len)
  }
  const parts: Buffer[] = []
  const top = templateLen[depth]!
  const topMetric = Buffer.concat([Buffer.from([0x0a, 0x01, 0x78, 0x20, 0x13, 0x92, 0x01]), varint(top)])
  parts.push(Buffer.from([0x12]), varint(topMetric.length + top), topMetric) // Payload.metrics (field 2)
  for (let i = depth; i > 0; i--) {
    const inner = templateLen[i - 1]!
    const metricLen = 2 + varint(inner).length + inner
    parts.push(Buffer.from([0x12]), varint(metricLen), Buffer.from([0x92, 0x01]), varint(inner))
  }
  return Buffer.concat(parts)
}

function varint (n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Buffer.from(out)
}
