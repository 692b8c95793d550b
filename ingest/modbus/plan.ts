// Block coalescing: turn a register map into as few read requests as the device allows.
// Fields of one table are sorted by address and joined while the block stays within the
// per-request limit and the unmapped gap between them stays within the allowed gap.
import { isBitTable, ReadFunctionCode, type ModbusTable } from '../../schemas/modbus/function-codes.js'

export interface PlanField {
  table: ModbusTable
  address: number
  /** Registers, or bits for bit tables. */
  width: number
}

export interface ReadBlock {
  table: ModbusTable
  functionCode: number
  start: number
  count: number
  /** Indexes into the planned field list, with each field's offset (registers or bits) inside the block. */
  members: Array<{ field: number, offset: number }>
}

export interface PlanLimits {
  maxRegisters: number
  maxBits: number
  maxGapRegisters: number
  maxGapBits: number
  /** One block per field (the requestPerField workaround). */
  perField: boolean
}

const TABLE_ORDER: readonly ModbusTable[] = ['coil', 'discreteInput', 'holdingRegister', 'inputRegister']

export function planReads (fields: readonly PlanField[], limits: PlanLimits): ReadBlock[] {
  const blocks: ReadBlock[] = []
  for (const table of TABLE_ORDER) {
    const bits = isBitTable(table)
    const max = bits ? limits.maxBits : limits.maxRegisters
    const maxGap = bits ? limits.maxGapBits : limits.maxGapRegisters
    const order = fields
      .map((f, i) => ({ f, i }))
      .filter(x => x.f.table === table)
      .sort((a, b) => a.f.address - b.f.address || b.f.width - a.f.width)
    let open: ReadBlock | undefined
    for (const { f, i } of order) {
      const end = f.address + f.width
      // A field overlapping the open block (gap < 0) always joins when it fits: re-reading the
      // same registers as another type (a status word as bits) must not cost a second request.
      if (open !== undefined && !limits.perField && f.address - (open.start + open.count) <= maxGap && Math.max(end, open.start + open.count) - open.start <= max) {
        open.count = Math.max(end, open.start + open.count) - open.start
        open.members.push({ field: i, offset: f.address - open.start })
        continue
      }
      open = { table, functionCode: ReadFunctionCode[table], start: f.address, count: f.width, members: [{ field: i, offset: 0 }] }
      blocks.push(open)
    }
  }
  return blocks
}
