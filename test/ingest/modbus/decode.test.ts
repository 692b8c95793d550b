// Every value type in all four byte orders, against cases encoded by Python's struct module
// (test/fixtures/modbus/make-decode-cases.py), plus vectors from PLC documentation.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { BYTE_ORDERS, FIELD_TYPES, type ByteOrder, type FieldType } from '../../../schemas/config/modbus.js'
import { bytePermutation, compileRegisterDecoder, registerWidth } from '../../../ingest/modbus/decode.js'
import { repoPath } from '../../helpers/repo.js'

interface Case { type: FieldType, byteOrder: ByteOrder, registers: number[], expected: number | boolean, bit?: number }
const { cases } = JSON.parse(readFileSync(repoPath('test/fixtures/modbus/decode-cases.json'), 'utf8')) as { cases: Case[] }

function wire (registers: number[], pad = 0): Buffer {
  const b = Buffer.alloc((registers.length + pad * 2) * 2)
  registers.forEach((r, i) => b.writeUInt16BE(r, (pad + i) * 2))
  return b
}

t.test('the fixture covers every type in every byte order', async t => {
  for (const type of FIELD_TYPES) {
    for (const order of BYTE_ORDERS) t.ok(cases.some(c => c.type === type && c.byteOrder === order), `${type} ${order}`)
  }
})

t.test('struct-encoded cases decode to their value, at offset 0 and inside a block', async t => {
  for (const c of cases) {
    const decode = compileRegisterDecoder(c.type, c.byteOrder, c.bit)
    t.equal(c.registers.length, registerWidth(c.type), `${c.type} width`)
    t.equal(decode(wire(c.registers), 0), c.expected, `${c.type} ${c.byteOrder} ${JSON.stringify(c.registers)}${c.bit === undefined ? '' : ` bit ${c.bit}`}`)
    t.equal(decode(wire(c.registers, 3), 6), c.expected, `${c.type} ${c.byteOrder} at register offset 3`)
  }
})

t.test('float32 12.5 (0x41480000) as PLC manuals show it', async t => {
  const vectors: Array<[ByteOrder, number[]]> = [['ABCD', [0x4148, 0x0000]], ['CDAB', [0x0000, 0x4148]], ['BADC', [0x4841, 0x0000]], ['DCBA', [0x0000, 0x4841]]]
  for (const [order, regs] of vectors) t.equal(compileRegisterDecoder('float32', order)(wire(regs), 0), 12.5, order)
})

t.test('byte permutations', async t => {
  t.same(bytePermutation(2, 'ABCD'), [0, 1, 2, 3])
  t.same(bytePermutation(2, 'CDAB'), [2, 3, 0, 1])
  t.same(bytePermutation(2, 'BADC'), [1, 0, 3, 2])
  t.same(bytePermutation(2, 'DCBA'), [3, 2, 1, 0])
  t.same(bytePermutation(4, 'CDAB'), [6, 7, 4, 5, 2, 3, 0, 1], '64-bit CDAB is GHEFCDAB')
  t.same(bytePermutation(1, 'CDAB'), [0, 1], '16-bit ignores word order')
})
