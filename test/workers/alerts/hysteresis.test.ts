// The alert state machine: open after a minimum duration above, hysteresis between the
// thresholds, close after a minimum duration below, and an alert restored at start.
import t from 'tap'
import { AlertTracker } from '../../../workers/alerts/hysteresis.js'

const S = 1_000_000
const tracker = (): AlertTracker => new AlertTracker({ openAbove: 0.9, closeBelow: 0.5, openAfterUs: 15 * S, closeAfterUs: 30 * S })

t.test('a blip shorter than the minimum duration opens nothing', async t => {
  const a = tracker()
  t.equal(a.observe(1, 0, 0.95), undefined)
  t.equal(a.observe(1, 8 * S, 0.97), undefined)
  t.equal(a.observe(1, 16 * S, 0.2), undefined, 'fell back below before 15 s')
  t.notOk(a.isOpen(1))
})

t.test('opens once above for the minimum duration, from when it went above; closes with hysteresis', async t => {
  const a = tracker()
  a.observe(1, 0, 0.92)
  t.same(a.observe(1, 16 * S, 0.99), { type: 'opened', tagId: 1, openedAtUs: 0, peakScore: 0.99 })
  t.equal(a.observe(1, 24 * S, 0.7), undefined, 'between the thresholds: stays open')
  t.equal(a.observe(1, 32 * S, 0.4), undefined, 'below: closing starts')
  t.equal(a.observe(1, 40 * S, 0.6), undefined, 'back above closeBelow: still open')
  t.equal(a.observe(1, 48 * S, 0.3), undefined)
  t.equal(a.observe(1, 70 * S, 0.3), undefined, '22 s below: not yet')
  t.same(a.observe(1, 80 * S, 0.1), { type: 'closed', tagId: 1, openedAtUs: 0, closedAtUs: 48 * S, peakScore: 0.99 }, 'closed as of when it went below for good')
  t.notOk(a.isOpen(1))
  t.equal(a.observe(2, 0, 0.3), undefined, 'tags are independent')
})

t.test('zero durations open and close on one score; a restored alert can close', async t => {
  const a = new AlertTracker({ openAbove: 0.8, closeBelow: 0.8, openAfterUs: 0, closeAfterUs: 0 })
  t.same(a.observe(5, 10, 0.81), { type: 'opened', tagId: 5, openedAtUs: 10, peakScore: 0.81 })
  t.same(a.observe(5, 20, 0.79), { type: 'closed', tagId: 5, openedAtUs: 10, closedAtUs: 20, peakScore: 0.81 })
  const b = tracker()
  b.restoreOpen(7, 100, 0.93)
  t.ok(b.isOpen(7))
  b.observe(7, 200, 0.1)
  t.same(b.observe(7, 200 + 30 * S, 0.1), { type: 'closed', tagId: 7, openedAtUs: 100, closedAtUs: 200, peakScore: 0.93 })
  t.throws(() => new AlertTracker({ openAbove: 0.5, closeBelow: 0.6, openAfterUs: 0, closeAfterUs: 0 }), /closeBelow \(0.6\) must not exceed openAbove \(0.5\)/)
})
