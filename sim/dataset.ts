// Offline labelled series: the simulator's signals and faults, generated in memory at 1 s
// sampling without sockets, for training the anomaly model, measuring it (bench/score) and
// testing it. Same seed, same series; `kinds` only changes which faults are injected, never the
// healthy signal underneath, so per-kind sets of one seed share their normal data.
import { applyFault, type ActiveFault, type FaultKind, type FaultLabel } from './modbus/faults.js'
import { fillDraw, noise, seededRandom, swing } from './modbus/signals.js'

/** Signal shapes, after the simulated well pad (sim/modbus/devices.ts) and edge nodes (sim/sparkplug/signals.ts). */
export const SIGNAL_SHAPES = ['pump_speed', 'pump_pressure', 'motor_temp', 'tank_level', 'tank_temp', 'flow_rate', 'line_pressure'] as const
export type SignalShape = (typeof SIGNAL_SHAPES)[number]

export interface DatasetOptions {
  /** Seed of everything random. */
  seed: number
  /** Tags, spread evenly over the shapes. */
  tags: number
  /** Samples per tag (1 s apart). */
  seconds: number
  /** Time of the first sample, µs. Default 2026-01-01T00:00:00Z. */
  startUs?: number
  /** Fault kinds injected. Default spike, drift, stuck, oscillation (dropout only on request). */
  kinds?: readonly FaultKind[]
  /** Mean healthy time between two faults of one tag, s. Default 1800. */
  meanGapSeconds?: number
  /** No fault starts before this, s (the scorer's warm-up, WARMUP = 128 values, and some). Default 300. */
  quietSeconds?: number
}

export interface Series {
  tag: string
  shape: SignalShape
  /** Typical span of the value: fault magnitudes are fractions of it. */
  span: number
  /** Sample times, µs (a dropout leaves a gap). */
  timeUs: Float64Array
  value: Float64Array
}

export interface Dataset {
  series: Series[]
  /** Ground truth, ordered by tag then start. */
  labels: FaultLabel[]
}

export const DEFAULT_START_US = Date.UTC(2026, 0, 1) * 1000
export const DEFAULT_KINDS: readonly FaultKind[] = ['spike', 'drift', 'stuck', 'oscillation']

/**
 * Fault parameters, as fractions of the tag's span. Spikes and oscillations sit around the
 * simulator's default magnitude (a fifth of the span); a drift runs for minutes, as sensor
 * drift does, and ends at 0.2 to 4 spans from where it started.
 */
const FAULT_PARAMS = {
  spike: { seconds: [1, 3], magnitude: [0.2, 0.5] },
  drift: { seconds: [120, 600], magnitude: [0.1, 0.4] }, // per minute
  stuck: { seconds: [30, 300], magnitude: [0, 0] },
  oscillation: { seconds: [30, 300], magnitude: [0.1, 0.3] },
  dropout: { seconds: [30, 300], magnitude: [0, 0] },
} as const satisfies Record<FaultKind, { seconds: readonly [number, number], magnitude: readonly [number, number] }>

/** Healthy time after a fault before the next may start, s: a window and some. */
const RECOVERY_SECONDS = 120

interface Generator { span: number, next: (tMs: number) => number }

function uniform (random: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * random()
}

function quantize (x: number, step: number): number {
  return Math.round(x / step) * step
}

/** A healthy signal of a shape, its parameters varied per tag so a model cannot learn one tag's constants. */
function generatorOf (shape: SignalShape, random: () => number): Generator {
  const phase = random() * 2 * Math.PI
  const vary = (): number => uniform(random, 0.7, 1.3)
  switch (shape) {
    case 'pump_speed': {
      const mean = 1450 * vary(); const amp = 120 * vary(); const period = 600_000 * vary(); const sd = 4 * vary()
      return { span: 300, next: t => swing(t, mean, amp, period, phase) + noise(random, sd) }
    }
    case 'pump_pressure': {
      // Pump affinity: head grows with the square of speed.
      const head = 42 * vary(); const amp = 120 * vary(); const period = 600_000 * vary(); const sd = 0.15 * vary()
      return { span: 10, next: t => head * (swing(t, 1450, amp, period, phase) / 1450) ** 2 + noise(random, sd) }
    }
    case 'motor_temp': {
      const mean = 65 * vary(); const amp = 6 * vary(); const period = 1_800_000 * vary(); const sd = 0.3 * vary()
      // int16 register, 0.1 degC per count
      return { span: 20, next: t => quantize(swing(t, mean, amp, period, phase) + noise(random, sd), 0.1) }
    }
    case 'tank_level': {
      const period = 3_600_000 * vary(); const sd = 0.005 * vary()
      // uint16 register, mm
      return { span: 4, next: t => quantize(fillDraw(t, 1.2, 7.8, period, phase) + noise(random, sd), 0.001) }
    }
    case 'tank_temp': {
      const mean = 18 * vary(); const amp = 5 * vary(); const sd = 0.1 * vary()
      // Coarse on purpose: many steps are exactly 0 in healthy data, as on real int16 registers.
      return { span: 10, next: t => quantize(swing(t, mean, amp, 86_400_000, phase) + noise(random, sd), 0.1) }
    }
    case 'flow_rate': {
      const mean = 32 * vary(); const amp = 8 * vary(); const period = 900_000 * vary(); const sd = 0.4 * vary()
      return { span: 15, next: t => Math.max(0, swing(t, mean, amp, period, phase) + noise(random, sd)) }
    }
    case 'line_pressure': {
      // Sparkplug edge pressure: a setpoint with a slow swing and uniform sensor noise.
      const base = uniform(random, 20, 60); const amp = 2 * vary()
      return { span: 8, next: t => base + amp * Math.sin(t / 60_000 + phase) + (random() - 0.5) * 0.2 }
    }
  }
}

const FIELD_OF: Record<SignalShape, [string, string]> = {
  pump_speed: ['pump', 'speed'],
  pump_pressure: ['pump', 'discharge_pressure'],
  motor_temp: ['pump', 'motor_temp'],
  tank_level: ['tank', 'level'],
  tank_temp: ['tank', 'temperature'],
  flow_rate: ['fm', 'rate'],
  line_pressure: ['edge', 'pressure'],
}

/** Faults of one tag: random kinds at exponential gaps, never overlapping, each followed by a recovery. */
function planFaults (o: Required<DatasetOptions>, tag: string, device: string, span: number, random: () => number, firstId: number): ActiveFault[] {
  const faults: ActiveFault[] = []
  if (o.kinds.length === 0) return faults
  let t = o.quietSeconds + -Math.log(1 - random()) * o.meanGapSeconds
  while (true) {
    const kind = o.kinds[Math.floor(random() * o.kinds.length)]!
    const p = FAULT_PARAMS[kind]
    const seconds = Math.round(uniform(random, p.seconds[0], p.seconds[1]))
    if (t + seconds > o.seconds) break
    const sign = random() < 0.5 ? -1 : 1
    const startUs = o.startUs + Math.round(t) * 1_000_000
    faults.push({
      id: firstId + faults.length,
      kind,
      device,
      tag,
      field: tag.slice(device.length + 1),
      startUs,
      endUs: startUs + seconds * 1_000_000,
      magnitude: kind === 'stuck' || kind === 'dropout' ? 0 : sign * uniform(random, p.magnitude[0], p.magnitude[1]) * span,
      periodMs: kind === 'oscillation' ? Math.round(uniform(random, 2, 10)) * 1000 : 2000,
    })
    t = Math.round(t) + seconds + RECOVERY_SECONDS + -Math.log(1 - random()) * o.meanGapSeconds
  }
  return faults
}

/** Generate a labelled dataset. Deterministic for given options. */
export function generateDataset (opts: DatasetOptions): Dataset {
  const o: Required<DatasetOptions> = { startUs: DEFAULT_START_US, kinds: DEFAULT_KINDS, meanGapSeconds: 1800, quietSeconds: 300, ...opts }
  if (!Number.isInteger(o.tags) || o.tags <= 0) throw new RangeError(`dataset tags must be a positive integer, got ${o.tags}`)
  if (!Number.isInteger(o.seconds) || o.seconds <= 0) throw new RangeError(`dataset seconds must be a positive integer, got ${o.seconds}`)
  const series: Series[] = []
  const labels: FaultLabel[] = []
  for (let i = 0; i < o.tags; i++) {
    const shape = SIGNAL_SHAPES[i % SIGNAL_SHAPES.length]!
    const [deviceKind, field] = FIELD_OF[shape]
    const device = `ds${o.seed}/${deviceKind}${Math.floor(i / SIGNAL_SHAPES.length) + 1}-${i}`
    const tag = `${device}/${field}`
    // Separate streams: the healthy signal must not change when other faults are chosen.
    const gen = generatorOf(shape, seededRandom(o.seed * 7919 + i * 104_729 + 1))
    const faults = planFaults(o, tag, device, gen.span, seededRandom((o.seed * 7919 + i * 104_729) ^ 0x5eed), labels.length + 1)
    const timeUs = new Float64Array(o.seconds)
    const value = new Float64Array(o.seconds)
    let n = 0
    let next = 0
    for (let s = 0; s < o.seconds; s++) {
      const tUs = o.startUs + s * 1_000_000
      let v = gen.next(tUs / 1000)
      while (next < faults.length && faults[next]!.endUs <= tUs) next++
      const f = faults[next]
      if (f !== undefined && f.startUs <= tUs) {
        if (f.kind === 'dropout') continue
        v = applyFault(f, v, tUs)
      }
      timeUs[n] = tUs
      value[n] = v
      n++
    }
    series.push({ tag, shape, span: gen.span, timeUs: timeUs.subarray(0, n), value: value.subarray(0, n) })
    for (const f of faults) {
      const { field: _field, held: _held, ...label } = f
      labels.push(label)
    }
  }
  return { series, labels }
}
