// The anomaly scorer of one thread: takes decoded points in bulk, keeps each tag's window and
// baseline (features.ts), and scores, in one batched model call, every tag whose window moved by
// at least `hop` good points since its last score. Tags are partitioned between threads by the
// caller; a scorer owns its tags' state.
import { fileURLToPath } from 'node:url'
import { FEATURES, WINDOW } from '../../schemas/model/contract.js'
import { ValueKind, type PointBatch } from '../../schemas/points.js'
import { isHistorical, qualityMajor } from '../../schemas/quality.js'
import { WindowStore } from './features.js'
import { loadModel, type AnomalyModel, type ModelOptions } from './model.js'

/** The model shipped in the repository (models/anomaly-v1.onnx). */
export const SHIPPED_MODEL_PATH = fileURLToPath(new URL('../../../models/anomaly-v1.onnx', import.meta.url))

export interface ScorerOptions {
  /** ONNX model path. Default: the shipped models/anomaly-v1.onnx. */
  modelPath?: string
  /** Name stored with each score. Default: the model file name without `.onnx`. */
  modelName?: string
  /** A tag is scored again once this many new good points have entered its window. Default 8 (W = 32: each point is seen in 4 scored windows). */
  hop?: number
  /** Rows per model call; larger batches are cut. Default 16384. */
  maxBatch?: number
  /** Tag slots allocated up front (more are added as needed). Default 1024. */
  initialTags?: number
}

export interface FilledScorerOptions extends Required<Omit<ScorerOptions, 'modelName'>> { modelName: string | undefined }

export const DEFAULT_SCORER_OPTIONS: Omit<FilledScorerOptions, 'modelPath'> = { modelName: undefined, hop: 8, maxBatch: 16_384, initialTags: 1024 }

/** Scores of one scoreDue call, as columns. */
export interface ScoreResult {
  /** Model name (anomaly_scores.model). */
  model: string
  tagIds: Int32Array
  /** Time of each window's newest point, µs (anomaly_scores.ts). */
  ts: Float64Array
  /** In [0, 1]. */
  scores: Float32Array
}

export interface Scorer {
  readonly model: string
  /** Tags with state. */
  readonly tags: number
  /** Tags due for a score. */
  readonly due: number
  /** One point. Skipped (returns false): bad quality, historical, not finite, or not newer than the tag's last point. */
  push (tagId: number, timeUs: number, value: number, quality: number): boolean
  /** Points as columns (tagIds[i] is point i's tag id). Returns the points taken. */
  pushColumns (tagIds: ArrayLike<number>, timeUs: ArrayLike<number>, value: ArrayLike<number>, quality: ArrayLike<number>): number
  /** A decoded point batch; tagIdOf[k] is the id of dictionary entry k. Boolean tags are not scored. Returns the points taken. */
  pushBatch (batch: PointBatch, tagIdOf: ArrayLike<number>): number
  /** Score every due tag (its newest window, once) in batched model calls. */
  scoreDue (): Promise<ScoreResult>
  close (): Promise<void>
}

/** Fill defaults and check each option; throws RangeError naming `options.<field>`. */
export function scorerOptions (o: ScorerOptions = {}): FilledScorerOptions {
  const f: FilledScorerOptions = { modelPath: SHIPPED_MODEL_PATH, ...DEFAULT_SCORER_OPTIONS, ...o }
  const positiveInt = (v: number, field: string): void => {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`options.${field} must be a positive integer, got ${String(v)}`)
  }
  positiveInt(f.hop, 'hop')
  if (f.hop > WINDOW) throw new RangeError(`options.hop must be at most the window (${WINDOW}) so no point goes unscored, got ${f.hop}`)
  positiveInt(f.maxBatch, 'maxBatch')
  positiveInt(f.initialTags, 'initialTags')
  if (typeof f.modelPath !== 'string' || f.modelPath === '') throw new RangeError('options.modelPath must be a file path')
  return f
}

export async function createScorer (opts: ScorerOptions = {}, deps: { model?: AnomalyModel } = {}): Promise<Scorer> {
  const o = scorerOptions(opts)
  const modelOpts: ModelOptions = o.modelName === undefined ? {} : { name: o.modelName }
  const model = deps.model ?? await loadModel(o.modelPath, modelOpts)
  return new TagScorer(o, model)
}

class TagScorer implements Scorer {
  readonly #o: FilledScorerOptions
  readonly #model: AnomalyModel
  readonly #store: WindowStore
  readonly #slotOf = new Map<number, number>()
  #tagOf: Int32Array
  #lastUs: Float64Array
  #since: Int32Array
  #isDue: Uint8Array
  #dueList: Int32Array
  #dueCount = 0
  #rows = new Float32Array(0)

  constructor (o: FilledScorerOptions, model: AnomalyModel) {
    this.#o = o
    this.#model = model
    this.#store = new WindowStore(o.initialTags)
    this.#tagOf = new Int32Array(o.initialTags)
    this.#lastUs = new Float64Array(o.initialTags).fill(-Infinity)
    this.#since = new Int32Array(o.initialTags)
    this.#isDue = new Uint8Array(o.initialTags)
    this.#dueList = new Int32Array(o.initialTags)
  }

  get model (): string { return this.#model.name }
  get tags (): number { return this.#store.size }
  get due (): number { return this.#dueCount }

  push (tagId: number, timeUs: number, value: number, quality: number): boolean {
    // Bad values say nothing about the process; historical ones are replays after an outage
    // and never alerted on (schemas/quality.ts). Uncertain values are scored: "EU exceeded"
    // is exactly what an anomaly looks like.
    if (qualityMajor(quality) === 'bad' || isHistorical(quality) || !Number.isFinite(value)) return false
    let slot = this.#slotOf.get(tagId)
    if (slot === undefined) slot = this.#addTag(tagId)
    // Late and repeated points would fold time back into the window: not scored.
    if (!(timeUs > this.#lastUs[slot]!)) return false
    this.#lastUs[slot] = timeUs
    this.#store.push(slot, value)
    const since = ++this.#since[slot]!
    if (since >= this.#o.hop && this.#isDue[slot] === 0 && this.#store.ready(slot)) {
      this.#isDue[slot] = 1
      this.#dueList[this.#dueCount++] = slot
    }
    return true
  }

  pushColumns (tagIds: ArrayLike<number>, timeUs: ArrayLike<number>, value: ArrayLike<number>, quality: ArrayLike<number>): number {
    const n = tagIds.length
    if (timeUs.length !== n || value.length !== n || quality.length !== n) throw new RangeError(`pushColumns: columns differ in length (tagIds ${n}, timeUs ${timeUs.length}, value ${value.length}, quality ${quality.length})`)
    let taken = 0
    for (let i = 0; i < n; i++) if (this.push(tagIds[i]!, timeUs[i]!, value[i]!, quality[i]!)) taken++
    return taken
  }

  pushBatch (batch: PointBatch, tagIdOf: ArrayLike<number>): number {
    if (tagIdOf.length < batch.tags.length) throw new RangeError(`pushBatch: ${tagIdOf.length} tag ids for ${batch.tags.length} dictionary entries`)
    let taken = 0
    for (let i = 0; i < batch.tagIndex.length; i++) {
      const k = batch.tagIndex[i]!
      if (batch.tagKinds[k] === ValueKind.bool) continue
      if (this.push(tagIdOf[k]!, batch.timeUs[i]!, batch.value[i]!, batch.quality[i]!)) taken++
    }
    return taken
  }

  async scoreDue (): Promise<ScoreResult> {
    const n = this.#dueCount
    const tagIds = new Int32Array(n)
    const ts = new Float64Array(n)
    const scores = new Float32Array(n)
    if (n === 0) return { model: this.#model.name, tagIds, ts, scores }
    const chunk = Math.min(n, this.#o.maxBatch)
    if (this.#rows.length < chunk * FEATURES) this.#rows = new Float32Array(chunk * FEATURES)
    // Rows are built from the state as it is now, before any await: points pushed while the
    // model runs count toward the next call.
    const due = this.#dueList.slice(0, n)
    this.#dueCount = 0
    for (let i = 0; i < n; i++) {
      const slot = due[i]!
      tagIds[i] = this.#tagOf[slot]!
      ts[i] = this.#lastUs[slot]!
      this.#since[slot] = 0
      this.#isDue[slot] = 0
    }
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(chunk, n - start)
      for (let r = 0; r < rows; r++) this.#store.writeRow(due[start + r]!, this.#rows, r)
      scores.set(await this.#model.score(this.#rows, rows), start)
    }
    return { model: this.#model.name, tagIds, ts, scores }
  }

  close (): Promise<void> {
    return this.#model.close()
  }

  #addTag (tagId: number): number {
    const slot = this.#store.addSlot()
    if (slot === this.#tagOf.length) {
      const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T, fill?: number): T => {
        const b = make(a.length * 2)
        if (fill !== undefined) b.fill(fill)
        b.set(a)
        return b
      }
      this.#tagOf = grow(this.#tagOf, n => new Int32Array(n))
      this.#lastUs = grow(this.#lastUs, n => new Float64Array(n), -Infinity)
      this.#since = grow(this.#since, n => new Int32Array(n))
      this.#isDue = grow(this.#isDue, n => new Uint8Array(n))
      this.#dueList = grow(this.#dueList, n => new Int32Array(n))
    }
    this.#tagOf[slot] = tagId
    this.#slotOf.set(tagId, slot)
    return slot
  }
}

/** The asset of a tag name: everything before its last `/` (`pad1/pump2/speed` -> `pad1/pump2`). */
export function assetOfTag (tag: string): string {
  const cut = tag.lastIndexOf('/')
  return cut <= 0 ? tag : tag.slice(0, cut)
}

/**
 * Asset scores of one scoring round: an asset scores the max of its tags' scores in the round
 * (contract.md, "Assets"), with the tag that set it. Tags with no asset are left out.
 */
export function assetScores (result: ScoreResult, assetOf: (tagId: number) => string | undefined): Map<string, { score: number, tagId: number, ts: number }> {
  const out = new Map<string, { score: number, tagId: number, ts: number }>()
  for (let i = 0; i < result.tagIds.length; i++) {
    const asset = assetOf(result.tagIds[i]!)
    if (asset === undefined) continue
    const s = result.scores[i]!
    const cur = out.get(asset)
    if (cur === undefined || s > cur.score) out.set(asset, { score: s, tagId: result.tagIds[i]!, ts: result.ts[i]! })
  }
  return out
}
