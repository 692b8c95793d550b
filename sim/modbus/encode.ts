// Engineering value -> registers, the way a device lays them out. Written independently of
// ingest/modbus/decode.ts (the simulator is the "field" the collector is tested against).
import type { ByteOrder, FieldType } from '../../schemas/config/modbus.js'

const WIDTH: Record<FieldType, number> = { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, int64: 4, float32: 2, float64: 4 }

export function widthOf (type: FieldType): number {
  return WIDTH[type]
}

const be = Buffer.alloc(8)

/** Write `raw` (already unscaled) as `type` in `order` into `out` at register `at`. Integers are rounded and wrapped like a PLC register. */
export function encodeRegisters (raw: number, type: FieldType, order: ByteOrder, out: Uint16Array, at: number): void {
  const n = WIDTH[type]
  switch (type) {
    case 'bool': be.writeUInt16BE(raw !== 0 ? 1 : 0); break
    case 'int16': be.writeInt16BE(wrap(raw, 16, true)); break
    case 'uint16': be.writeUInt16BE(wrap(raw, 16, false)); break
    case 'int32': be.writeInt32BE(wrap(raw, 32, true)); break
    case 'uint32': be.writeUInt32BE(wrap(raw, 32, false)); break
    case 'int64': be.writeBigInt64BE(BigInt.asIntN(64, BigInt(Math.round(raw)))); break
    case 'float32': be.writeFloatBE(raw); break
    case 'float64': be.writeDoubleBE(raw); break
  }
  const words: number[] = []
  for (let w = 0; w < n; w++) words.push(be.readUInt16BE(w * 2))
  if (order === 'CDAB' || order === 'DCBA') words.reverse()
  for (let w = 0; w < n; w++) {
    const v = words[w]!
    out[at + w] = order === 'BADC' || order === 'DCBA' ? ((v & 0xff) << 8) | (v >> 8) : v
  }
}

function wrap (raw: number, bits: 16 | 32, signed: boolean): number {
  const span = 2 ** bits
  let v = Math.round(raw) % span
  if (v < 0) v += span
  return signed && v >= span / 2 ? v - span : v
}
