// Injectable, labelled faults. Every injected fault is written to a ground-truth label log
// (what, which tag, from when to when, in µs like the points), so anomaly scoring can later be
// measured against what really happened.
import { appendFileSync } from 'node:fs'

export const FAULT_KINDS = ['spike', 'drift', 'stuck', 'oscillation', 'dropout'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultSpec {
  /** Simulated device name. */
  device: string
  /** Field name; required for every kind but dropout (the whole device stops answering). */
  field?: string
  kind: FaultKind
  /** How long the fault lasts, ms. Default: spike 1 poll-length (1000), others 60000. */
  durationMs?: number
  /** Delay before it starts, ms. Default 0. */
  startInMs?: number
  /** spike: added value; drift: change per minute; oscillation: amplitude. Engineering units. Default: 20% of the field's normal range. */
  magnitude?: number
  /** oscillation period, ms. Default 2000. */
  periodMs?: number
}

/** One ground-truth label: a fault as it was injected. */
export interface FaultLabel {
  id: number
  kind: FaultKind
  device: string
  /** Tag name the collector gives the field (`<device>/<field>`), or undefined for a dropout. */
  tag: string | undefined
  startUs: number
  endUs: number
  magnitude: number
  periodMs: number
}

export interface ActiveFault extends FaultLabel {
  field: string | undefined
  /** stuck: the value frozen at the fault's first use. */
  held?: number
}

/** The label log of one simulator run; optionally appended as JSON lines to a file. */
export class FaultLog {
  readonly labels: FaultLabel[] = []
  readonly #file: string | undefined

  constructor (file?: string) {
    this.#file = file
  }

  add (label: FaultLabel): void {
    this.labels.push(label)
    if (this.#file !== undefined) appendFileSync(this.#file, JSON.stringify(label) + '\n')
  }
}

/** The faulted value of a field at time tUs (value: what the healthy signal would be). */
export function applyFault (f: ActiveFault, value: number, tUs: number): number {
  switch (f.kind) {
    case 'spike': return value + f.magnitude
    case 'drift': return value + (f.magnitude * (tUs - f.startUs)) / 60e6
    case 'stuck':
      f.held ??= value
      return f.held
    case 'oscillation': return value + f.magnitude * Math.sin((2 * Math.PI * (tUs - f.startUs)) / (f.periodMs * 1000))
    case 'dropout': return value
  }
}
