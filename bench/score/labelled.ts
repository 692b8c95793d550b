// Labelled windows of simulated series (sim/dataset.ts): model input rows with the fault they
// show, for the training set, and the event matching that the quality benchmark and the tests
// use. The matching rule is the one written in schemas/model/contract.md ("Measuring a model").
import { FEATURES, SUMMARY_FEATURES, SUMMARY_OFFSET, WINDOW } from '../../schemas/model/contract.js'
import { FAULT_KINDS, type FaultKind, type FaultLabel } from '../../sim/modbus/faults.js'
import type { Dataset } from '../../sim/dataset.js'
import { WindowStore } from '../../workers/score/features.js'

/** Class of a training row: 0 healthy, else 1 + index in FAULT_KINDS. */
export const NORMAL = 0
export const kindCode = (kind: FaultKind): number => FAULT_KINDS.indexOf(kind) + 1
/** A row left out of training: a fault has begun but cannot be seen yet, or the baseline is recovering from one. */
const IGNORE = -1

const SAMPLE_US = 1_000_000
/** Faulted values a window needs before the fault is called visible in it. */
const VISIBLE_SAMPLES: Record<FaultKind, number> = { spike: 1, drift: 1, stuck: 8, oscillation: 6, dropout: Infinity }
/** A drift is called visible once it has moved the value by this fraction of the tag's span. */
const DRIFT_VISIBLE_SPANS = 0.4
/** Windows ending this long after a fault has left them are not trained on (the baseline recovers). */
const RECOVERY_US = 60 * SAMPLE_US
const STUCK = kindCode('stuck')
/**
 * Column of trailing_zero_step_fraction. A window in which every step is exactly 0 is left out
 * of training when a stuck fault made it: its input is a flat run at some level of the tag, the
 * same as a pump's flow resting at exactly 0 (a rest the baseline has seen, so not far below
 * it), which is normal. A stuck sensor is learnt from the windows that show its onset (a run of
 * zero steps after the tag's usual noise, with no drop into it); a flow's rest starts with a drop.
 */
const FLAT_RUN = SUMMARY_OFFSET + SUMMARY_FEATURES.indexOf('trailing_zero_step_fraction')

/** Class of the window ending at `endUs` (covering W+1 samples back) given the tag's faults. */
function classOf (faults: readonly FaultLabel[], span: number, firstUs: number, endUs: number): number {
  for (const f of faults) {
    if (f.startUs > endUs) break
    if (f.kind === 'dropout') continue
    const inWindow = Math.max(0, Math.min(endUs + SAMPLE_US, f.endUs) - Math.max(firstUs, f.startUs)) / SAMPLE_US
    if (inWindow > 0) {
      if (inWindow < VISIBLE_SAMPLES[f.kind]) return IGNORE
      if (f.kind === 'drift') {
        const moved = Math.abs(f.magnitude) * (Math.min(endUs, f.endUs - SAMPLE_US) - f.startUs) / 60e6
        if (moved < DRIFT_VISIBLE_SPANS * span) return IGNORE
      }
      return kindCode(f.kind)
    }
    if (endUs < f.endUs + WINDOW * SAMPLE_US + RECOVERY_US && endUs >= f.endUs) return IGNORE
  }
  return NORMAL
}

export interface TrainingRows {
  /** rows x FEATURES, row-major. */
  x: Float32Array
  /** Class per row (NORMAL or a kind code). */
  y: Uint8Array
  /** Series (tag) index per row: the trainer splits by tag, so overlapping windows never straddle the split. */
  group: Uint32Array
  rows: number
}

/**
 * Model input rows of every `hop`-th window of every series, with their class. Healthy rows are
 * kept with probability `keepNormal` (they outnumber faulted ones many times), or the
 * probability it gives for a series (by index).
 */
export function trainingRows (ds: Dataset, hop: number, keepNormal: number | ((series: number) => number), random: () => number): TrainingRows {
  const byTag = labelsByTag(ds.labels)
  let cap = 1 << 16
  let x = new Float32Array(cap * FEATURES)
  let y = new Uint8Array(cap)
  let group = new Uint32Array(cap)
  let rows = 0
  for (let g = 0; g < ds.series.length; g++) {
    const s = ds.series[g]!
    const faults = byTag.get(s.tag) ?? []
    const keep = typeof keepNormal === 'number' ? keepNormal : keepNormal(g)
    const store = new WindowStore(1)
    const slot = store.addSlot()
    for (let i = 0; i < s.value.length; i++) {
      store.push(slot, s.value[i]!)
      if (!store.ready(slot) || i % hop !== 0) continue
      const cls = classOf(faults, s.span, s.timeUs[i - WINDOW]!, s.timeUs[i]!)
      if (cls === IGNORE || (cls === NORMAL && random() >= keep)) continue
      if (rows === cap) {
        cap *= 2
        const nx = new Float32Array(cap * FEATURES); nx.set(x); x = nx
        const ny = new Uint8Array(cap); ny.set(y); y = ny
        const ng = new Uint32Array(cap); ng.set(group); group = ng
      }
      store.writeRow(slot, x, rows)
      // A stuck window with no step left in it (the run fills the window): see FLAT_RUN.
      if (cls === STUCK && x[rows * FEATURES + FLAT_RUN]! === 1) continue
      group[rows] = g
      y[rows++] = cls
    }
  }
  return { x: x.subarray(0, rows * FEATURES), y: y.subarray(0, rows), group: group.subarray(0, rows), rows }
}

export function labelsByTag (labels: readonly FaultLabel[]): Map<string, FaultLabel[]> {
  const m = new Map<string, FaultLabel[]>()
  for (const l of labels) {
    if (l.tag === undefined) continue
    const list = m.get(l.tag) ?? m.set(l.tag, []).get(l.tag)!
    list.push(l)
  }
  for (const list of m.values()) list.sort((a, b) => a.startUs - b.startUs)
  return m
}

/** Scores of one tag, in time order: ts[i] is the time of window i's newest point. */
export interface TagScores { ts: number[], scores: number[] }

export interface KindQuality {
  kind: FaultKind
  faults: number
  detected: number
  recall: number
  /** Alarm events (runs of alarm windows of one tag). */
  events: number
  /** Events matching no fault. */
  falseEvents: number
  precision: number
}

/**
 * Event matching (contract.md): consecutive scored windows of a tag at or above the threshold
 * form one alarm event. A fault is detected when an event has a window ending within
 * [start, end + W s]; an event with no such window on any fault of its tag is false.
 * recall = detected / faults; precision = true events / events.
 */
export function matchEvents (scored: ReadonlyMap<string, TagScores>, labels: readonly FaultLabel[], threshold: number, kind: FaultKind): KindQuality {
  const byTag = labelsByTag(labels.filter(l => l.kind === kind))
  let faults = 0
  let detected = 0
  let events = 0
  let falseEvents = 0
  for (const list of byTag.values()) faults += list.length
  for (const [tag, { ts, scores }] of scored) {
    const tagFaults = byTag.get(tag) ?? []
    const hit = new Uint8Array(tagFaults.length)
    let inEvent = false
    let eventTrue = false
    const close = (): void => {
      if (!inEvent) return
      events++
      if (!eventTrue) falseEvents++
      inEvent = false
    }
    for (let i = 0; i < ts.length; i++) {
      if (scores[i]! < threshold) { close(); continue }
      if (!inEvent) { inEvent = true; eventTrue = false }
      for (let k = 0; k < tagFaults.length; k++) {
        const f = tagFaults[k]!
        if (ts[i]! >= f.startUs && ts[i]! <= f.endUs + WINDOW * SAMPLE_US) { hit[k] = 1; eventTrue = true }
      }
    }
    close()
    for (const h of hit) detected += h
  }
  return {
    kind,
    faults,
    detected,
    recall: faults === 0 ? 0 : detected / faults,
    events,
    falseEvents,
    precision: events === 0 ? 0 : (events - falseEvents) / events,
  }
}
