// Raw register bytes -> numbers. A field's byte order is compiled once into a permutation
// (wire byte index of each logical byte, most significant first), so a poll only copies a few
// bytes and reads them big-endian.
import type { ByteOrder, FieldType } from '../../schemas/config/modbus.js'

/** Registers (16-bit words) a value of this type occupies. */
export function registerWidth (type: FieldType): 1 | 2 | 4 {
  switch (type) {
    case 'bool': case 'int16': case 'uint16': return 1
    case 'int32': case 'uint32': case 'float32': return 2
    case 'int64': case 'float64': return 4
  }
}

/**
 * Wire position of each logical byte (index 0 = most significant) of an n-register value.
 * Word order swapped (CDAB, DCBA) reverses the registers; byte order swapped (BADC, DCBA)
 * swaps the two bytes inside each register.
 */
export function bytePermutation (words: number, order: ByteOrder): number[] {
  const wordsSwapped = order === 'CDAB' || order === 'DCBA'
  const bytesSwapped = order === 'BADC' || order === 'DCBA'
  const out: number[] = []
  for (let k = 0; k < words * 2; k++) {
    const word = k >> 1
    const byte = k & 1
    out.push(2 * (wordsSwapped ? words - 1 - word : word) + (bytesSwapped ? 1 - byte : byte))
  }
  return out
}

/** Reads one value from register bytes (big-endian on the wire, as every Modbus reply carries them) at a byte offset. */
export type RegisterDecoder = (registers: Uint8Array, byteOffset: number) => number | boolean

// One scratch area for reordering: decoders run synchronously, never interleaved.
const scratch = Buffer.alloc(8)

export function compileRegisterDecoder (type: FieldType, order: ByteOrder, bit?: number): RegisterDecoder {
  const words = registerWidth(type)
  const perm = bytePermutation(words, order)
  const identity = perm.every((p, i) => p === i)
  const read = readerOf(type)
  const value = identity
    ? (r: Uint8Array, at: number): number => read(asBuffer(r), at)
    : (r: Uint8Array, at: number): number => {
        for (let i = 0; i < perm.length; i++) scratch[i] = r[at + perm[i]!]!
        return read(scratch, 0)
      }
  if (type !== 'bool') return value
  if (bit === undefined) return (r, at) => value(r, at) !== 0
  const mask = 1 << bit
  return (r, at) => (value(r, at) & mask) !== 0
}

function readerOf (type: FieldType): (b: Buffer, at: number) => number {
  switch (type) {
    case 'bool': case 'uint16': return (b, at) => b.readUInt16BE(at)
    case 'int16': return (b, at) => b.readInt16BE(at)
    case 'uint32': return (b, at) => b.readUInt32BE(at)
    case 'int32': return (b, at) => b.readInt32BE(at)
    case 'float32': return (b, at) => b.readFloatBE(at)
    case 'float64': return (b, at) => b.readDoubleBE(at)
    // Points carry float64: beyond 2^53 the value is rounded to the nearest double.
    case 'int64': return (b, at) => Number(b.readBigInt64BE(at))
  }
}

function asBuffer (r: Uint8Array): Buffer {
  return Buffer.isBuffer(r) ? r : Buffer.from(r.buffer, r.byteOffset, r.byteLength)
}
