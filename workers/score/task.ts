// Piscina task: anomaly scoring in a worker thread. One scorer per thread, created on the first
// task from workerData; the caller partitions tags between threads (e.g. tagId % threads) and
// sends each thread only its tags' points, so a tag's window lives in exactly one thread.
//
//   const pool = new Piscina({ filename: SCORE_TASK_FILE, workerData: { hop: 8 } satisfies ScoreWorkerData })
//   const result: ScoreTaskResult = await pool.run(task, { transferList: [task.tagIds.buffer, ...] })
//
// Note: a pool spreads tasks over idle threads at will; to pin tag partitions to threads use one
// single-thread pool per partition (minThreads = maxThreads = 1).
import { fileURLToPath } from 'node:url'
import { workerData } from 'piscina'
import { createScorer, scorerOptions, type Scorer, type ScorerOptions, type ScoreResult } from './scorer.js'

/** Data each scoring thread starts with: the scorer's options. */
export type ScoreWorkerData = ScorerOptions

/** Points of this thread's tags, as columns (transfer the buffers, don't clone them). */
export interface ScoreTask {
  tagIds: Int32Array
  timeUs: Float64Array
  value: Float64Array
  quality: Uint16Array
  /** Score the due tags after taking the points. Default true. */
  score?: boolean
}

export interface ScoreTaskResult extends ScoreResult {
  /** Points taken (the rest were bad, historical, late or not finite). */
  taken: number
  /** Tags this thread holds state for. */
  tags: number
}

/** The file to give Piscina as `filename`. */
export const SCORE_TASK_FILE = fileURLToPath(import.meta.url)

let scorer: Promise<Scorer> | undefined

export default async function score (task: ScoreTask): Promise<ScoreTaskResult> {
  scorer ??= createScorer((workerData ?? {}) as ScoreWorkerData)
  const s = await scorer
  if (task.score === false) {
    const taken = s.pushColumns(task.tagIds, task.timeUs, task.value, task.quality)
    return { model: s.model, tagIds: new Int32Array(0), ts: new Float64Array(0), scores: new Float32Array(0), taken, tags: s.tags }
  }
  // A tag is scored once per scoreDue, on its newest window: a task carrying minutes of one tag
  // (a backlog after a restart) must be cut into slices of at most `hop` points per tag, or the
  // windows in between would never be scored.
  const hop = scorerOptions((workerData ?? {}) as ScoreWorkerData).hop
  const results: ScoreResult[] = []
  let taken = 0
  let from = 0
  const n = task.tagIds.length
  while (from < n) {
    const inSlice = new Map<number, number>()
    let to = from
    for (; to < n; to++) {
      const id = task.tagIds[to]!
      const c = (inSlice.get(id) ?? 0) + 1
      if (c > hop) break
      inSlice.set(id, c)
    }
    taken += s.pushColumns(task.tagIds.subarray(from, to), task.timeUs.subarray(from, to), task.value.subarray(from, to), task.quality.subarray(from, to))
    if (s.due > 0) results.push(await s.scoreDue())
    from = to
  }
  return { ...concat(s.model, results), taken, tags: s.tags }
}

function concat (model: string, parts: readonly ScoreResult[]): ScoreResult {
  if (parts.length === 1) return parts[0]!
  const total = parts.reduce((sum, p) => sum + p.tagIds.length, 0)
  const out: ScoreResult = { model, tagIds: new Int32Array(total), ts: new Float64Array(total), scores: new Float32Array(total) }
  let at = 0
  for (const p of parts) {
    out.tagIds.set(p.tagIds, at)
    out.ts.set(p.ts, at)
    out.scores.set(p.scores, at)
    at += p.tagIds.length
  }
  return out
}
