import t from 'tap'
import { SeqTracker } from '../../../ingest/sparkplug/seq.js'

t.test('in order, across the 255 -> 0 wrap', async t => {
  const gaps: number[][] = []
  const s = new SeqTracker<number>(50, r => gaps.push(r))
  s.reset(253)
  t.same([254, 255, 0, 1].flatMap(n => s.accept(n, n)), [254, 255, 0, 1])
  t.same(gaps, [])
})

t.test('a held message is released when the missing one arrives', async t => {
  const s = new SeqTracker<number>(1000, () => t.fail('no gap'))
  s.reset(0)
  t.same(s.accept(3, 3), [])
  t.same(s.accept(2, 2), [])
  t.same(s.accept(1, 1), [1, 2, 3])
  t.same(s.accept(4, 4), [4])
  s.close()
})

t.test('timeout: held messages released in seq order (across the wrap) and the gap reported once', async t => {
  const released = new Promise<number[]>(resolve => {
    const s = new SeqTracker<number>(30, resolve)
    s.reset(250)
    s.accept(1, 1) // 251..0 missing
    s.accept(255, 255)
    s.accept(254, 254)
  })
  t.same(await released, [254, 255, 1])
})

t.test('timeout 0: a gap counts at once; after it the sequence continues', async t => {
  const gaps: number[][] = []
  const s = new SeqTracker<number>(0, r => gaps.push(r))
  s.reset(0)
  t.same(s.accept(5, 5), [])
  t.same(gaps, [[5]])
  t.same(s.accept(6, 6), [6])
})

t.test('a late message (behind the expected seq) is still returned', async t => {
  const s = new SeqTracker<number>(0, () => {})
  s.reset(0)
  s.accept(5, 5)
  t.same(s.accept(3, 3), [3])
})
