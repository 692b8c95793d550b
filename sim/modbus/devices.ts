// Simulated well-pad devices: each kind is a register map plus the physics behind it. A device
// recomputes its registers lazily when read (at most once per tick), so hundreds of devices in
// one process cost nothing while nobody polls them.
import type { ByteOrder, FieldType, ModbusDeviceConfig } from '../../schemas/config/modbus.js'
import { ExceptionCode } from '../../schemas/modbus/exception-codes.js'
import { encodeRegisters, widthOf } from './encode.js'
import { applyFault, type ActiveFault } from './faults.js'
import { fillDraw, noise, seededRandom, swing } from './signals.js'

export const DEVICE_KINDS = ['pump', 'tank', 'flowMeter', 'rtu'] as const
export type DeviceKind = (typeof DEVICE_KINDS)[number]

type Table = 'coil' | 'discreteInput' | 'holdingRegister' | 'inputRegister'

interface Ctx { tMs: number, dtMs: number, v: Record<string, number>, random: () => number }

export interface SimField {
  name: string
  table: Table
  address: number
  type: FieldType
  byteOrder: ByteOrder
  /** Engineering value = raw * scale (as the collector config says). */
  scale: number
  unit: string
  /** Typical span of the value, engineering units: the default fault magnitude is a fifth of it. */
  span: number
  compute: (c: Ctx) => number
}

const UINT32 = 2 ** 32

export interface DeviceOptions {
  name: string
  kind: DeviceKind
  unitId: number
  /** Varies phases, noise and word orders between devices. */
  index: number
  seed: number
  /** rtu: analog channels. */
  channels: number
  /** flowMeter: totalizer start, counts (to watch it roll over soon). */
  totalizerStart: number
  /** Registers are recomputed at most this often, ms. */
  tickMs: number
}

export class SimDevice {
  readonly name: string
  readonly kind: DeviceKind
  readonly unitId: number
  readonly fields: readonly SimField[]
  readonly faults: ActiveFault[] = []
  readonly #tables: Record<Table, Uint16Array>
  readonly #random: () => number
  readonly #tickMs: number
  readonly #values: Record<string, number> = {}
  #lastMs = -1

  constructor (o: DeviceOptions) {
    this.name = o.name
    this.kind = o.kind
    this.unitId = o.unitId
    this.#random = seededRandom(o.seed * 7919 + o.index)
    this.#tickMs = o.tickMs
    this.fields = fieldsOf(o)
    const size = (t: Table): number => Math.max(0, ...this.fields.filter(f => f.table === t).map(f => f.address + widthOf(f.type)))
    // Tables end where the map ends: a read past them is exception 2, as on a real device.
    this.#tables = { coil: new Uint16Array(size('coil')), discreteInput: new Uint16Array(size('discreteInput')), holdingRegister: new Uint16Array(size('holdingRegister')), inputRegister: new Uint16Array(size('inputRegister')) }
  }

  /** The device stops answering (a dropout fault is active). */
  isDroppedOut (tMs: number): boolean {
    const tUs = tMs * 1000
    return this.faults.some(f => f.kind === 'dropout' && f.startUs <= tUs && tUs < f.endUs)
  }

  /** Registers or bits (as 0/1) `address..address+count-1` of a table, or a Modbus exception code. */
  read (table: Table, address: number, count: number, tMs: number): number[] | number {
    this.#refresh(tMs)
    const data = this.#tables[table]
    if (count < 1 || address + count > data.length) return ExceptionCode.illegalDataAddress
    return Array.from(data.subarray(address, address + count))
  }

  /** This device's entry for the collector config (collectors.modbus.devices[]). */
  collectorEntry (address: string, pollIntervalMs: number, timeoutMs: number): Partial<ModbusDeviceConfig> & Pick<ModbusDeviceConfig, 'name' | 'fields'> {
    return {
      name: this.name,
      address,
      unitId: this.unitId,
      pollIntervalMs,
      timeoutMs,
      fields: this.fields.map(f => ({
        name: f.name, table: f.table, address: f.address, type: f.type, byteOrder: f.byteOrder, scale: f.scale, offset: 0, unit: f.unit, deadband: 0,
      })),
    }
  }

  #refresh (tMs: number): void {
    if (this.#lastMs >= 0 && tMs - this.#lastMs < this.#tickMs) return
    const ctx: Ctx = { tMs, dtMs: this.#lastMs < 0 ? 0 : tMs - this.#lastMs, v: this.#values, random: this.#random }
    this.#lastMs = tMs
    for (const f of this.fields) this.#values[f.name] = f.compute(ctx)
    const tUs = tMs * 1000
    for (const f of this.fields) {
      let value = this.#values[f.name]!
      for (const fault of this.faults) {
        if (fault.field === f.name && fault.startUs <= tUs && tUs < fault.endUs) value = applyFault(fault, value, tUs)
      }
      // Bit tables hold one bit per address; only registers have a layout.
      if (f.table === 'coil' || f.table === 'discreteInput') this.#tables[f.table][f.address] = value !== 0 ? 1 : 0
      else encodeRegisters(f.type === 'bool' ? value : value / f.scale, f.type, f.byteOrder, this.#tables[f.table], f.address)
    }
  }
}

const ORDERS: readonly ByteOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA']

function fieldsOf (o: DeviceOptions): SimField[] {
  const phase = o.index * 1.7
  // Word orders differ between devices of a pad, as they do between vendors.
  const order = ORDERS[o.index % ORDERS.length]!
  const f = (name: string, table: Table, address: number, type: FieldType, scale: number, unit: string, span: number, compute: (c: Ctx) => number, byteOrder: ByteOrder = order): SimField =>
    ({ name, table, address, type, byteOrder, scale, unit, span, compute })
  switch (o.kind) {
    case 'pump': return [
      f('speed', 'holdingRegister', 0, 'float32', 1, 'rpm', 300, c => swing(c.tMs, 1450, 120, 600_000, phase) + noise(c.random, 4)),
      // Pump affinity: head grows with the square of speed.
      f('discharge_pressure', 'holdingRegister', 2, 'float32', 1, 'bar', 10, c => 42 * (c.v.speed! / 1450) ** 2 + noise(c.random, 0.15)),
      f('motor_temp', 'holdingRegister', 4, 'int16', 0.1, 'degC', 20, c => swing(c.tMs, 65, 6, 1_800_000, phase) + noise(c.random, 0.3)),
      f('running', 'coil', 0, 'bool', 1, '', 1, c => (c.v.speed! > 100 ? 1 : 0)),
    ]
    case 'tank': return [
      f('level', 'holdingRegister', 0, 'uint16', 0.001, 'm', 4, c => fillDraw(c.tMs, 1.2, 7.8, 3_600_000, phase) + noise(c.random, 0.005)),
      f('temperature', 'holdingRegister', 1, 'int16', 0.1, 'degC', 10, c => swing(c.tMs, 18, 5, 86_400_000, phase) + noise(c.random, 0.1)),
      f('high_level', 'discreteInput', 0, 'bool', 1, '', 1, c => (c.v.level! > 7.5 ? 1 : 0)),
    ]
    case 'flowMeter': {
      let counts = o.totalizerStart
      return [
        f('rate', 'inputRegister', 0, 'float32', 1, 'm3/h', 15, c => Math.max(0, swing(c.tMs, 32, 8, 900_000, phase) + noise(c.random, 0.4))),
        // uint32 counter of 0.001 m3: integrates the rate and rolls over at 2^32 like the meter's.
        f('total', 'inputRegister', 2, 'uint32', 0.001, 'm3', 1, c => {
          counts = (counts + (c.v.rate! * c.dtMs) / 3600) % UINT32
          return Math.floor(counts) * 0.001
        }, 'CDAB'),
        f('flowing', 'discreteInput', 0, 'bool', 1, '', 1, c => (c.v.rate! > 1 ? 1 : 0)),
      ]
    }
    case 'rtu': return Array.from({ length: o.channels }, (_, i) =>
      // An RTU's analog inputs: 4-20 mA scaled to 0-100.00 % in uint16 registers.
      f(`ai${String(i).padStart(3, '0')}`, 'holdingRegister', i, 'uint16', 0.01, '%', 40, c => Math.min(100, Math.max(0, swing(c.tMs, 50, 30, 60_000 + i * 1000, phase + i) + noise(c.random, 0.2)))))
  }
}
