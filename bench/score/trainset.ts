// Training set for models/train/train.py: model input rows (built by workers/score/features.ts,
// the code the scorer runs) and their classes from simulated series, written as NumPy .npy files.
//
//   node dist/bench/score/trainset.js --out .fieldstream/trainset --seed 1
//
// Writes x.npy (float32 [rows, FEATURES]), y.npy (uint8 [rows]: 0 healthy, 1 + index in
// FAULT_KINDS), group.npy (uint32 [rows]: the series each row comes from) and meta.json (the options and the contract constants).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { FEATURES, MODEL_CONTRACT_VERSION, SUMMARY_FEATURES, WINDOW, BASELINE_TAU } from '../../schemas/model/contract.js'
import { FAULT_KINDS, type FaultKind } from '../../sim/modbus/faults.js'
import { seededRandom } from '../../sim/modbus/signals.js'
import { generateDataset, SIGNAL_SHAPES } from '../../sim/dataset.js'
import { trainingRows } from './labelled.js'

export interface TrainSetOptions {
  out: string
  seed: number
  tags: number
  hours: number
  /** Every hop-th window of a tag becomes a row. */
  hop: number
  /** Share of healthy windows kept. */
  keepNormal: number
  /**
   * Extra short series of other tags (their own seed), so that a tag's first minutes, when its
   * baseline has seen little of its swing (a fresh start of the pipeline, a new device), weigh
   * more than the one start per long series. 0: none.
   */
  startupTags: number
  /** Length of each start-up series, s. */
  startupSeconds: number
  /** Share of the start-up series' healthy windows kept. */
  startupKeepNormal: number
}

export const DEFAULT_TRAIN_SET: Omit<TrainSetOptions, 'out'> = { seed: 1, tags: 210, hours: 8, hop: 6, keepNormal: 0.5, startupTags: 4000, startupSeconds: 360, startupKeepNormal: 1 }

/**
 * Faults of the start-up series: not stuck. A baseline of a few minutes has taken in every value
 * of its warm-up, a pump's flow resting at exactly 0 included, so a rest and a stuck value both
 * read as a flat run at a level the baseline knows: the same input, one normal and one a fault.
 * Stuck is learnt from the long series, from the windows that show its onset (labelled.ts,
 * FLAT_RUN; models/README.md, "Flat signals").
 */
export const STARTUP_KINDS: readonly FaultKind[] = ['spike', 'drift', 'oscillation']

/** Seed of the start-up series: apart from any seed a long set uses (1, the held-out 101, the tests'). */
export const startupSeed = (seed: number): number => 1_000_000 + seed

/** A NumPy v1.0 .npy file: magic, header dict padded to 64 bytes, raw little-endian data. */
export function npy (data: Float32Array | Uint8Array | Uint32Array, shape: readonly number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Uint32Array ? '<u4' : '|u1'
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`
  const total = 10 + header.length + 1
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n'
  const pre = Buffer.alloc(10)
  pre.write('\x93NUMPY', 0, 'latin1')
  pre[6] = 1
  pre[7] = 0
  pre.writeUInt16LE(header.length, 8)
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)])
}

export function writeTrainSet (o: TrainSetOptions): { rows: number, perClass: Record<string, number> } {
  const long = generateDataset({ seed: o.seed, tags: o.tags, seconds: Math.round(o.hours * 3600) })
  // Start-up series: faults from soon after the warm-up on, and more often, so early faults are learnt as faults.
  const startup = o.startupTags > 0
    ? generateDataset({ seed: startupSeed(o.seed), tags: o.startupTags, seconds: o.startupSeconds, quietSeconds: 150, meanGapSeconds: 600, kinds: STARTUP_KINDS })
    : { series: [], labels: [] }
  const ds = { series: [...long.series, ...startup.series], labels: [...long.labels, ...startup.labels] }
  const keep = (g: number): number => (g < long.series.length ? o.keepNormal : o.startupKeepNormal)
  const { x, y, group, rows } = trainingRows(ds, o.hop, keep, seededRandom(o.seed ^ 0x7a1))
  mkdirSync(o.out, { recursive: true })
  writeFileSync(join(o.out, 'x.npy'), npy(x, [rows, FEATURES]))
  writeFileSync(join(o.out, 'y.npy'), npy(y, [rows]))
  writeFileSync(join(o.out, 'group.npy'), npy(group, [rows]))
  const perClass: Record<string, number> = { normal: 0 }
  for (const k of FAULT_KINDS) perClass[k] = 0
  for (const c of y) perClass[c === 0 ? 'normal' : FAULT_KINDS[c - 1]!]! += 1
  writeFileSync(join(o.out, 'meta.json'), JSON.stringify({
    contract: MODEL_CONTRACT_VERSION, window: WINDOW, features: FEATURES, summary_features: SUMMARY_FEATURES, baseline_tau: BASELINE_TAU,
    classes: ['normal', ...FAULT_KINDS], seed: o.seed, tags: o.tags, hours: o.hours, hop: o.hop, keep_normal: o.keepNormal,
    startup_tags: o.startupTags, startup_seconds: o.startupSeconds, startup_keep_normal: o.startupKeepNormal, startup_kinds: STARTUP_KINDS, startup_seed: startupSeed(o.seed), shapes: SIGNAL_SHAPES, rows, per_class: perClass, faults: ds.labels.length,
  }, null, 2) + '\n')
  return { rows, perClass }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const d = DEFAULT_TRAIN_SET
  const { values } = parseArgs({
    options: {
      out: { type: 'string' }, seed: { type: 'string', default: String(d.seed) }, tags: { type: 'string', default: String(d.tags) },
      hours: { type: 'string', default: String(d.hours) }, hop: { type: 'string', default: String(d.hop) }, 'keep-normal': { type: 'string', default: String(d.keepNormal) },
      'startup-tags': { type: 'string', default: String(d.startupTags) }, 'startup-seconds': { type: 'string', default: String(d.startupSeconds) },
      'startup-keep-normal': { type: 'string', default: String(d.startupKeepNormal) },
    },
  })
  if (values.out === undefined) throw new RangeError('--out <dir> is required')
  const num = (raw: string, name: string, integer: boolean): number => {
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new RangeError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`)
    return n
  }
  const result = writeTrainSet({
    out: values.out, seed: num(values.seed, 'seed', true), tags: num(values.tags, 'tags', true), hours: num(values.hours, 'hours', false),
    hop: num(values.hop, 'hop', true), keepNormal: Math.min(1, num(values['keep-normal'], 'keep-normal', false)),
    startupTags: values['startup-tags'] === '0' ? 0 : num(values['startup-tags'], 'startup-tags', true), startupSeconds: num(values['startup-seconds'], 'startup-seconds', true),
    startupKeepNormal: Math.min(1, num(values['startup-keep-normal'], 'startup-keep-normal', false)),
  })
  process.stdout.write(JSON.stringify({ out: values.out, ...result }) + '\n')
}
