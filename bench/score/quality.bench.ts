// `fieldstream bench quality`: precision and recall of an anomaly model per fault kind, on
// held-out simulated series (a seed the model was not trained on; the shipped model trained on
// seed 1). For each kind, one set with only that kind injected goes through the real scorer
// (workers/score/scorer.ts, a score every `hop` points per tag) and alarm events are matched to
// the fault labels as schemas/model/contract.md defines ("Measuring a model").
import { existsSync, readFileSync } from 'node:fs'
import { DEFAULT_THRESHOLD } from '../../schemas/model/contract.js'
import type { FaultKind } from '../../sim/modbus/faults.js'
import { generateDataset, type Dataset } from '../../sim/dataset.js'
import { createScorer, SHIPPED_MODEL_PATH } from '../../workers/score/scorer.js'
import { printResult } from '../machine.js'
import { matchEvents, type KindQuality, type TagScores } from './labelled.js'

export interface QualityBenchOptions {
  /** Held-out seed (the shipped model trained on seed 1). Default 101. */
  seed: number
  tags: number
  hours: number
  hop: number
  /** Alarm threshold. Default: the model's own (its .json), else the contract default. */
  threshold: number | undefined
  modelPath: string
  kinds: readonly FaultKind[]
}

export const DEFAULT_QUALITY_BENCH: QualityBenchOptions = {
  seed: 101, tags: 70, hours: 4, hop: 8, threshold: undefined, modelPath: SHIPPED_MODEL_PATH, kinds: ['spike', 'stuck', 'drift', 'oscillation'],
}

/** The threshold recorded beside a model (models/<name>.json, `threshold`), if any. */
export function modelThreshold (modelPath: string): number | undefined {
  const meta = modelPath.replace(/\.onnx$/i, '.json')
  if (!existsSync(meta)) return undefined
  const t = (JSON.parse(readFileSync(meta, 'utf8')) as { threshold?: unknown }).threshold
  return typeof t === 'number' ? t : undefined
}

/** Run a dataset through a scorer in time order, as live data would arrive; scores per tag. */
export async function scoreDataset (ds: Dataset, modelPath: string, hop: number): Promise<Map<string, TagScores>> {
  const scorer = await createScorer({ modelPath, hop, initialTags: ds.series.length })
  try {
    const out = new Map<string, TagScores>()
    const ids = ds.series.map((s, i) => { out.set(s.tag, { ts: [], scores: [] }); return i })
    const cursor = new Int32Array(ds.series.length)
    const firstUs = Math.min(...ds.series.map(s => s.timeUs[0] ?? Infinity))
    const lastUs = Math.max(...ds.series.map(s => s.timeUs.at(-1) ?? -Infinity))
    for (let t = firstUs; t <= lastUs; t += 1_000_000) {
      for (let i = 0; i < ds.series.length; i++) {
        const s = ds.series[i]!
        const c = cursor[i]!
        if (c < s.timeUs.length && s.timeUs[c] === t) {
          scorer.push(ids[i]!, t, s.value[c]!, 0xc0)
          cursor[i] = c + 1
        }
      }
      if (scorer.due === 0) continue
      const r = await scorer.scoreDue()
      for (let k = 0; k < r.tagIds.length; k++) {
        const ts = out.get(ds.series[r.tagIds[k]!]!.tag)!
        ts.ts.push(r.ts[k]!)
        ts.scores.push(r.scores[k]!)
      }
    }
    return out
  } finally {
    await scorer.close()
  }
}

export async function measureQuality (o: QualityBenchOptions): Promise<{ threshold: number, perKind: KindQuality[], windows: number }> {
  const threshold = o.threshold ?? modelThreshold(o.modelPath) ?? DEFAULT_THRESHOLD
  const perKind: KindQuality[] = []
  let windows = 0
  for (const kind of o.kinds) {
    const ds = generateDataset({ seed: o.seed, tags: o.tags, seconds: Math.round(o.hours * 3600), kinds: [kind] })
    const scored = await scoreDataset(ds, o.modelPath, o.hop)
    for (const s of scored.values()) windows += s.ts.length
    perKind.push(matchEvents(scored, ds.labels, threshold, kind))
  }
  return { threshold, perKind, windows }
}

export async function runQualityBench (o: QualityBenchOptions = DEFAULT_QUALITY_BENCH): Promise<void> {
  const started = Date.now()
  const { threshold, perKind, windows } = await measureQuality(o)
  const round = (x: number): number => Number(x.toFixed(3))
  const byKind: Record<string, unknown> = {}
  for (const q of perKind) byKind[q.kind] = { precision: round(q.precision), recall: round(q.recall), faults: q.faults, detected: q.detected, alarm_events: q.events, false_events: q.falseEvents }
  const target = (k: FaultKind): boolean => { const q = perKind.find(p => p.kind === k); return q === undefined || (q.recall >= 0.9 && q.precision >= 0.9) }
  printResult({
    bench: 'quality',
    model: o.modelPath.split('/').at(-1),
    threshold,
    ...byKind,
    targets_met: target('spike') && target('stuck') && target('drift'),
    target: 'recall >= 0.9 at precision >= 0.9 for spike, stuck, drift',
    held_out_seed: o.seed,
    tags: o.tags,
    hours: o.hours,
    hop: o.hop,
    windows_scored: windows,
    seconds: round((Date.now() - started) / 1000),
  })
}
