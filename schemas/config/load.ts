// Load, validate and freeze the config: YAML file -> env overrides -> JSON Schema check.
// Nothing connects anywhere before this has passed.
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { isCollection, isMap, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml'
import { ConfigInvalid, ConfigUnreadable } from '../errors.js'
import { CONFIG_FILE_ENV, ENV_OVERRIDES } from './env.js'
import { ConfigSchema, type Config } from './schema.js'

export interface LoadOptions {
  /** Config file; falls back to $FIELDSTREAM_CONFIG; none means defaults plus environment. */
  file?: string | undefined
  env?: NodeJS.ProcessEnv
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, allowUnionTypes: true })
const validate = ajv.compile(ConfigSchema)

export function loadConfig (options: LoadOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env
  const file = options.file ?? nonEmpty(env[CONFIG_FILE_ENV])
  const source = file === undefined ? undefined : readYaml(file)
  const raw: unknown = source === undefined ? {} : (toJS(source.doc, file!) ?? {})
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigInvalid(`config error in ${file}: the top level must be a mapping of sections (kafka, database, ...)`)
  }
  const fromEnv = applyEnv(raw as Record<string, unknown>, env)
  if (!validate(raw)) {
    const lines = (validate.errors ?? []).map(e => describe(e, file, source, fromEnv))
    throw new ConfigInvalid(`config error${file === undefined ? '' : ` in ${file}`}:\n  ${[...new Set(lines)].join('\n  ')}`)
  }
  return deepFreeze(raw as Config)
}

interface YamlSource { doc: Document, lines: LineCounter }

function readYaml (file: string): YamlSource {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigUnreadable(`cannot read config file ${file}: ${(err as Error).message}`)
  }
  const lines = new LineCounter()
  // resolveKnownTags off: YAML 1.1 tags (!!set, !!omap, !!binary, !!timestamp) would make a Set,
  // Map, Buffer or Date, which the schema cannot see into; untagged, they stay plain data.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, resolveKnownTags: false })
  const first = doc.errors[0]
  if (first !== undefined) {
    const at = lines.linePos(first.pos[0])
    throw new ConfigUnreadable(`config file ${file}:${at.line}:${at.col} is not valid YAML: ${first.message.split('\n')[0]}`)
  }
  // A list or mapping as a key (`? [a, b]: 1`) would become its text as an option name, many
  // lines long; no option is named like that.
  visit(doc, {
    Pair (_key, pair) {
      if (!isCollection(pair.key)) return
      const at = lines.linePos(pair.key.range?.[0] ?? 0)
      throw new ConfigInvalid(`config error in ${file}:\n  line ${at.line}: a key must be a name, not a ${isMap(pair.key) ? 'mapping' : 'list'}`)
    },
  })
  return { doc, lines }
}

/** The document as plain data; yaml throws (not a doc error) on an alias with no anchor or too many aliases. */
function toJS (doc: Document, file: string): unknown {
  try {
    return doc.toJS()
  } catch (err) {
    throw new ConfigUnreadable(`config file ${file} cannot be read as data: ${(err as Error).message}`, { cause: err })
  }
}

/** Write env overrides into the raw config; returns pointer -> variable name for error messages. */
function applyEnv (raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const applied = new Map<string, string>()
  for (const [name, override] of Object.entries(ENV_OVERRIDES)) {
    const value = nonEmpty(env[name])
    if (value === undefined) continue
    const keys = override.path.split('/').slice(1)
    let node = raw
    let reachable = true
    for (const key of keys.slice(0, -1)) {
      const next = node[key]
      if (next === undefined) node[key] = {}
      // The file has something else there: leave it for the schema to report, rather than
      // replace the file's mistake with the override.
      else if (typeof next !== 'object' || next === null || Array.isArray(next)) { reachable = false; break }
      node = node[key] as Record<string, unknown>
    }
    if (!reachable) continue
    node[keys.at(-1)!] = override.parse(value)
    applied.set(override.path, name)
  }
  return applied
}

function describe (e: ErrorObject, file: string | undefined, source: YamlSource | undefined, fromEnv: Map<string, string>): string {
  let pointer = e.instancePath
  let problem = e.message ?? 'is invalid'
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty)
    pointer = `${pointer}/${key}`
    problem = `unknown option "${key}"${allowedKeys(e.parentSchema)}`
  } else if (e.keyword === 'required') {
    pointer = `${pointer}/${String((e.params as { missingProperty: string }).missingProperty)}`
    problem = 'is required'
  } else if (e.keyword === 'pattern') {
    const description = (e.parentSchema as { description?: string } | undefined)?.description
    problem = `must look like ${description ?? `/${String((e.params as { pattern: string }).pattern)}/`}`
  }
  const got = e.keyword === 'additionalProperties' || e.keyword === 'required' ? '' : ` (got ${shown(e.data)})`
  const path = dotted(pointer)
  const envName = [...fromEnv].find(([p]) => pointer === p || pointer.startsWith(`${p}/`))?.[1]
  if (envName !== undefined) return `${path}: ${problem}${got} [from environment variable ${envName}]`
  const where = source === undefined ? '' : lineOf(source, pointer)
  return `${where}${path}: ${problem}${got}`
}

/**
 * The offending value for a message. YAML can say what JSON cannot: .nan and .inf (JSON would
 * write null), and an alias inside its own anchor (a cycle JSON.stringify throws on).
 */
function shown (value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Array.isArray(value) ? 'a list that contains itself' : 'a mapping that contains itself'
  }
}

function allowedKeys (schema: unknown): string {
  const keys = Object.keys((schema as { properties?: object } | undefined)?.properties ?? {})
  return keys.length === 0 ? '' : ` (expected one of: ${keys.join(', ')})`
}

/** "/kafka/brokers/0" -> "kafka.brokers[0]" */
function dotted (pointer: string): string {
  const parts = pointer.split('/').slice(1)
  if (parts.length === 0) return '(top level)'
  return parts.map((p, i) => /^[0-9]+$/.test(p) ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`).join('')
}

/** "line 12: " for the deepest YAML node that exists on the pointer's path. */
function lineOf (source: YamlSource, pointer: string): string {
  const keys = pointer.split('/').slice(1).map(k => (/^[0-9]+$/.test(k) ? Number(k) : k))
  for (let depth = keys.length; depth > 0; depth--) {
    const node = source.doc.getIn(keys.slice(0, depth), true) as { range?: [number, number, number] } | undefined
    if (node?.range !== undefined) return `line ${source.lines.linePos(node.range[0]).line}, `
    const parent = depth > 1 ? source.doc.getIn(keys.slice(0, depth - 1), true) : source.doc.contents
    if (isMap(parent)) {
      const pair = parent.items.find(item => (item.key as { value?: unknown } | null)?.value === keys[depth - 1])
      const range = (pair?.key as { range?: [number, number, number] } | null)?.range
      if (range !== undefined) return `line ${source.lines.linePos(range[0]).line}, `
    } else if (isSeq(parent)) continue
  }
  return ''
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
