// Config of the Modbus collector (section `collectors.modbus`). Owned by ingest/modbus.
// JSON Schema checks shape and ranges here; ingest/modbus/config.ts checks what spans
// options (transport present, register ranges, gateways shared consistently) once at start.
import { Type, type Static, type TInteger, type TUnsafe } from '@sinclair/typebox'

/** A string enum as a plain JSON Schema `enum`, so a mistake reads "must be equal to one of the allowed values". */
function StringEnum<const T extends readonly string[]> (values: T, options: { default?: T[number], description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

export const FIELD_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float32', 'float64'] as const
export type FieldType = (typeof FIELD_TYPES)[number]

/**
 * Byte order of a multi-register value, written as the order of the bytes of a 32-bit value
 * on the wire, A being the most significant: ABCD big-endian (Modbus default), CDAB word-swapped
 * (most PLCs' "little-endian" floats), BADC byte-swapped, DCBA little-endian. 16-bit values use
 * the first half (AB or BA); 64-bit values extend the pattern (CDAB -> GHEFCDAB).
 */
export const BYTE_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const
export type ByteOrder = (typeof BYTE_ORDERS)[number]

export const TABLES = ['coil', 'discreteInput', 'holdingRegister', 'inputRegister'] as const

const HostPort = Type.String({ pattern: '^[^\\s:/]+:[0-9]{1,5}$', description: 'host:port' })
/** A duration in ms: > 0, or >= 0 where 0 means "off". At most an hour: more is a unit mistake. */
const Ms = (def: number, min: 'positive' | 'zero' = 'positive'): TInteger =>
  Type.Integer({ ...(min === 'positive' ? { exclusiveMinimum: 0 } : { minimum: 0 }), maximum: 3_600_000, default: def })

export const ModbusFieldSchema = Type.Object({
  /** Field name; the tag is `<device name>/<name>` unless `tag` is set. Required. */
  name: Type.String({ minLength: 1 }),
  /** Full tag name, overriding `<device name>/<name>`. Default: unset. */
  tag: Type.Optional(Type.String({ minLength: 1 })),
  /** Data table the field lives in. Default holdingRegister. */
  table: StringEnum(TABLES, { default: 'holdingRegister' }),
  /** Wire (0-based) data address of the first register or bit. Required. */
  address: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** Value type. Default: bool for coils and discrete inputs, uint16 for registers. */
  type: Type.Optional(StringEnum(FIELD_TYPES)),
  /** For type bool in a register: the bit (0 = least significant). Default: unset (register != 0). */
  bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
  /** Byte and word order of the raw value (see BYTE_ORDERS). Default ABCD. */
  byteOrder: StringEnum(BYTE_ORDERS, { default: 'ABCD' }),
  /** Engineering value = raw * scale + offset. Default 1. */
  scale: Type.Number({ default: 1 }),
  /** Added after scaling, in engineering units. Default 0. */
  offset: Type.Number({ default: 0 }),
  /** Engineering unit, for documentation and the tag registry (e.g. "bar", "m3/h"). Default "". */
  unit: Type.String({ default: '' }),
  /** A good value within this distance (engineering units) of the last one sent is not sent again. 0 sends every poll. Default 0. */
  deadband: Type.Number({ minimum: 0, default: 0 }),
}, { additionalProperties: false })

export const SerialSchema = Type.Object({
  /** Serial device, e.g. /dev/ttyUSB0. Required. */
  path: Type.String({ minLength: 1 }),
  /** Bits per second. Default 9600. */
  baudRate: Type.Integer({ minimum: 300, maximum: 921_600, default: 9600 }),
  /** Default none. */
  parity: StringEnum(['none', 'even', 'odd'] as const, { default: 'none' }),
  /** Default 8. */
  dataBits: Type.Integer({ minimum: 7, maximum: 8, default: 8 }),
  /** Default 1. */
  stopBits: Type.Integer({ minimum: 1, maximum: 2, default: 1 }),
}, { additionalProperties: false })

export const ModbusDeviceSchema = Type.Object({
  /** Device name: the batch source (Kafka key) and the default tag prefix. Required, unique. */
  name: Type.String({ minLength: 1 }),
  /** Modbus TCP: host:port of the device or gateway. Exactly one of address and serial is required. */
  address: Type.Optional(HostPort),
  /** Modbus RTU: the serial line. Exactly one of address and serial is required. */
  serial: Type.Optional(SerialSchema),
  /** Unit id (slave address); several units may share one address or serial line. Default 1. */
  unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
  /** Time between poll starts, ms. Default 1000. */
  pollIntervalMs: Ms(1000),
  /** Reply timeout of one request, ms. Default 1000. */
  timeoutMs: Ms(1000),
  /** Time allowed to open the TCP connection or serial port, ms. Default 3000. */
  connectTimeoutMs: Ms(3000),
  /** Extra attempts of a request that timed out or lost its connection (only while the device was answering). Default 2. */
  retries: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  /** First retry delay, ms; doubles per attempt. Default 100. */
  retryBackoffMs: Ms(100, 'zero'),
  /** Cap of the retry delay, ms. Default 2000. */
  retryBackoffMaxMs: Ms(2000, 'zero'),
  /** Registers per read request (FC 3/4), at most 125. Default 125. */
  maxRegistersPerRequest: Type.Integer({ minimum: 1, maximum: 125, default: 125 }),
  /** Bits per read request (FC 1/2), at most 2000. Default 2000. */
  maxBitsPerRequest: Type.Integer({ minimum: 1, maximum: 2000, default: 2000 }),
  /** Unmapped registers a block read may span to join two fields. 0 joins only adjacent fields (safe on devices with holes in their map). Default 0. */
  maxGapRegisters: Type.Integer({ minimum: 0, maximum: 124, default: 0 }),
  /** Unmapped bits a block read may span. Default 0. */
  maxGapBits: Type.Integer({ minimum: 0, maximum: 1999, default: 0 }),
  /** Workaround: wait after opening the connection before the first request, ms (gateways that drop early requests). Default 0. */
  pauseAfterConnectMs: Ms(0, 'zero'),
  /** Workaround: quiet time on the line after each reply before the next request, ms (slow RTU devices, telegraf #9253). Default 0. */
  pauseBetweenRequestsMs: Ms(0, 'zero'),
  /** Workaround: close the connection after each poll (devices that allow one short session). Default false. */
  closeAfterPoll: Type.Boolean({ default: false }),
  /** Workaround: one request per field, no block reads (devices that refuse reads across fields). Default false. */
  requestPerField: Type.Boolean({ default: false }),
  /** A value held back by its deadband is still sent when the last one sent is this old, ms. Default 60000. */
  deadbandHeartbeatMs: Ms(60_000),
  /** Register map. Required, at least one field. */
  fields: Type.Array(ModbusFieldSchema, { minItems: 1 }),
}, { additionalProperties: false })

export const ModbusCollectorSchema = Type.Object({
  /** Devices to poll. Default none. */
  devices: Type.Array(ModbusDeviceSchema, { default: [] }),
}, { additionalProperties: false, default: {} })

export type ModbusCollectorConfig = Static<typeof ModbusCollectorSchema>
export type ModbusDeviceConfig = Static<typeof ModbusDeviceSchema>
export type ModbusFieldConfig = Static<typeof ModbusFieldSchema>
export type SerialConfig = Static<typeof SerialSchema>
