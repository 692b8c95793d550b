// Partition state: a message delivered again (Kafka re-reads a kept partition from the
// group's committed offset after every rebalance) is not queued twice, and the queue stays
// in offset order whatever order messages arrive in.
import t from 'tap'
import { admit, newPartitionState, requeue, type BatchMessage } from '../../../workers/consume/partitions.js'

const msg = (offset: number, bytes = 10): BatchMessage => ({ partition: 3, offset: BigInt(offset), value: Buffer.alloc(bytes) }) as unknown as BatchMessage
const offsets = (q: readonly BatchMessage[]): number[] => q.map(m => Number(m.offset))

t.test('admit queues each offset once, in offset order', async t => {
  const s = newPartitionState(3)
  const taken = (list: number[]): number[] => list.filter(o => admit(s, msg(o)))
  t.same(taken([10, 11, 12]), [10, 11, 12], 'first delivery, from any offset')
  t.same(taken([11, 12, 13, 14]), [13, 14], 'redelivered from an earlier offset: only the new ones are queued')
  t.same(offsets(s.queue), [10, 11, 12, 13, 14])
  t.same(taken([20]), [20], 'a gap (a compacted or truncated log) is not a redelivery')
  t.same(taken([7, 8, 9, 10]), [7, 8, 9], 'offsets the queue does not hold are kept (e.g. already cut: the cut skips them below cutNext)')
  t.same(offsets(s.queue), [7, 8, 9, 10, 11, 12, 13, 14, 20], 'in offset order')
  t.same(taken([15, 14, 16]), [15, 16], 'into a hole, in order')
  t.same(offsets(s.queue), [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20])
})

t.test('requeue merges a rolled-back flush back, each offset once', async t => {
  const s = newPartitionState(3)
  for (const o of [5, 6, 7]) admit(s, msg(o, 100)) // redelivered copies of 5 and 6 arrived meanwhile, and 7
  const dropped = requeue(s, [msg(3, 100), msg(4, 100), msg(5, 100), msg(6, 100)])
  t.same(offsets(s.queue), [3, 4, 5, 6, 7], 'offset order, no offset twice')
  t.equal(dropped, 200, 'the bytes of the copies left out, for the buffer accounting')
})
