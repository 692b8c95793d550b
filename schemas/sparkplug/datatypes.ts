// Sparkplug B metric datatypes (Sparkplug 3.0, section 6.4.16 "DataType Details") and how
// fieldstream stores each: as a number, as a boolean, or not at all (with the reason).

/** Which protobuf field of a Metric carries the value (spec 6.4.16). */
export type ValueField = 'intValue' | 'longValue' | 'floatValue' | 'doubleValue' | 'booleanValue' | 'stringValue' | 'bytesValue' | 'datasetValue' | 'templateValue'

export interface DataTypeInfo {
  code: number
  name: string
  /** number / boolean are stored; unsupported ones are counted and skipped. */
  stored: 'number' | 'boolean' | 'unsupported'
  field: ValueField
}

const table: readonly DataTypeInfo[] = [
  { code: 1, name: 'Int8', stored: 'number', field: 'intValue' },
  { code: 2, name: 'Int16', stored: 'number', field: 'intValue' },
  { code: 3, name: 'Int32', stored: 'number', field: 'intValue' },
  { code: 4, name: 'Int64', stored: 'number', field: 'longValue' },
  { code: 5, name: 'UInt8', stored: 'number', field: 'intValue' },
  { code: 6, name: 'UInt16', stored: 'number', field: 'intValue' },
  // The spec puts UInt32 in intValue; Tahu's JavaScript codec writes longValue. Both are read.
  { code: 7, name: 'UInt32', stored: 'number', field: 'intValue' },
  { code: 8, name: 'UInt64', stored: 'number', field: 'longValue' },
  { code: 9, name: 'Float', stored: 'number', field: 'floatValue' },
  { code: 10, name: 'Double', stored: 'number', field: 'doubleValue' },
  { code: 11, name: 'Boolean', stored: 'boolean', field: 'booleanValue' },
  { code: 12, name: 'String', stored: 'unsupported', field: 'stringValue' },
  // Milliseconds since the epoch: stored as a number (ms), like the counters it often stamps.
  { code: 13, name: 'DateTime', stored: 'number', field: 'longValue' },
  { code: 14, name: 'Text', stored: 'unsupported', field: 'stringValue' },
  { code: 15, name: 'UUID', stored: 'unsupported', field: 'stringValue' },
  { code: 16, name: 'DataSet', stored: 'unsupported', field: 'datasetValue' },
  { code: 17, name: 'Bytes', stored: 'unsupported', field: 'bytesValue' },
  { code: 18, name: 'File', stored: 'unsupported', field: 'bytesValue' },
  { code: 19, name: 'Template', stored: 'unsupported', field: 'templateValue' },
]

export const DATATYPES: ReadonlyMap<number, DataTypeInfo> = new Map(table.map(t => [t.code, t]))

export function dataTypeName (code: number | undefined | null): string {
  return code == null ? 'none' : (DATATYPES.get(code)?.name ?? `unknown(${code})`)
}
