// Fuzzing the config loader (schemas/config/load.ts loadConfig): whatever is in the file and
// the environment, the result is ConfigInvalid naming the option (or ConfigUnreadable when
// the file is not YAML at all), or a config that really is valid: plain data passing the
// schema, holding what the file said.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import fc from 'fast-check'
import t from 'tap'
import { parse as parseYaml, stringify as yamlText } from 'yaml'
import { ENV_OVERRIDES } from '../../schemas/config/env.js'
import { loadConfig } from '../../schemas/config/load.js'
import { ConfigSchema } from '../../schemas/config/schema.js'
import { ConfigInvalid, ConfigUnreadable } from '../../schemas/errors.js'
import { repoPath } from '../helpers/repo.js'
import { fuzzParams, mutate, mutationsArb, typedOutcome, type Outcome } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'fieldstream-config-fuzz-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const FILE = join(dir, 'config.yaml')

// A second validator, compiled apart from the loader's and without useDefaults (it must not
// touch the frozen result): the oracle for "a config that loads passes the schema".
const schemaCheck = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(ConfigSchema)

type Env = Record<string, string>

function load (text: string, env: Env = {}): Outcome<ReturnType<typeof loadConfig>> {
  writeFileSync(FILE, text)
  return typedOutcome(() => loadConfig({ file: FILE, env }), [ConfigInvalid, ConfigUnreadable], 'loadConfig')
}

/** Only what JSON can hold: a Set, Map, Buffer or Date from a YAML tag is not config data. */
function assertPlain (v: unknown, at: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return
  if (typeof v === 'number') { if (!Number.isFinite(v)) throw new Error(`${at}: ${v}`); return }
  if (Array.isArray(v)) { v.forEach((x, i) => assertPlain(x, `${at}[${i}]`)); return }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) assertPlain(x, `${at}.${k}`)
    return
  }
  throw new Error(`${at} is a ${(v as object)?.constructor?.name ?? typeof v}, not plain config data`)
}

function assertLoadedValid (cfg: unknown): void {
  assertPlain(cfg, '(config)')
  if (!schemaCheck(cfg)) throw new Error(`a config that loaded fails the schema: ${JSON.stringify(schemaCheck.errors)}`)
  if (!Object.isFrozen(cfg)) throw new Error('the config is not frozen')
}

/** Every line of a ConfigInvalid message names where the problem is. */
function assertDescribed (err: Error): void {
  if (err instanceof ConfigUnreadable) {
    if (!err.message.includes(FILE)) throw new Error(`ConfigUnreadable does not name the file: ${err.message}`)
    return
  }
  const [head, ...lines] = err.message.split('\n')
  if (!head!.startsWith('config error')) throw new Error(`unexpected message: ${err.message}`)
  if (lines.length === 0 && !head!.includes('top level')) throw new Error(`no option named: ${err.message}`)
  for (const line of lines) if (!/^ {2}(line \d+, )?\S.*: \S/.test(line)) throw new Error(`line names no option: ${JSON.stringify(line)}`)
}

// --- valid configs to mutate -----------------------------------------------------------------

const SAMPLES = ['config/demo.yaml', 'config/scale.yaml', 'ingest/modbus/sample.yaml', 'ingest/mqtt/sample.yaml', 'ingest/spool/sample.yaml']
const sampleTexts = SAMPLES.map(f => readFileSync(repoPath(f), 'utf8'))

/** demo.yaml with every collector sample merged in: one config that uses most options. */
const fullConfig = ((): Record<string, unknown> => {
  const demo = parseYaml(sampleTexts[0]!) as Record<string, Record<string, unknown>>
  const collectors: Record<string, unknown> = { ...demo.collectors }
  for (const text of sampleTexts.slice(2)) Object.assign(collectors, (parseYaml(text) as { collectors: object }).collectors)
  return { ...demo, collectors }
})()

type Key = string | number
/** Every path in the tree, containers and leaves, as key lists. */
function paths (v: unknown, at: Key[] = []): Key[][] {
  const here = at.length === 0 ? [] : [at]
  if (Array.isArray(v)) return [...here, ...v.flatMap((x, i) => paths(x, [...at, i]))]
  if (typeof v === 'object' && v !== null) return [...here, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))]
  return here
}
const ALL_PATHS = paths(fullConfig)

/** The loader's way of naming a path: kafka.brokers[0] */
function dotted (keys: readonly Key[]): string {
  return keys.map((k, i) => typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${k}`).join('')
}

/** Whether `loaded` has everything `written` says (defaults may add options to a mapping). */
function holds (loaded: unknown, written: unknown): boolean {
  if (Array.isArray(written)) return Array.isArray(loaded) && loaded.length === written.length && written.every((w, i) => holds(loaded[i], w))
  if (typeof written === 'object' && written !== null) {
    return typeof loaded === 'object' && loaded !== null && !Array.isArray(loaded) && Object.entries(written).every(([k, w]) => holds((loaded as Record<string, unknown>)[k], w))
  }
  return loaded === written
}

function getIn (v: unknown, keys: readonly Key[]): unknown {
  let cur = v
  for (const k of keys) cur = (cur as Record<Key, unknown> | undefined)?.[k]
  return cur
}

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0, 1, 0.5, 65536, 1e300, -1e300, 2 ** 53, '', ' ', 'x', '127.0.0.1:9092', 'postgres://u@h/db', 'mqtt://h:1', 'ms', 'CDAB', 'holdingRegister', true, false, null, [], {}, [null], { zz: 1 }, 'NaN', '1e400', '\u0000', 'a'.repeat(300)),
  fc.jsonValue({ maxDepth: 2 }),
)

type Edit = { kind: 'replace', path: Key[], value: unknown } | { kind: 'delete', path: Key[] } | { kind: 'add', path: Key[], key: string, value: unknown }

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), path: fc.constantFrom(...ALL_PATHS), value: nastyValue }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...ALL_PATHS.filter(p => typeof p.at(-1) === 'string')) }),
  fc.record({ kind: fc.constant('add' as const), path: fc.constantFrom([], ...ALL_PATHS.filter(p => { const v = getIn(fullConfig, p); return typeof v === 'object' && v !== null && !Array.isArray(v) })), key: fc.constantFrom('zz', 'partitons', 'Enabled', 'constructor', '__proto__', 'toString'), value: nastyValue }),
)

function applyEdit (edit: Edit): Record<string, unknown> {
  const doc = structuredClone(fullConfig)
  const parent = getIn(doc, edit.path.slice(0, -1)) as Record<Key, unknown>
  const last = edit.path.at(-1)!
  if (edit.kind === 'replace') parent[last] = structuredClone(edit.value)
  else if (edit.kind === 'delete') delete parent[last]
  else Object.defineProperty(getIn(doc, edit.path), edit.key, { value: structuredClone(edit.value), enumerable: true, writable: true, configurable: true })
  return doc
}

/** The option an edit broke, in the loader's notation. */
function editedOption (edit: Edit): string {
  return dotted(edit.kind === 'add' ? [...edit.path, edit.key] : edit.path)
}

const envArb: fc.Arbitrary<Env> = fc.dictionary(
  fc.constantFrom(...Object.keys(ENV_OVERRIDES)),
  fc.constantFrom('k1:9092,k2:9092', 'k1:9092, ', '9000', '0', '-1', '99999999999999999999', 'postgres://u@db:5432/x', 'mqtt://h:1883', 'x', ' ', 'eighty', 'PLAIN', 'a,b'),
  { maxKeys: 3 },
)

// --- properties ------------------------------------------------------------------------------

t.test('arbitrary text: ConfigInvalid/ConfigUnreadable with a described problem, or a valid config', async t => {
  const yamlish = fc.string({ maxLength: 200, unit: fc.constantFrom('a', 'k', ':', ' ', '\n', '  ', '-', '[', ']', '{', '}', ',', '&a', '*a', '!!', '#', '"', "'", '?', '|', '>', '1', '.', 'kafka', 'brokers', 'api', 'port', '<<', '%', '\t', '\u0000', 'é') })
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), yamlish), text => {
    const r = load(text)
    if (r.ok) assertLoadedValid(r.value)
    else assertDescribed(r.error)
  }), fuzzParams(t, 'arbitrary text', 300))
  t.pass('only typed, described errors; every loaded config valid')
})

t.test('arbitrary YAML documents built from the option names', async t => {
  const keys = fc.constantFrom('kafka', 'brokers', 'topics', 'points', 'api', 'port', 'collectors', 'modbus', 'devices', 'fields', 'mqtt', 'subscriptions', 'payload', 'spool', 'tags', 'rules', 'zz')
  const doc = fc.dictionary(keys, fc.oneof(nastyValue, fc.dictionary(keys, fc.oneof(nastyValue, fc.dictionary(keys, nastyValue, { maxKeys: 3 })), { maxKeys: 4 })), { maxKeys: 4 })
  fc.assert(fc.property(doc, envArb, (d, env) => {
    const r = load(yamlText(d), env)
    if (r.ok) assertLoadedValid(r.value)
    else assertDescribed(r.error)
  }), fuzzParams(t, 'YAML documents', 100))
  t.pass('only typed, described errors; every loaded config valid')
})

t.test('one option of a valid config changed: the error names that option, or the config holds what was written', async t => {
  t.ok(load(yamlText(fullConfig)).ok, 'the unedited config loads')
  const seen = { loaded: 0, refused: 0 }
  fc.assert(fc.property(editArb, edit => {
    const text = yamlText(applyEdit(edit))
    const r = load(text)
    if (!r.ok) {
      seen.refused++
      assertDescribed(r.error)
      if (!(r.error instanceof ConfigInvalid)) throw new Error(`valid YAML refused as unreadable: ${r.error.message}`)
      const option = editedOption(edit)
      if (!r.error.message.includes(`${option}:`) && !r.error.message.includes(`${option}.`) && !r.error.message.includes(`${option}[`)) {
        throw new Error(`the message does not name ${option}: ${r.error.message}`)
      }
      return
    }
    seen.loaded++
    assertLoadedValid(r.value)
    if (edit.kind === 'replace' && !holds(getIn(r.value, edit.path), edit.value)) {
      throw new Error(`${editedOption(edit)} was written as ${JSON.stringify(edit.value)} but loaded as ${JSON.stringify(getIn(r.value, edit.path))}`)
    }
  }), fuzzParams(t, 'edited options', 120))
  t.ok(seen.loaded > 0 && seen.refused > 0, `some edits load, some are refused (${seen.loaded} loaded, ${seen.refused} refused)`)
})

t.test('environment overrides can only fix the options they set', async t => {
  // Whatever the environment sets, an error the file has elsewhere must stay an error.
  const overridden = (env: Env): string[] => Object.entries(env).filter(([, v]) => v.trim() !== '').map(([name]) => dotted(ENV_OVERRIDES[name]!.path.split('/').slice(1)))
  // Half the edits break a section or sub-section an override writes into: the case to watch.
  const prefixes = [...new Set(Object.values(ENV_OVERRIDES).flatMap(o => {
    const keys = o.path.split('/').slice(1)
    return keys.slice(0, -1).map((_k, i) => keys.slice(0, i + 1).join('/'))
  }))].map(p => p.split('/'))
  const sectionEdit: fc.Arbitrary<Edit> = fc.record({ kind: fc.constant('replace' as const), path: fc.constantFrom(...prefixes), value: nastyValue })
  fc.assert(fc.property(fc.oneof(editArb, sectionEdit), envArb, (edit, env) => {
    const text = yamlText(applyEdit(edit))
    const withEnv = load(text, env)
    if (!withEnv.ok) { assertDescribed(withEnv.error); return }
    assertLoadedValid(withEnv.value)
    const withoutEnv = load(text)
    if (withoutEnv.ok) return
    const fixed = overridden(env)
    for (const line of withoutEnv.error.message.split('\n').slice(1)) {
      const option = line.replace(/^ {2}(line \d+, )?/, '')
      if (!fixed.some(p => option.startsWith(`${p}:`) || option.startsWith(`${p}.`) || option.startsWith(`${p}[`))) {
        throw new Error(`with ${JSON.stringify(env)} the config loads, but the file's error is not about an overridden option: ${line}`)
      }
    }
  }), fuzzParams(t, 'environment', 80))
  t.pass('overrides never hide an error elsewhere in the file')
})

t.test('mutated sample files (bytes and YAML features)', async t => {
  const snippet = fc.constantFrom('!!set ', '!!omap ', '!!binary ', '!!timestamp ', '!!float ', '&a ', '*a', '<<: *a\n', ': ', '- ', '"', "'", '{', '[', '#', '\t', '.nan', '.inf', '~', '? ', '|\n', '---\n', '...\n', '%YAML 1.1\n', '0x1F', '0o17', '1_000', 'y', 'no')
  const edited = fc.record({ which: fc.nat({ max: SAMPLES.length - 1 }), line: fc.nat(), col: fc.nat({ max: 40 }), snippet, bytes: fc.option(mutationsArb(), { nil: undefined }) }).map(({ which, line, col, snippet, bytes }) => {
    const lines = sampleTexts[which]!.split('\n')
    const i = line % lines.length
    lines[i] = lines[i]!.slice(0, col) + snippet + lines[i]!.slice(col)
    const text = lines.join('\n')
    return bytes === undefined ? text : mutate(Buffer.from(text), bytes, Buffer.from(sampleTexts[(which + 1) % SAMPLES.length]!)).toString('utf8')
  })
  fc.assert(fc.property(edited, envArb, (text, env) => {
    const r = load(text, env)
    if (r.ok) assertLoadedValid(r.value)
    else assertDescribed(r.error)
  }), fuzzParams(t, 'mutated samples', 150))
  t.pass('only typed, described errors; every loaded config valid')
})

t.test('regressions found by fuzzing', async t => {
  const refused = (text: string, env: Env, expect: { code: string, message: RegExp }, name: string): void => {
    const r = load(text, env)
    t.notOk(r.ok, `${name}: refused`)
    if (!r.ok) t.match(r.error, expect, name)
  }
  // An alias inside its own anchor made a cycle; describing it with JSON.stringify threw a TypeError.
  refused('kafka: &a\n  brokers: [*a]\n', {}, { code: 'FS_CONFIG_INVALID', message: /kafka\.brokers\[0\]: must be string \(got a mapping that contains itself\)/ }, 'self-referencing alias')
  // An alias with no anchor: yaml's toJS threw a ReferenceError.
  refused('*a', {}, { code: 'FS_CONFIG_UNREADABLE', message: /Unresolved alias/ }, 'alias without an anchor')
  // Aliases that expand exponentially ("billion laughs"): yaml's toJS threw a ReferenceError.
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdef'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)].join('\n')
  refused(laughs, {}, { code: 'FS_CONFIG_UNREADABLE', message: /alias/ }, 'exponential aliases')
  // YAML 1.1 tags made a Set or a Map, which the schema saw as an object with no options:
  // the options written under them were silently dropped.
  refused('kafka: !!set {brokers, partitons}\n', {}, { code: 'FS_CONFIG_INVALID', message: /kafka\.partitons: unknown option/ }, '!!set section')
  refused('api: !!omap [port: 99999]\n', {}, { code: 'FS_CONFIG_INVALID', message: /api: must be object/ }, '!!omap section')
  // An environment override replaced a section the file got wrong, hiding the mistake.
  refused('kafka: 5\n', { KAFKA_BROKERS: 'k1:9092' }, { code: 'FS_CONFIG_INVALID', message: /kafka: must be object \(got 5\)/ }, 'override under a scalar section')
  // A mapping used as a key became a many-line "unknown option" (and a process warning).
  refused('collectors:\n  modbus:\n? { fields: [a] }\n: 1\n', {}, { code: 'FS_CONFIG_INVALID', message: /line 3: a key must be a name, not a mapping/ }, 'mapping as a key')
  // .nan was reported as "(got null)".
  refused('workers:\n  flushMB: .nan\n', {}, { code: 'FS_CONFIG_INVALID', message: /workers\.flushMB: must be .* \(got NaN\)/ }, 'NaN named as such')
  t.equal(loadConfig({ env: { KAFKA_BROKERS: 'k1:9092' } }).kafka.brokers[0], 'k1:9092', 'overrides still create absent sections')
})
