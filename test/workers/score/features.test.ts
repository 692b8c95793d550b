// The model input recipe of schemas/model/contract.md, on small hand-made arrays.
import t, { type Test } from 'tap'
import { BASELINE_CLIP, BASELINE_MAX_REPEATS, BASELINE_TAU, FEATURE_CLIP, FEATURES, SUMMARY_OFFSET, STEP_OFFSET, WARMUP, WINDOW } from '../../../schemas/model/contract.js'
import { emptyBaseline, scaleOf, updateBaseline, windowFeatures, WindowStore } from '../../../workers/score/features.js'

const close = (t: Test, got: number, want: number, msg: string, eps = 1e-5): void => {
  t.ok(Math.abs(got - want) <= eps * Math.max(1, Math.abs(want)), `${msg}: ${got} ~ ${want}`)
}

t.test('baseline: exact mean and population variance while n is small', async t => {
  const b = emptyBaseline()
  const xs = [3, 7, 1, 9, 4, 4, 12]
  for (const x of xs) updateBaseline(b, x)
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length
  const steps = xs.slice(1).map((x, i) => x - xs[i]!)
  close(t, b.mean, mean, 'mean')
  close(t, b.variance, variance, 'variance')
  close(t, b.meanSquaredStep, steps.reduce((s, d) => s + d * d, 0) / steps.length, 'mean squared step')
  t.equal(b.n, xs.length)
  t.equal(b.last, 12)
})

t.test('baseline: after warm-up a spike enters clipped, so it barely moves the mean', async t => {
  const b = emptyBaseline()
  for (let i = 0; i < WARMUP + 10; i++) updateBaseline(b, 100 + (i % 2 === 0 ? 1 : -1))
  const before = { ...b }
  const sd = scaleOf(before.variance, before.mean)
  updateBaseline(b, 1e6)
  const a = Math.max(1 / b.n, 1 / BASELINE_TAU)
  close(t, b.mean, before.mean + a * (BASELINE_CLIP * sd), 'mean moved by alpha * CLIP * sd, not by the spike')
  t.ok(b.mean < 101, `mean ${b.mean} stays near 100`)
})

t.test('baseline: after warm-up a long run of one repeated value is not learnt', async t => {
  const b = emptyBaseline()
  for (let i = 0; i < WARMUP + 10; i++) updateBaseline(b, 100 + (i % 2 === 0 ? 1 : -1))
  for (let i = 0; i < BASELINE_MAX_REPEATS + 1; i++) updateBaseline(b, 100.5) // the first value and MAX_REPEATS repeats are learnt
  const frozen = { ...b }
  for (let i = 0; i < 200; i++) updateBaseline(b, 100.5)
  t.same({ ...b, n: 0, repeats: 0 }, { ...frozen, n: 0, repeats: 0 }, 'mean, variance and step scale unchanged while stuck')
  t.equal(b.n, frozen.n + 200, 'values still counted')
  updateBaseline(b, 99)
  t.equal(b.repeats, 0)
  t.not(b.variance, frozen.variance, 'learning again once the value moves')
})

t.test('window features of a stuck, a spiky and a ramping window', async t => {
  const out = new Float32Array(FEATURES)
  // Stuck: W+1 equal values.
  windowFeatures(new Float64Array(WINDOW + 1).fill(5), 450, 4, 2, 0.5, out, 0)
  t.equal(out[0], 0.5, 'level = (5 - 4) / 2')
  t.equal(out[STEP_OFFSET], 0, 'step 0')
  t.equal(out[SUMMARY_OFFSET], 1, 'zero_step_fraction')
  t.equal(out[SUMMARY_OFFSET + 1], 1, 'trailing_zero_step_fraction')
  t.equal(out[SUMMARY_OFFSET + 2], 0, 'step_rms')
  close(t, out[SUMMARY_OFFSET + 5]!, 0.5, 'level_mean')
  t.equal(out[SUMMARY_OFFSET + 8], 0.5, 'baseline_maturity = 450 / 900')

  // Ramp 0, 1, 2, ... W with one spike of +10 at v[10] (window index 9).
  const v = Float64Array.from({ length: WINDOW + 1 }, (_, i) => i)
  v[10] = v[10]! + 10
  windowFeatures(v, 5000, 0, 10, 1, out, 0)
  t.equal(out[STEP_OFFSET + 8], 1, 'step before the spike')
  t.equal(out[STEP_OFFSET + 9], 11, 'step into the spike')
  t.equal(out[STEP_OFFSET + 10], -9, 'step out of the spike')
  t.equal(out[SUMMARY_OFFSET], 0, 'no zero steps')
  t.equal(out[SUMMARY_OFFSET + 1], 0, 'no trailing zero steps')
  t.equal(out[SUMMARY_OFFSET + 3], 11, 'step_max_abs')
  t.equal(out[SUMMARY_OFFSET + 4], 20, 'curvature_max_abs = |(-9) - 11|, at the feature clip')
  t.equal(out[SUMMARY_OFFSET + 8], 1, 'baseline_maturity saturates at 1')
  t.equal(FEATURE_CLIP, 20)
  close(t, out[SUMMARY_OFFSET + 7]!, (WINDOW + 10 - 10) / WINDOW, 'step_mean telescopes to (v[W] - v[0]) / W')
  close(t, out[SUMMARY_OFFSET + 6]!, 3.2, 'level_max_abs = newest value 32 / sd 10')

  // Trailing zero steps: ..., 1, 2, 3, 3, 3 -> two trailing zero steps.
  const tail = Float64Array.from({ length: WINDOW + 1 }, (_, i) => Math.min(i, WINDOW - 2))
  windowFeatures(tail, 5000, 0, 1, 1, out, 0)
  t.equal(out[SUMMARY_OFFSET + 1], 2 / WINDOW, 'two trailing zero steps')
  t.equal(out[SUMMARY_OFFSET], 2 / WINDOW, 'two zero steps in all')

  // Levels and steps clip at the feature clip; a zero scale is floored, never a division by zero.
  windowFeatures(new Float64Array(WINDOW + 1).fill(1e9), 5000, 0, scaleOf(0, 0), scaleOf(0, 0), out, 0)
  t.equal(out[0], FEATURE_CLIP, 'level clipped')
  t.ok(out.every(Number.isFinite), 'all finite')
})

t.test('the store writes the row of the last W+1 values with the baseline, across ring wrap-around and growth', async t => {
  const store = new WindowStore(1)
  const a = store.addSlot()
  const b = store.addSlot() // grows
  const va: number[] = []
  for (let i = 0; i < WARMUP + 37; i++) {
    const x = Math.sin(i / 7) * 10 + (i % 3)
    va.push(x)
    store.push(a, x)
    store.push(b, -x)
  }
  t.equal(store.size, 2)
  t.ok(store.ready(a))
  const got = new Float32Array(2 * FEATURES)
  store.writeRow(a, got, 1)
  const bl = store.baseline(a)
  const want = new Float32Array(FEATURES)
  windowFeatures(va.slice(-(WINDOW + 1)), bl.n, bl.mean, scaleOf(bl.variance, bl.mean), scaleOf(bl.meanSquaredStep, bl.mean), want, 0)
  t.same(Array.from(got.subarray(FEATURES)), Array.from(want), 'row 1 = recipe on the last W+1 values')
  t.same(Array.from(got.subarray(0, FEATURES)), Array.from(new Float32Array(FEATURES)), 'row 0 untouched')
  // The reference baseline, recomputed from scratch, equals the store's.
  const ref = emptyBaseline()
  for (const x of va) updateBaseline(ref, x)
  t.same(bl, ref)
  const fresh = new WindowStore()
  const s = fresh.addSlot()
  for (let i = 0; i < WARMUP - 1; i++) fresh.push(s, i)
  t.notOk(fresh.ready(s), 'not ready before warm-up')
  fresh.push(s, 0)
  t.ok(fresh.ready(s), 'ready at warm-up')
})
