// Offline labelled series: the simulators' own signals and faults, generated in memory at 1 s
// sampling without sockets, for training the anomaly model, measuring it (bench/score) and
// testing it. Same seed, same series; `kinds` only changes which faults are injected, never the
// healthy signal underneath, so per-kind sets of one seed share their normal data.
//
// Every shape is produced by the simulator code the demo runs, not a copy of its formulas: the
// pad's pumps, tanks, flow meters and RTU channels by the field definitions of a `SimDevice`
// (sim/modbus/devices.ts), encoded into registers as the device does (sim/modbus/encode.ts) and
// decoded as the collector does (so int16/uint16 scaling quantizes values exactly as in service),
// the Sparkplug metrics by `makeSignal` (sim/sparkplug/signals.ts). Faults are the pad's
// (`applyFault` of sim/modbus/faults.ts), applied where the pad applies them: to the engineering
// value before it is encoded. Per tag, the simulator's clock may run faster or slower and the
// samples may be taken with a busy collector's timing (JITTER_US); see models/README.md.
import type { ByteOrder } from '../schemas/config/modbus.js'
import { SimDevice, type DeviceKind, type SimField } from './modbus/devices.js'
import { encodeRegisters } from './modbus/encode.js'
import { applyFault, type ActiveFault, type FaultKind, type FaultLabel } from './modbus/faults.js'
import { seededRandom } from './modbus/signals.js'
import { makeSignal, type SignalKind } from './sparkplug/signals.js'

/**
 * Signal shapes: every scored tag kind the simulators produce (booleans and totalizers are not
 * scored). `pump_*`, `tank_*`, `flow_rate`: the Modbus pad's devices; `rtu_analog`: a channel of a
 * multi-channel RTU (uint16 x 0.01 %, swinging +-30 % with a period of 60 to 180 s);
 * `sp_*`: Sparkplug B edge metrics (`sp_flow` sits at exactly 0 while its pump is off).
 */
export const SIGNAL_SHAPES = [
  'pump_speed', 'pump_pressure', 'motor_temp', 'tank_level', 'tank_temp', 'flow_rate', 'rtu_analog', 'sp_pressure', 'sp_flow', 'sp_tank_level',
] as const
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
  /** Shapes to generate, tags spread evenly over them. Default SIGNAL_SHAPES. */
  shapes?: readonly SignalShape[]
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
  /**
   * Ground truth, ordered by tag then start. A label covers the samples its fault changed: from
   * the first to the last sample that differs from the healthy signal (a stuck fault's first
   * sample is the value it holds, so its label starts a second after the injection). A fault
   * that changed no sample is not labelled: a stuck flow meter while its pump is off still reads
   * exactly 0, as it should, and no model can or should flag it.
   */
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

/** A faulted value closer than this (times the span) to the healthy one counts as unchanged. */
const UNCHANGED = 1e-6

/**
 * One tag's signal. `read` gives the healthy and the faulted value of the sample of time `tUs`
 * (equal outside faults; undefined faulted value: a dropout, no sample), taken by the device at
 * `atUs` (polls are not always a second apart: see JITTER_US).
 */
interface Generator { span: number, read: (tUs: number, atUs: number) => { healthy: number, faulted: number | undefined } }

/**
 * Poll timing. A collector polls every second, but on a busy machine polls come early or late and
 * now and then one stalls for seconds (seen in the demo on a loaded 2-core machine: gaps of 2 to
 * 5 s); a Sparkplug node's publish timer likewise. The scorer still takes the values as one a
 * second (the contract assumes regular sampling), so a fast swing shows a step several times its
 * usual one. Per tag: a third are polled like clockwork; the others with intervals of 1 s +- up to
 * JITTER_US, and half of those stall before a sample with a probability of up to STALL_P, for
 * STALL_US more. Sample times stay 1 s apart in the dataset: the labels count samples.
 */
const JITTER_US = 500_000
const STALL_P = 0.02
const STALL_US: readonly [number, number] = [1_000_000, 4_000_000]

/** Where a shape comes from: a pad device's field, or a Sparkplug metric kind. */
type Source = { pad: DeviceKind, field: string } | { sparkplug: Exclude<SignalKind, 'totalizer'>, span: number }

/**
 * Where each shape comes from. A pad field has its span in the device's map; a Sparkplug metric
 * gets one here from its generator (fault magnitudes are fractions of it): pressure swings
 * +-2 bar, a flow runs at 50 to 150 m3/h, a tank level swings +-40 %.
 */
const SOURCES: Record<SignalShape, Source> = {
  pump_speed: { pad: 'pump', field: 'speed' },
  pump_pressure: { pad: 'pump', field: 'discharge_pressure' },
  motor_temp: { pad: 'pump', field: 'motor_temp' },
  tank_level: { pad: 'tank', field: 'level' },
  tank_temp: { pad: 'tank', field: 'temperature' },
  flow_rate: { pad: 'flowMeter', field: 'rate' },
  rtu_analog: { pad: 'rtu', field: 'ai' },
  sp_pressure: { sparkplug: 'pressure', span: 8 },
  sp_flow: { sparkplug: 'flow', span: 100 },
  sp_tank_level: { sparkplug: 'tank_level', span: 40 },
}

/** Channels of a simulated RTU (the demo's `sim.modbus.rtuChannels`): a tag is one of them. */
const RTU_CHANNELS = 120

/** Tag name parts of a shape: device kind and field (an RTU's channel is chosen per tag). */
const FIELD_OF: Record<SignalShape, [string, string]> = {
  pump_speed: ['pump', 'speed'],
  pump_pressure: ['pump', 'discharge_pressure'],
  motor_temp: ['pump', 'motor_temp'],
  tank_level: ['tank', 'level'],
  tank_temp: ['tank', 'temperature'],
  flow_rate: ['fm', 'rate'],
  rtu_analog: ['rtu', 'ai'],
  sp_pressure: ['edge', 'pressure_0'],
  sp_flow: ['edge', 'flow_0'],
  sp_tank_level: ['edge', 'tank_level_0'],
}

/** A simulator's time (µs) for a dataset time: a tag's simulator may run faster or slower than the dataset. */
type SimClock = (tUs: number) => number

function uniform (random: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * random()
}

const scratch = Buffer.alloc(4)
const registers = new Uint16Array(2)

/**
 * What the collector reads for a value a device computed: encoded into its register as the
 * simulated device does (sim/modbus/encode.ts: raw = value / scale, integers rounded and wrapped),
 * decoded as the collector does (raw * scale). int16 and uint16 fields come out quantized.
 */
function throughRegisters (value: number, f: SimField): number {
  encodeRegisters(value / f.scale, f.type, f.byteOrder, registers, 0)
  const order: ByteOrder = f.byteOrder
  const w = Array.from(registers.subarray(0, f.type === 'float32' ? 2 : 1), v => (order === 'BADC' || order === 'DCBA' ? ((v & 0xff) << 8) | (v >> 8) : v))
  if (order === 'CDAB' || order === 'DCBA') w.reverse()
  w.forEach((v, i) => scratch.writeUInt16BE(v, 2 * i))
  switch (f.type) {
    case 'uint16': return scratch.readUInt16BE(0) * f.scale
    case 'int16': return scratch.readInt16BE(0) * f.scale
    case 'float32': return scratch.readFloatBE(0) * f.scale
    default: throw new RangeError(`dataset: field ${f.name} has type ${f.type}, not a scored analog type`)
  }
}

/**
 * One field of a simulated pad device (sim/modbus/devices.ts), sampled at 1 s: the device's own
 * field definitions compute the value (the fields before it first, as the device does: a pump's
 * pressure follows its speed; an RTU's channels are independent, so only the one is computed),
 * faults are applied to the engineering value and the result goes through the registers, as in
 * SimDevice's refresh. A device is made per tag with a random index (phase, noise stream, word
 * order) and, for an RTU, a random channel (its period, 60 s plus 1 s per channel, and phase).
 */
function padGenerator (kind: DeviceKind, field: string, faults: ActiveFault[], random: () => number, clock: SimClock): Generator & { field: string } {
  const channel = Math.floor(random() * RTU_CHANNELS)
  const device = new SimDevice({ name: 'ds', kind, unitId: 1, index: Math.floor(random() * 1000), seed: 0, channels: channel + 1, totalizerStart: 0, tickMs: 0 })
  const name = kind === 'rtu' ? `ai${String(channel).padStart(3, '0')}` : field
  const at = device.fields.findIndex(f => f.name === name)
  const computed = kind === 'rtu' ? [device.fields[at]!] : device.fields.slice(0, at + 1)
  const target = device.fields[at]!
  const noise = seededRandom(Math.floor(random() * 2 ** 31))
  const values: Record<string, number> = {}
  let lastMs: number | undefined
  let next = 0
  return {
    span: target.span,
    field: name,
    read: (tUs, atUs) => {
      const tMs = clock(atUs) / 1000
      const ctx = { tMs, dtMs: lastMs === undefined ? 0 : tMs - lastMs, v: values, random: noise }
      lastMs = tMs
      for (const f of computed) values[f.name] = f.compute(ctx)
      const v = values[name]!
      const healthy = throughRegisters(v, target)
      while (next < faults.length && faults[next]!.endUs <= tUs) next++
      const f = faults[next]
      if (f === undefined || f.startUs > tUs) return { healthy, faulted: healthy }
      return { healthy, faulted: f.kind === 'dropout' ? undefined : throughRegisters(applyFault(f, v, tUs), target) }
    },
  }
}

/** A Sparkplug metric (its generator draws its own setpoint, rate and phase), faults as on the pad. */
function sparkplugGenerator (kind: Exclude<SignalKind, 'totalizer'>, span: number, faults: ActiveFault[], random: () => number, clock: SimClock): Generator {
  const signal = makeSignal(kind, random)
  let next = 0
  return {
    span,
    read: (tUs, atUs) => {
      const v = signal.next(clock(atUs) / 1000)
      while (next < faults.length && faults[next]!.endUs <= tUs) next++
      const f = faults[next]
      if (f === undefined || f.startUs > tUs) return { healthy: v, faulted: v }
      return { healthy: v, faulted: f.kind === 'dropout' ? undefined : applyFault(f, v, tUs) }
    },
  }
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

/** The span of a shape (before its generator exists: faults are planned first). */
function spanOf (shape: SignalShape): number {
  const s = SOURCES[shape]
  if ('sparkplug' in s) return s.span
  const probe = new SimDevice({ name: 'probe', kind: s.pad, unitId: 1, index: 0, seed: 0, channels: 1, totalizerStart: 0, tickMs: 0 })
  return probe.fields.find(f => f.name === (s.pad === 'rtu' ? 'ai000' : s.field))!.span
}

/** Generate a labelled dataset. Deterministic for given options. */
export function generateDataset (opts: DatasetOptions): Dataset {
  const o: Required<DatasetOptions> = { startUs: DEFAULT_START_US, kinds: DEFAULT_KINDS, meanGapSeconds: 1800, quietSeconds: 300, shapes: SIGNAL_SHAPES, ...opts }
  if (!Number.isInteger(o.tags) || o.tags <= 0) throw new RangeError(`dataset tags must be a positive integer, got ${o.tags}`)
  if (!Number.isInteger(o.seconds) || o.seconds <= 0) throw new RangeError(`dataset seconds must be a positive integer, got ${o.seconds}`)
  if (o.shapes.length === 0) throw new RangeError('dataset shapes must name at least one shape')
  const series: Series[] = []
  const labels: FaultLabel[] = []
  for (let i = 0; i < o.tags; i++) {
    const shape = o.shapes[i % o.shapes.length]!
    const [deviceKind, field0] = FIELD_OF[shape]
    const device = `ds${o.seed}/${deviceKind}${Math.floor(i / o.shapes.length) + 1}-${i}`
    // Separate streams: the healthy signal must not change when other faults are chosen.
    const random = seededRandom(o.seed * 7919 + i * 104_729 + 1)
    // Half the tags run on the simulators' own clock; the other half 0.6 to 1.6 times as fast,
    // so swings, duty cycles and ramps are not learnt as one set of periods.
    const speed = random() < 0.5 ? 1 : Math.exp(uniform(random, Math.log(0.6), Math.log(1.6)))
    const clock: SimClock = tUs => o.startUs + (tUs - o.startUs) * speed
    const source = SOURCES[shape]
    const span = spanOf(shape)
    // An RTU's channel (and so its field name) is drawn by its generator; faults are planned on a placeholder field first.
    const faults = planFaults(o, `${device}/${field0}`, device, span, seededRandom((o.seed * 7919 + i * 104_729) ^ 0x5eed), labels.length + 1)
    let gen: Generator
    let field = field0
    if ('pad' in source) {
      const g = padGenerator(source.pad, source.field, faults, random, clock)
      gen = g
      field = g.field
    } else {
      gen = sparkplugGenerator(source.sparkplug, source.span, faults, random, clock)
    }
    const tag = `${device}/${field}`
    const timeUs = new Float64Array(o.seconds)
    const value = new Float64Array(o.seconds)
    const firstChanged = new Float64Array(faults.length).fill(NaN)
    const lastChanged = new Float64Array(faults.length).fill(NaN)
    const poll = seededRandom(((o.seed * 7919 + i * 104_729) ^ 0x1a7e) >>> 0)
    const regular = poll() < 1 / 3
    const jitterUs = regular ? 0 : poll() * JITTER_US
    const stallP = regular || poll() < 0.5 ? 0 : poll() * STALL_P
    let atUs = o.startUs
    let n = 0
    let next = 0
    for (let s = 0; s < o.seconds; s++) {
      const tUs = o.startUs + s * 1_000_000
      if (s > 0) atUs += 1_000_000 + jitterUs * (2 * poll() - 1) + (poll() < stallP ? uniform(poll, STALL_US[0], STALL_US[1]) : 0)
      const { healthy, faulted } = gen.read(tUs, atUs)
      while (next < faults.length && faults[next]!.endUs <= tUs) next++
      const f = faults[next]
      if (f !== undefined && f.startUs <= tUs && (faulted === undefined || Math.abs(faulted - healthy) > UNCHANGED * span)) {
        if (Number.isNaN(firstChanged[next]!)) firstChanged[next] = tUs
        lastChanged[next] = tUs
      }
      if (faulted === undefined) continue
      timeUs[n] = tUs
      value[n] = faulted
      n++
    }
    series.push({ tag, shape, span, timeUs: timeUs.subarray(0, n), value: value.subarray(0, n) })
    faults.forEach((f, k) => {
      if (Number.isNaN(firstChanged[k]!)) return
      const { field: _field, held: _held, ...label } = f
      labels.push({ ...label, tag, startUs: firstChanged[k]!, endUs: lastChanged[k]! + 1_000_000 })
    })
  }
  return { series, labels }
}
