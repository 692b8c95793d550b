// Checks a Modbus collector config once, before anything connects, and resolves it into
// what the pollers run: per-device fields with compiled decoders, and the gateways
// (one TCP address or serial line each) that the devices share.
import { Ajv, type ErrorObject } from 'ajv'
import { ConfigInvalid } from '../../schemas/errors.js'
import { checkTagName } from '../../schemas/points.js'
import { ModbusCollectorSchema, type FieldType, type ModbusCollectorConfig, type ModbusDeviceConfig, type SerialConfig } from '../../schemas/config/modbus.js'
import { isBitTable, MAX_DATA_ADDRESS, type ModbusTable } from '../../schemas/modbus/function-codes.js'
import { compileRegisterDecoder, registerWidth, type RegisterDecoder } from './decode.js'

export const SECTION = 'collectors.modbus'

export interface ResolvedField {
  name: string
  tag: string
  table: ModbusTable
  address: number
  type: FieldType
  /** Registers, or bits for coils and discrete inputs. */
  width: number
  /** Undefined for bit tables (their replies are already booleans). */
  decode: RegisterDecoder | undefined
  scale: number
  offset: number
  deadband: number
}

export interface GatewaySpec {
  /** "tcp:host:port" or "rtu:/dev/ttyX": devices with the same key share one connection and one queue. */
  key: string
  host: string
  port: number
  serial: SerialConfig | undefined
  connectTimeoutMs: number
  /** The largest of its devices': the slowest device after connect decides. */
  pauseAfterConnectMs: number
}

export interface ResolvedDevice {
  /** Position in collectors.modbus.devices, for messages. */
  index: number
  cfg: ModbusDeviceConfig
  gateway: GatewaySpec
  fields: ResolvedField[]
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true })
// The section's own `default: {}` serves the whole-file schema; Ajv (strict) refuses a default at the root.
const validateSection = ajv.compile<ModbusCollectorConfig>({ ...ModbusCollectorSchema, default: undefined })

/**
 * Validate a raw `collectors.modbus` section (defaults filled in) for callers that do not go
 * through schemas/config/load.ts: tests and benchmarks. Returns it frozen; throws ConfigInvalid
 * listing every problem.
 */
export function loadModbusConfig (raw: unknown): ModbusCollectorConfig {
  const copy: unknown = structuredClone(raw ?? {})
  if (!validateSection(copy)) {
    const lines = (validateSection.errors ?? []).map(e => describeSchemaError(e, copy))
    throw new ConfigInvalid(`config error:\n  ${[...new Set(lines)].join('\n  ')}`)
  }
  resolveModbusConfig(copy)
  return deepFreeze(copy)
}

/** Cross-option checks and resolution. Throws ConfigInvalid naming the option and the device. */
export function resolveModbusConfig (cfg: ModbusCollectorConfig): ResolvedDevice[] {
  const problems: string[] = []
  const byName = new Map<string, number>()
  const byTag = new Map<string, string>()
  const gateways = new Map<string, { spec: GatewaySpec, owner: ModbusDeviceConfig }>()
  const devices: ResolvedDevice[] = []

  cfg.devices.forEach((d, index) => {
    const at = `${SECTION}.devices[${index}]`
    const problem = (path: string, text: string): void => { problems.push(`${at}${path} ${text} (device ${d.name})`) }

    const nameProblem = checkTagName(d.name)
    if (nameProblem !== undefined) problem('.name', nameProblem.replace('tag name', 'must be usable as a tag name:'))
    const first = byName.get(d.name)
    if (first !== undefined) problem('.name', `is already used by ${SECTION}.devices[${first}]`)
    else byName.set(d.name, index)

    if ((d.address === undefined) === (d.serial === undefined)) problem('', 'needs exactly one of address (Modbus TCP) and serial (Modbus RTU)')
    if (d.unitId === 0) problem('.unitId', 'must not be 0: unit 0 is broadcast and never replies')
    if (d.retryBackoffMaxMs < d.retryBackoffMs) problem('.retryBackoffMaxMs', `must be >= retryBackoffMs (${d.retryBackoffMs})`)

    const fields: ResolvedField[] = []
    d.fields.forEach((f, j) => {
      const fat = `.fields[${j}]`
      const bits = isBitTable(f.table)
      const type: FieldType = f.type ?? (bits ? 'bool' : 'uint16')
      if (bits && type !== 'bool') problem(`${fat}.type`, `must be bool for table ${f.table} (got ${type})`)
      if (f.bit !== undefined && (bits || type !== 'bool')) problem(`${fat}.bit`, 'is only allowed for type bool in a register table')
      if (type === 'bool' && f.deadband !== 0) problem(`${fat}.deadband`, 'must be 0 for type bool: every change of a bool matters')
      const width = bits ? 1 : registerWidth(type)
      if (f.address + width - 1 > MAX_DATA_ADDRESS) problem(`${fat}.address`, `${f.address} + ${width} registers runs past ${MAX_DATA_ADDRESS}`)
      const tag = f.tag ?? `${d.name}/${f.name}`
      const tagProblem = checkTagName(tag)
      if (tagProblem !== undefined) problem(`${fat}.${f.tag === undefined ? 'name' : 'tag'}`, `gives an unusable tag ${JSON.stringify(tag)}: ${tagProblem}`)
      const owner = byTag.get(tag)
      if (owner !== undefined) problem(`${fat}`, `tag ${JSON.stringify(tag)} is already produced by ${owner}`)
      else byTag.set(tag, `${at}${fat}`)
      fields.push({
        name: f.name,
        tag,
        table: f.table,
        address: f.address,
        type,
        width,
        decode: bits ? undefined : compileRegisterDecoder(type, f.byteOrder, f.bit),
        scale: f.scale,
        offset: f.offset,
        deadband: f.deadband,
      })
    })

    const spec = gatewayOf(d)
    if (spec === undefined) return
    const shared = gateways.get(spec.key)
    if (shared === undefined) {
      gateways.set(spec.key, { spec, owner: d })
    } else {
      if (JSON.stringify(shared.spec.serial) !== JSON.stringify(spec.serial)) {
        problem('.serial', `differs from device ${shared.owner.name} on the same serial line ${spec.serial?.path}: one line has one speed and framing`)
      }
      shared.spec.pauseAfterConnectMs = Math.max(shared.spec.pauseAfterConnectMs, spec.pauseAfterConnectMs)
      shared.spec.connectTimeoutMs = Math.max(shared.spec.connectTimeoutMs, spec.connectTimeoutMs)
    }
    devices.push({ index, cfg: d, gateway: gateways.get(spec.key)!.spec, fields })
  })

  if (problems.length > 0) throw new ConfigInvalid(`config error:\n  ${problems.join('\n  ')}`)
  return devices
}

function gatewayOf (d: ModbusDeviceConfig): GatewaySpec | undefined {
  const common = { connectTimeoutMs: d.connectTimeoutMs, pauseAfterConnectMs: d.pauseAfterConnectMs }
  if (d.address !== undefined) {
    const colon = d.address.lastIndexOf(':')
    const host = d.address.slice(0, colon)
    const port = Number(d.address.slice(colon + 1))
    return { key: `tcp:${host}:${port}`, host, port, serial: undefined, ...common }
  }
  if (d.serial !== undefined) return { key: `rtu:${d.serial.path}`, host: '', port: 0, serial: { ...d.serial }, ...common }
  return undefined
}

/** "/devices/2/timeoutMs" -> "collectors.modbus.devices[2].timeoutMs must be > 0 (got 0) (device pump-3)" */
function describeSchemaError (e: ErrorObject, data: unknown): string {
  let pointer = e.instancePath
  let problem = e.message ?? 'is invalid'
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty)
    pointer = `${pointer}/${key}`
    problem = `is an unknown option "${key}"`
  } else if (e.keyword === 'required') {
    pointer = `${pointer}/${String((e.params as { missingProperty: string }).missingProperty)}`
    problem = 'is required'
  } else if (e.keyword === 'enum') {
    problem = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
  }
  const parts = pointer.split('/').slice(1)
  const path = SECTION + parts.map(p => (/^[0-9]+$/.test(p) ? `[${p}]` : `.${p}`)).join('')
  const value = valueAt(data, parts)
  const got = e.keyword === 'additionalProperties' || e.keyword === 'required' ? '' : ` (got ${JSON.stringify(value)})`
  const device = parts[0] === 'devices' && parts[1] !== undefined ? deviceName(data, Number(parts[1])) : undefined
  return `${path} ${problem}${got}${device === undefined ? '' : ` (device ${device})`}`
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

function valueAt (data: unknown, parts: string[]): unknown {
  let node = data
  for (const p of parts) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[p] : undefined
  return node
}

function deviceName (data: unknown, index: number): string | undefined {
  const name = valueAt(data, ['devices', String(index), 'name'])
  return typeof name === 'string' ? name : undefined
}
