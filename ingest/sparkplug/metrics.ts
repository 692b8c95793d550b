// Birth metric definitions and the value of a Sparkplug metric as fieldstream stores it.
import { DATATYPES, dataTypeName } from '../../schemas/sparkplug/datatypes.js'
import { has, toNumber, toSignedNumber, type RawMetric } from './decode.js'

export interface MetricDef {
  name: string
  tag: string
  datatype: number
  /** Last value seen: re-emitted with bad quality when the node or device dies. */
  last: number | boolean
}

/** The metrics of one node or device session: by alias and by name. */
export class MetricTable {
  readonly byAlias = new Map<number, MetricDef>()
  readonly byName = new Map<string, MetricDef>()

  add (def: MetricDef, alias: number | undefined): void {
    this.byName.set(def.name, def)
    if (alias !== undefined) this.byAlias.set(alias, def)
  }

  /** Resolve a DATA metric: by alias when it has one, else by name. */
  resolve (m: RawMetric): MetricDef | undefined {
    if (has(m, 'alias')) return this.byAlias.get(toNumber(m.alias!))
    return m.name == null ? undefined : this.byName.get(m.name)
  }
}

export type MetricValue =
  | { ok: true, value: number | boolean }
  | { ok: false, reason: string }

/** The value of `m`, read as `datatype` (from the birth when the DATA metric omits it). */
export function metricValue (m: RawMetric, datatype: number): MetricValue {
  const info = DATATYPES.get(datatype)
  if (info === undefined || info.stored === 'unsupported') return { ok: false, reason: `datatype ${dataTypeName(datatype)} is not stored` }
  switch (datatype) {
    // Signed small ints travel two's complement in a uint32; sign-extend from their own width
    // so both 8-bit and 32-bit encodings of -5 read as -5.
    case 1: return number((m.intValue ?? 0) << 24 >> 24)
    case 2: return number((m.intValue ?? 0) << 16 >> 16)
    case 3: return number((m.intValue ?? 0) | 0)
    case 4: return has(m, 'longValue') ? number(toSignedNumber(m.longValue!)) : missing(info.name)
    case 5: case 6: return number(m.intValue ?? 0)
    case 7: return has(m, 'intValue') ? number(m.intValue! >>> 0) : has(m, 'longValue') ? number(toNumber(m.longValue!)) : missing(info.name)
    case 8: case 13: return has(m, 'longValue') ? number(toNumber(m.longValue!)) : missing(info.name)
    case 9: return has(m, 'floatValue') ? number(m.floatValue!) : missing(info.name)
    case 10: return has(m, 'doubleValue') ? number(m.doubleValue!) : missing(info.name)
    case 11: return has(m, 'booleanValue') ? { ok: true, value: m.booleanValue! } : missing(info.name)
    default: return { ok: false, reason: `datatype ${info.name} is not stored` }
  }
}

function number (value: number): MetricValue {
  return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: `value ${value} is not finite` }
}

function missing (type: string): MetricValue {
  return { ok: false, reason: `no ${type} value in the metric` }
}

/** Node Control/* and bdSeq are session plumbing, not process values. */
export function isControlMetric (name: string): boolean {
  return name === 'bdSeq' || name.startsWith('Node Control/') || name.startsWith('Device Control/')
}
