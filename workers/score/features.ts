// Model input of the anomaly contract (schemas/model/contract.md): per-tag window state and the
// batched feature rows. This file is the reference implementation of the recipe; the training
// set is built with it too, so the model sees in training exactly what it sees in service.
//
// State lives in flat typed arrays indexed by a slot per tag (no object per tag), so tens of
// thousands of tags cost a few megabytes and no garbage per point.
import {
  BASELINE_CLIP, BASELINE_MAX_REPEATS, BASELINE_TAU, FEATURE_CLIP, FEATURES, LEVEL_OFFSET, SCALE_FLOOR_ABS, SCALE_FLOOR_REL, STEP_OFFSET, SUMMARY_OFFSET, WARMUP, WINDOW,
} from '../../schemas/model/contract.js'

/** Values kept per tag: the window plus the one before it (the first step needs it). */
const RING = WINDOW + 1

// Per-slot statistics, STAT_* fields of one Float64Array row.
const STAT_N = 0 // good values seen
const STAT_MEAN = 1
const STAT_VAR = 2
const STAT_MSS = 3 // mean squared step
const STAT_LAST = 4
const STAT_HEAD = 5 // next ring position
const STAT_REPEATS = 6
const STATS = 7

/** Baseline of one tag: what a window is normalized by. */
export interface Baseline { n: number, mean: number, variance: number, meanSquaredStep: number, last: number, /** Values equal to the one before, in a row. */ repeats: number }

export function emptyBaseline (): Baseline {
  return { n: 0, mean: 0, variance: 0, meanSquaredStep: 0, last: 0, repeats: 0 }
}

/** Floor of a scale (sd of levels or steps), so near-constant tags do not divide by zero. */
export function scaleOf (variance: number, mean: number): number {
  return Math.max(Math.sqrt(variance), SCALE_FLOOR_REL * Math.abs(mean) + SCALE_FLOOR_ABS)
}

function clamp (x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x
}

/**
 * Take one good value into a baseline (contract.md, "Baseline"). Exponentially weighted with
 * alpha = max(1/n, 1/BASELINE_TAU): exact mean and population variance while n <= tau, a
 * running window of about tau samples after. Past warm-up a value (and a step) is clipped to
 * BASELINE_CLIP scales first, so one spike moves the baseline by little, and a value repeated
 * more than BASELINE_MAX_REPEATS times in a row is not learnt at all: a stuck sensor must not
 * shrink the tag's spread and make its healthy swing look anomalous afterwards.
 */
export function updateBaseline (b: Baseline, x: number): void {
  b.n += 1
  if (b.n === 1) {
    b.mean = x
    b.variance = 0
    b.meanSquaredStep = 0
    b.last = x
    b.repeats = 0
    return
  }
  const warm = b.n > WARMUP
  b.repeats = x === b.last ? b.repeats + 1 : 0
  if (warm && b.repeats > BASELINE_MAX_REPEATS) return
  const a = Math.max(1 / b.n, 1 / BASELINE_TAU)
  let c = x
  if (warm) {
    const limit = BASELINE_CLIP * scaleOf(b.variance, b.mean)
    c = clamp(x, b.mean - limit, b.mean + limit)
  }
  const delta = c - b.mean
  b.mean += a * delta
  b.variance = (1 - a) * (b.variance + a * delta * delta)
  let step = x - b.last
  if (warm) {
    const limit = BASELINE_CLIP * scaleOf(b.meanSquaredStep, b.mean)
    step = clamp(step, -limit, limit)
  }
  b.meanSquaredStep += Math.max(1 / (b.n - 1), 1 / BASELINE_TAU) * (step * step - b.meanSquaredStep)
  b.last = x
}

/**
 * One model input row from W+1 raw values (oldest first; values[0] is the value before the
 * window) and the tag's baseline (n values taken, mean, scales), written at out[offset .. offset + FEATURES).
 */
export function windowFeatures (values: ArrayLike<number>, n: number, mean: number, sd: number, stepSd: number, out: Float32Array, offset: number): void {
  // Hot path (every scored window): one pass, multiplications by inverses, no calls.
  const invSd = 1 / sd
  const invStepSd = 1 / stepSd
  const hi = FEATURE_CLIP
  const lo = -FEATURE_CLIP
  const levelAt = offset + LEVEL_OFFSET
  const stepAt = offset + STEP_OFFSET
  let zeroSteps = 0
  let trailing = 0
  let trailingOpen = true
  let sumSq = 0
  let stepMaxAbs = 0
  let curvMaxAbs = 0
  let levelSum = 0
  let levelMaxAbs = 0
  let stepSum = 0
  let prevStep = 0
  let next = values[WINDOW]!
  // Walk newest to oldest so the trailing run of zero steps falls out of the same loop.
  for (let i = WINDOW - 1; i >= 0; i--) {
    const x = next
    next = values[i]!
    const rawStep = x - next
    let level = (x - mean) * invSd
    level = level < lo ? lo : level > hi ? hi : level
    let step = rawStep * invStepSd
    step = step < lo ? lo : step > hi ? hi : step
    out[levelAt + i] = level
    out[stepAt + i] = step
    if (rawStep === 0) {
      zeroSteps++
      if (trailingOpen) trailing++
    } else {
      trailingOpen = false
    }
    sumSq += step * step
    const absStep = step < 0 ? -step : step
    if (absStep > stepMaxAbs) stepMaxAbs = absStep
    if (i < WINDOW - 1) {
      const d = prevStep - step
      const curv = d < 0 ? -d : d
      if (curv > curvMaxAbs) curvMaxAbs = curv
    }
    prevStep = step
    levelSum += level
    const absLevel = level < 0 ? -level : level
    if (absLevel > levelMaxAbs) levelMaxAbs = absLevel
    stepSum += step
  }
  const s = offset + SUMMARY_OFFSET
  out[s] = zeroSteps / WINDOW
  out[s + 1] = trailing / WINDOW
  out[s + 2] = Math.sqrt(sumSq / WINDOW)
  out[s + 3] = stepMaxAbs
  out[s + 4] = curvMaxAbs > hi ? hi : curvMaxAbs
  out[s + 5] = levelSum / WINDOW
  out[s + 6] = levelMaxAbs
  out[s + 7] = stepSum / WINDOW
  out[s + 8] = (n < BASELINE_TAU ? n : BASELINE_TAU) / BASELINE_TAU
}

/**
 * Window state of many tags, one slot each. Slots are handed out by the caller's tag map
 * (see scorer.ts); this class only keeps values and baselines and writes rows.
 */
export class WindowStore {
  #capacity: number
  #ring: Float64Array
  #stats: Float64Array
  #slots = 0
  readonly #values = new Float64Array(RING)
  readonly #b: Baseline = emptyBaseline()

  constructor (initialCapacity = 1024) {
    this.#capacity = Math.max(1, initialCapacity)
    this.#ring = new Float64Array(this.#capacity * RING)
    this.#stats = new Float64Array(this.#capacity * STATS)
  }

  /** Slots in use. */
  get size (): number { return this.#slots }

  /** A new empty slot. */
  addSlot (): number {
    if (this.#slots === this.#capacity) this.#grow()
    return this.#slots++
  }

  /** Good values this slot has taken. */
  count (slot: number): number {
    return this.#stats[slot * STATS + STAT_N]!
  }

  /** A window can be scored: warm-up done (the ring is full long before). */
  ready (slot: number): boolean {
    return this.#stats[slot * STATS + STAT_N]! >= WARMUP
  }

  /** Take one good value of a slot's tag. */
  push (slot: number, x: number): void {
    const st = this.#stats
    const o = slot * STATS
    const head = st[o + STAT_HEAD]!
    this.#ring[slot * RING + head] = x
    st[o + STAT_HEAD] = head + 1 === RING ? 0 : head + 1
    const b = this.#b
    b.n = st[o + STAT_N]!
    b.mean = st[o + STAT_MEAN]!
    b.variance = st[o + STAT_VAR]!
    b.meanSquaredStep = st[o + STAT_MSS]!
    b.last = st[o + STAT_LAST]!
    b.repeats = st[o + STAT_REPEATS]!
    updateBaseline(b, x)
    st[o + STAT_N] = b.n
    st[o + STAT_MEAN] = b.mean
    st[o + STAT_VAR] = b.variance
    st[o + STAT_MSS] = b.meanSquaredStep
    st[o + STAT_LAST] = b.last
    st[o + STAT_REPEATS] = b.repeats
  }

  /** The slot's baseline (a copy). */
  baseline (slot: number): Baseline {
    const st = this.#stats
    const o = slot * STATS
    return { n: st[o + STAT_N]!, mean: st[o + STAT_MEAN]!, variance: st[o + STAT_VAR]!, meanSquaredStep: st[o + STAT_MSS]!, last: st[o + STAT_LAST]!, repeats: st[o + STAT_REPEATS]! }
  }

  /** Write the model input row of a ready slot at row `row` of `out` (FEATURES columns per row). */
  writeRow (slot: number, out: Float32Array, row: number): void {
    const st = this.#stats
    const o = slot * STATS
    const mean = st[o + STAT_MEAN]!
    const head = st[o + STAT_HEAD]!
    const base = slot * RING
    const v = this.#values
    // Oldest first: the ring's head is the oldest value once it is full.
    for (let k = 0; k < RING; k++) {
      const idx = head + k
      v[k] = this.#ring[base + (idx < RING ? idx : idx - RING)]!
    }
    windowFeatures(v, st[o + STAT_N]!, mean, scaleOf(st[o + STAT_VAR]!, mean), scaleOf(st[o + STAT_MSS]!, mean), out, row * FEATURES)
  }

  #grow (): void {
    this.#capacity *= 2
    const ring = new Float64Array(this.#capacity * RING)
    ring.set(this.#ring)
    this.#ring = ring
    const stats = new Float64Array(this.#capacity * STATS)
    stats.set(this.#stats)
    this.#stats = stats
  }
}
