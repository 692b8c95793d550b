// Realistic field signals for simulated edge devices, and labelled faults on top of them.
// Deterministic for a given seed so a test can compare against the ground-truth label log.

import { seededRandom } from '../modbus/signals.js'

export type SignalKind = 'pressure' | 'flow' | 'tank_level' | 'totalizer'

/** One metric's generator: value at time t (ms). */
export interface Signal {
  kind: SignalKind
  next (tMs: number): number
}

/** A small seeded PRNG (mulberry32): repeatable runs without a dependency. The pad's generator. */
export const rng = seededRandom

/** Totalizers in PLCs are 32-bit counters: they roll over to 0. */
export const TOTALIZER_ROLLOVER = 2 ** 32

export function makeSignal (kind: SignalKind, random: () => number): Signal {
  const phase = random() * Math.PI * 2
  switch (kind) {
    // Discharge pressure, bar: a setpoint with slow process swing and sensor noise.
    case 'pressure': {
      const base = 20 + random() * 40
      return { kind, next: t => base + 2 * Math.sin(t / 60_000 + phase) + (random() - 0.5) * 0.2 }
    }
    // Flow, m3/h: pump duty cycles on and off every few minutes.
    case 'flow': {
      const rate = 50 + random() * 100
      return { kind, next: t => (Math.sin(t / 180_000 + phase) > -0.3 ? rate + (random() - 0.5) * 2 : 0) }
    }
    // Tank level, %: fills and draws down slowly between 10 and 90.
    case 'tank_level':
      return { kind, next: t => 50 + 40 * Math.sin(t / 600_000 + phase) + (random() - 0.5) * 0.1 }
    // Totalizer, pulses: monotonic, fast enough that it rolls over in a long run.
    case 'totalizer': {
      let total = Math.floor(random() * TOTALIZER_ROLLOVER * 0.999)
      let last: number | undefined
      return {
        kind,
        next: t => {
          if (last !== undefined) total = (total + Math.max(0, Math.round((t - last) * 50))) % TOTALIZER_ROLLOVER
          last = t
          return total
        },
      }
    }
  }
}

export type FaultKind = 'spike' | 'drift' | 'stuck' | 'oscillation' | 'dropout'

export interface FaultSpec {
  kind: FaultKind
  /** Tag-relative metric: `<device>/<metric>`. */
  metric: string
  /** ms since the epoch */
  startMs: number
  durationMs: number
  /** Spike height, drift per minute, oscillation amplitude (in the signal's units). Default 10. */
  magnitude?: number
}

/** The ground truth: what was injected where and when. */
export interface FaultLabel extends Required<FaultSpec> {
  node: string
}

/**
 * Apply the fault active at `tMs` (if any) to a value. undefined means "dropout": the metric
 * is not published at all for that tick.
 */
export function applyFault (fault: Required<FaultSpec> | undefined, tMs: number, value: number, stuckAt: () => number): number | undefined {
  if (fault === undefined || tMs < fault.startMs || tMs >= fault.startMs + fault.durationMs) return value
  const into = tMs - fault.startMs
  switch (fault.kind) {
    case 'spike': return into < 1000 ? value + fault.magnitude : value
    case 'drift': return value + fault.magnitude * into / 60_000
    case 'stuck': return stuckAt()
    case 'oscillation': return value + fault.magnitude * Math.sin(into / 500 * Math.PI)
    case 'dropout': return undefined
  }
}
