import t from 'tap'
import { planReads, type PlanField, type PlanLimits } from '../../../ingest/modbus/plan.js'

const LIMITS: PlanLimits = { maxRegisters: 125, maxBits: 2000, maxGapRegisters: 0, maxGapBits: 0, perField: false }
const hr = (address: number, width = 1): PlanField => ({ table: 'holdingRegister', address, width })
const summary = (fields: PlanField[], limits: Partial<PlanLimits> = {}): string[] =>
  planReads(fields, { ...LIMITS, ...limits }).map(b => `${b.table}@${b.start}+${b.count} fc${b.functionCode} [${b.members.map(m => `${m.field}:${m.offset}`).join(' ')}]`)

t.test('adjacent registers join, a gap splits', async t => {
  t.same(summary([hr(0), hr(1, 2), hr(3), hr(5)]), ['holdingRegister@0+4 fc3 [0:0 1:1 2:3]', 'holdingRegister@5+1 fc3 [3:0]'])
})

t.test('an allowed gap joins across unmapped registers', async t => {
  t.same(summary([hr(0), hr(5)], { maxGapRegisters: 4 }), ['holdingRegister@0+6 fc3 [0:0 1:5]'])
  t.same(summary([hr(0), hr(6)], { maxGapRegisters: 4 }), ['holdingRegister@0+1 fc3 [0:0]', 'holdingRegister@6+1 fc3 [1:0]'])
})

t.test('unsorted fields and overlapping fields', async t => {
  t.same(summary([hr(10, 2), hr(8, 2), hr(10)]), ['holdingRegister@8+4 fc3 [1:0 0:2 2:2]'])
})

t.test('a block never exceeds the per-request maximum, and a field is never split', async t => {
  const fields = Array.from({ length: 130 }, (_, i) => hr(i))
  t.same(summary(fields).map(s => s.split(' ')[0]), ['holdingRegister@0+125', 'holdingRegister@125+5'])
  t.same(summary([hr(0, 2), hr(2, 2), hr(4, 2)], { maxRegisters: 5 }).map(s => s.split(' ')[0]), ['holdingRegister@0+4', 'holdingRegister@4+2'])
})

t.test('tables are planned separately with their own limits and function codes', async t => {
  const fields: PlanField[] = [
    { table: 'inputRegister', address: 0, width: 1 }, hr(0),
    ...Array.from({ length: 2001 }, (_, i): PlanField => ({ table: 'coil', address: i, width: 1 })),
    { table: 'discreteInput', address: 3, width: 1 },
  ]
  t.same(summary(fields).map(s => s.split(' ').slice(0, 2).join(' ')), [
    'coil@0+2000 fc1', 'coil@2000+1 fc1', 'discreteInput@3+1 fc2', 'holdingRegister@0+1 fc3', 'inputRegister@0+1 fc4',
  ])
})

t.test('requestPerField: one block per field', async t => {
  t.same(summary([hr(0), hr(1), hr(1)], { perField: true }).length, 3)
})
