// `fieldstream bench score`: anomaly scoring rate on ONE thread (this one; onnxruntime with one
// intra-op thread), as a scoring worker thread runs it. Each round pushes `hop` new points to
// every tag, then one scoreDue() builds the model input of every tag (features.ts) into one
// batch and runs the model. windows_per_sec counts scoreDue alone (feature building +
// inference); end_to_end_windows_per_sec also pays for taking the points in.
import { WARMUP } from '../../schemas/model/contract.js'
import { noise, seededRandom, swing } from '../../sim/modbus/signals.js'
import { createScorer, SHIPPED_MODEL_PATH } from '../../workers/score/scorer.js'
import { median, printResult } from '../machine.js'

export interface ScoreBenchOptions {
  /** Tags scored per round (the batch). Default 20,000. */
  tags: number
  /** New points per tag between two scores. Default 8. */
  hop: number
  /** Rounds per run. Default 10. */
  rounds: number
  /** Timed runs; medians reported. Default 5. */
  runs: number
  modelPath: string
}

export const DEFAULT_SCORE_BENCH: ScoreBenchOptions = { tags: 20_000, hop: 8, rounds: 10, runs: 5, modelPath: SHIPPED_MODEL_PATH }

export async function runScoreBench (o: ScoreBenchOptions = DEFAULT_SCORE_BENCH): Promise<void> {
  const scorer = await createScorer({ modelPath: o.modelPath, hop: o.hop, initialTags: o.tags, maxBatch: Math.max(o.tags, 1) })
  const random = seededRandom(42)
  const period = Array.from({ length: o.tags }, () => 60 + random() * 1200)
  const tagIds = new Int32Array(o.tags * o.hop)
  const timeUs = new Float64Array(o.tags * o.hop)
  const value = new Float64Array(o.tags * o.hop)
  const quality = new Uint16Array(o.tags * o.hop).fill(0xc0)
  let second = 0
  // One round's points: hop seconds of every tag, interleaved as batches arrive.
  const fill = (): void => {
    let i = 0
    for (let s = 0; s < o.hop; s++, second++) {
      for (let tag = 0; tag < o.tags; tag++, i++) {
        tagIds[i] = tag
        timeUs[i] = 1_767_225_600_000_000 + second * 1_000_000
        value[i] = swing(second * 1000, 100, 20, period[tag]! * 1000, tag) + noise(random, 0.5)
      }
    }
  }
  try {
    // Warm-up: every tag past its baseline warm-up, and the JIT and the model's first calls.
    while (second < WARMUP + 4 * o.hop) {
      fill()
      scorer.pushColumns(tagIds, timeUs, value, quality)
      await scorer.scoreDue()
    }
    const scoreRates: number[] = []
    const pushRates: number[] = []
    const endToEnd: number[] = []
    let windows = 0
    let sum = 0
    for (let run = 0; run < o.runs; run++) {
      let pushNs = 0
      let scoreNs = 0
      let scored = 0
      for (let r = 0; r < o.rounds; r++) {
        fill()
        const t0 = process.hrtime.bigint()
        scorer.pushColumns(tagIds, timeUs, value, quality)
        const t1 = process.hrtime.bigint()
        const result = await scorer.scoreDue()
        const t2 = process.hrtime.bigint()
        pushNs += Number(t1 - t0)
        scoreNs += Number(t2 - t1)
        scored += result.scores.length
        sum += result.scores[0] ?? 0
      }
      windows += scored
      scoreRates.push(scored / (scoreNs / 1e9))
      pushRates.push((o.rounds * o.tags * o.hop) / (pushNs / 1e9))
      endToEnd.push(scored / ((pushNs + scoreNs) / 1e9))
    }
    if (windows !== o.runs * o.rounds * o.tags) throw new Error(`scored ${windows} windows, expected ${o.runs * o.rounds * o.tags}`)
    printResult({
      bench: 'score',
      model: scorer.model,
      windows_per_sec: Math.round(median(scoreRates)),
      target_windows_per_sec: 200_000,
      end_to_end_windows_per_sec: Math.round(median(endToEnd)),
      points_per_sec_ingest: Math.round(median(pushRates)),
      batch_windows: o.tags,
      hop: o.hop,
      rounds_per_run: o.rounds,
      runs: o.runs,
      threads: 1,
      checksum: Number(sum.toFixed(3)),
    })
  } finally {
    await scorer.close()
  }
}
