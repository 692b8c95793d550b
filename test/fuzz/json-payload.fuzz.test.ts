// Fuzzing the MQTT JSON payload parser (ingest/mqtt/json.ts compileJsonPayload, and
// subscriptions.ts routeMessage around it): any payload a device or a broker hands us yields
// readings that can be stored as good data, or MqttPayloadInvalid; never another throw.
import fc from 'fast-check'
import t from 'tap'
import { MqttPayloadInvalid } from '../../ingest/mqtt/errors.js'
import { compileJsonPayload } from '../../ingest/mqtt/json.js'
import { compileSubscriptions, routeMessage } from '../../ingest/mqtt/subscriptions.js'
import type { JsonPayloadConfig } from '../../schemas/config/mqtt-collector.js'
import { checkTimeUs } from '../../schemas/points.js'
import { isQualityWord } from '../../schemas/quality.js'
import { fuzzParams, typedOutcome } from './helpers.js'

const RECEIVED_US = 1_767_225_600_000_000

/** Path segments a config may name, including the ones every JS object inherits. */
const segment = fc.constantFrom('value', 'v', 'timestamp', 't', 'q', 'name', 'points', 'data', '0', '1', 'length', 'constructor', '__proto__', 'toString', 'hasOwnProperty')
const path = fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 4, arbitrary: fc.array(segment, { minLength: 1, maxLength: 3 }).map(s => s.join('.')) })

const configArb: fc.Arbitrary<JsonPayloadConfig> = fc.record({
  points: fc.oneof(fc.constant(''), fc.constant('points'), path),
  value: fc.oneof(fc.constant('value'), path),
  timestamp: fc.oneof(fc.constant(''), fc.constant('timestamp'), path),
  timestampUnit: fc.constantFrom('ms', 's', 'us', 'iso'),
  quality: fc.oneof(fc.constant(''), fc.constant('q'), path),
  key: fc.oneof(fc.constant(''), fc.constant('name'), path),
})

/** Every reading must be storable as is: the quality it carries is a claim about a real value and time. */
function assertReadings (readings: ReturnType<ReturnType<typeof compileJsonPayload>>): void {
  if (!Array.isArray(readings)) throw new Error('readings is not an array')
  readings.forEach((r, i) => {
    if (!(typeof r.value === 'boolean' || (typeof r.value === 'number' && Number.isFinite(r.value)))) throw new Error(`reading ${i}: value ${String(r.value)} accepted`)
    const problem = checkTimeUs(r.timeUs)
    if (problem !== undefined) throw new Error(`reading ${i}: ${problem}`)
    if (!isQualityWord(r.quality)) throw new Error(`reading ${i}: quality ${String(r.quality)}`)
    if (r.key !== undefined && (typeof r.key !== 'string' || r.key === '')) throw new Error(`reading ${i}: key ${JSON.stringify(r.key)}`)
  })
}

/** true when the payload gave readings (all checked), false when it was refused with MqttPayloadInvalid. */
function parse (cfg: JsonPayloadConfig, payload: Uint8Array, boundMs?: number): boolean {
  const r = typedOutcome(() => compileJsonPayload(cfg)(payload, RECEIVED_US), [MqttPayloadInvalid], 'JSON payload parser', boundMs)
  if (r.ok) assertReadings(r.value)
  return r.ok
}

/** Values that are wrong in some interesting way for whatever path they end up at. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(), // NaN and ±Infinity become null in JSON text: still wrong, still caught
  fc.constantFrom(1e308, -1e308, 2 ** 64, 1e19, -1, -0, 0, 0.5, Number.MAX_SAFE_INTEGER, 1_767_225_600_000, 1_767_225_600, 1_767_225_600_000_000, 8.64e15, 65535, 65536, 192),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '12', '', '2026-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00Z', '1970-01-01', 'yesterday', 'x\u0000y'),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
)

/** A document with nasty values at the usual paths, sometimes under `points`. */
const documentArb = fc.record({
  one: fc.dictionary(fc.oneof(segment, fc.string({ maxLength: 4 })), nasty, { maxKeys: 6 }),
  many: fc.array(fc.dictionary(fc.oneof(segment, fc.string({ maxLength: 4 })), nasty, { maxKeys: 6 }), { maxLength: 4 }),
  shape: fc.constantFrom('one', 'array', 'points', 'scalar'),
  scalar: nasty,
}).map(({ one, many, shape, scalar }) => shape === 'one' ? one : shape === 'array' ? many : shape === 'points' ? { points: many } : scalar)

/** JSON text for numbers JSON.stringify cannot write: JSON.parse turns them into ±Infinity. */
const overflowText = fc.record({ at: fc.constantFrom('value', 'timestamp', 'q'), literal: fc.constantFrom('1e400', '-1e400', '1e309', '123456789012345678901234567890') })
  .map(({ at, literal }) => `{"value": 1, "timestamp": 1767225600000, "q": 192, "name": "k", ${JSON.stringify(at)}: ${literal}}`)

t.test('arbitrary bytes', async t => {
  fc.assert(fc.property(configArb, fc.uint8Array({ maxLength: 300 }), (cfg, bytes) => { parse(cfg, bytes) }), fuzzParams(t, 'arbitrary bytes', 1500))
  t.pass('only MqttPayloadInvalid or storable readings')
})

t.test('arbitrary JSON text', async t => {
  fc.assert(fc.property(configArb, fc.json({ maxDepth: 4 }), (cfg, text) => { parse(cfg, Buffer.from(text)) }), fuzzParams(t, 'arbitrary JSON', 1500))
  t.pass('only MqttPayloadInvalid or storable readings')
})

t.test('wrong types, huge numbers and out-of-range timestamps at the configured paths', async t => {
  const seen = { readings: 0, refused: 0 }
  fc.assert(fc.property(configArb, fc.oneof(documentArb.map(d => JSON.stringify(d) ?? 'null'), overflowText), (cfg, text) => {
    seen[parse(cfg, Buffer.from(text)) ? 'readings' : 'refused']++
  }), fuzzParams(t, 'nasty values', 2500))
  // Both sides must be reached, or the checks on accepted readings were never exercised.
  t.ok(seen.readings > 0 && seen.refused > 0, `some payloads parse, some are refused (${seen.readings} parsed, ${seen.refused} refused)`)
})

t.test('deeply nested and very large values do not overflow the stack or stall the parser', async t => {
  const deep = fc.record({
    depth: fc.constantFrom(1000, 20_000, 200_000),
    open: fc.constantFrom('[', '{"value":', '{"points":'),
    at: fc.constantFrom('value', 'timestamp', 'q', 'name', 'points'),
  }).map(({ depth, open, at }) => {
    const close = open === '[' ? ']' : '}'
    return `{"value": 1, "timestamp": 1767225600000, "name": "k", ${JSON.stringify(at)}: ${open.repeat(depth)}1${close.repeat(depth)}}`
  })
  const wide = fc.constantFrom(200_000, 1_000_000).map(n => `{"value": [${'1,'.repeat(n)}1], "timestamp": 1767225600000}`)
  // Up to a few hundred ms per call on an idle machine (1 MB of JSON): the bound allows for a loaded one.
  fc.assert(fc.property(configArb, fc.oneof(deep, wide), (cfg, text) => { parse(cfg, Buffer.from(text), 6000) }), fuzzParams(t, 'deep and wide', 30))
  t.pass('only MqttPayloadInvalid or storable readings')
})

t.test('routeMessage: the collector-side entry never throws anything but MqttPayloadInvalid', async t => {
  fc.assert(fc.property(configArb, fc.constantFrom('{topic}', '{1}/{key}', 'x/{#}'), fc.oneof(fc.json({ maxDepth: 3 }), documentArb.map(d => JSON.stringify(d) ?? 'null')), (payload, tag, text) => {
    const routes = compileSubscriptions([{ topic: 'plant/+/#', tag, source: '{1}', qos: 1, payload }])
    const r = typedOutcome(() => routeMessage(routes, 'plant/pad7/pump1/telemetry', Buffer.from(text), RECEIVED_US), [MqttPayloadInvalid], 'routeMessage')
    if (!r.ok || r.value === undefined) return
    assertReadings(r.value.points.map(p => ({ key: undefined, ...p })))
    if (r.value.source !== 'pad7') throw new Error(`source ${r.value.source}`)
  }), fuzzParams(t, 'routeMessage', 800))
  t.pass('only MqttPayloadInvalid or storable points')
})

t.test('regressions found by fuzzing', async t => {
  const base: JsonPayloadConfig = { points: '', value: 'value', timestamp: '', timestampUnit: 'ms', quality: '', key: '' }
  const refuse = (cfg: Partial<JsonPayloadConfig>, text: string, message: RegExp, name: string): void => {
    t.throws(() => compileJsonPayload({ ...base, ...cfg })(Buffer.from(text), RECEIVED_US), { code: 'FS_MQTT_PAYLOAD_INVALID', message }, name)
  }
  // A path that names an inherited member read Object.prototype.constructor, and describing
  // that function in the error message threw a TypeError.
  refuse({ value: 'constructor' }, '{}', /value at "constructor" must be a finite number or a boolean, got nothing/, 'inherited member is not a payload field')
  refuse({ value: 'toString' }, '{"value": 1}', /got nothing/, 'toString is not a payload field')
  // Describing a deeply nested value with JSON.stringify overflowed the stack (RangeError).
  refuse({}, `{"value": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /got an array/, 'deep array at the value path')
  refuse({ key: 'k' }, `{"value": 1, "k": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, /key at "k" must be a non-empty string, got an object/, 'deep object at the key path')
  // 1e400 parses to Infinity, which JSON.stringify wrote as null: the message now says what it is.
  refuse({}, '{"value": 1e400}', /got Infinity/, 'overflowing number')
  t.same(compileJsonPayload({ ...base, points: 'p', value: 'length' })(Buffer.from('{"p": [[7, 8, 9]]}'), RECEIVED_US)[0]!.value, 3, 'own members of arrays still resolve')
})
