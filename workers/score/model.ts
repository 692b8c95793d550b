// An anomaly model behind the contract (schemas/model/contract.md): loaded with onnxruntime-node
// on the CPU, one intra-op thread (a scorer runs per Piscina thread; the pool is the parallelism),
// its inputs and outputs checked once at load so a user's model that does not fit fails with a
// message naming what is wrong instead of producing nonsense scores.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import ort from 'onnxruntime-node'
import { FEATURES, INPUT_NAME, INPUT_TYPE, OUTPUT_NAME, OUTPUT_TYPE, PROBABILITIES_OUTPUT_NAME } from '../../schemas/model/contract.js'
import { ModelInvalid, ModelUnreadable } from './errors.js'

type ValueMetadata = ort.InferenceSession.ValueMetadata

/** How far outside [0, 1] a score may be from float rounding alone (a few float32 ulps at 1). */
const SCORE_TOLERANCE = 1e-6

export interface ModelOptions {
  /** Name stored with each score (anomaly_scores.model). Default: the file name without `.onnx`. */
  name?: string
  /** onnxruntime intra-op threads. Default 1. */
  intraOpNumThreads?: number
}

export interface AnomalyModel {
  readonly name: string
  readonly path: string
  /** The output read: `score`, or `probabilities` (column 1) for a plain skl2onnx classifier. */
  readonly output: string
  /** Scores of n rows of `input` (n x FEATURES, row-major), each in [0, 1]. */
  score (input: Float32Array, n: number): Promise<Float32Array>
  close (): Promise<void>
}

/** How the chosen output is read. */
interface OutputPlan { name: string, column: number, width: number }

const dims = (m: ValueMetadata): string => m.isTensor ? `[${m.shape.map(d => typeof d === 'string' ? (d === '' ? '?' : d) : String(d)).join(', ')}]` : '(not a tensor)'
/** A batch dimension: symbolic, or unknown (-1 / 0 in some exporters). */
const isDynamic = (d: number | string | undefined): boolean => typeof d === 'string' || (typeof d === 'number' && d <= 0)

/**
 * Check a model's declared inputs and outputs against the contract. Returns what is wrong (for
 * the FS_MODEL_INVALID message) or how to read the output.
 */
export function checkContract (inputs: readonly ValueMetadata[], outputs: readonly ValueMetadata[]): { problem: string } | { plan: OutputPlan } {
  const input = inputs.find(i => i.name === INPUT_NAME)
  if (input === undefined) return { problem: `it has no input named "${INPUT_NAME}" (inputs: ${inputs.map(i => `${i.name} ${dims(i)}`).join(', ') || 'none'})` }
  if (inputs.length !== 1) return { problem: `it has ${inputs.length} inputs (${inputs.map(i => i.name).join(', ')}); the contract feeds exactly one, "${INPUT_NAME}"` }
  if (!input.isTensor) return { problem: `input "${INPUT_NAME}" is not a tensor` }
  if (input.type !== INPUT_TYPE) return { problem: `input "${INPUT_NAME}" is ${input.type}, expected ${INPUT_TYPE}` }
  if (input.shape.length !== 2 || !isDynamic(input.shape[0]) || input.shape[1] !== FEATURES) {
    return { problem: `input "${INPUT_NAME}" has shape ${dims(input)}, expected [N, ${FEATURES}] with N dynamic (contract v1: ${FEATURES} features per window)` }
  }
  const score = outputs.find(o => o.name === OUTPUT_NAME)
  if (score !== undefined) {
    if (!score.isTensor || score.type !== OUTPUT_TYPE) return { problem: `output "${OUTPUT_NAME}" is ${score.isTensor ? score.type : 'not a tensor'}, expected ${OUTPUT_TYPE}` }
    const okShape = score.shape.length === 0 || // some exporters leave the shape undeclared; checked on the dry run
      (score.shape.length === 1 && isDynamic(score.shape[0])) ||
      (score.shape.length === 2 && isDynamic(score.shape[0]) && score.shape[1] === 1)
    if (!okShape) return { problem: `output "${OUTPUT_NAME}" has shape ${dims(score)}, expected [N] or [N, 1]` }
    return { plan: { name: OUTPUT_NAME, column: 0, width: 1 } }
  }
  const probs = outputs.find(o => o.name === PROBABILITIES_OUTPUT_NAME)
  if (probs !== undefined) {
    if (!probs.isTensor || probs.type !== OUTPUT_TYPE) return { problem: `output "${PROBABILITIES_OUTPUT_NAME}" is ${probs.isTensor ? probs.type : 'not a tensor (export the classifier with zipmap disabled)'}, expected ${OUTPUT_TYPE}` }
    if (probs.shape.length !== 2 || probs.shape[1] !== 2) return { problem: `output "${PROBABILITIES_OUTPUT_NAME}" has shape ${dims(probs)}, expected [N, 2] (healthy, fault)` }
    return { plan: { name: PROBABILITIES_OUTPUT_NAME, column: 1, width: 2 } }
  }
  return { problem: `it has no output named "${OUTPUT_NAME}" (float32 [N] or [N, 1]) nor "${PROBABILITIES_OUTPUT_NAME}" (float32 [N, 2]); outputs: ${outputs.map(o => `${o.name} ${dims(o)}`).join(', ') || 'none'}` }
}

/** Load and check a model. Throws ModelUnreadable (FS_MODEL_UNREADABLE) or ModelInvalid (FS_MODEL_INVALID). */
export async function loadModel (path: string, opts: ModelOptions = {}): Promise<AnomalyModel> {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new ModelUnreadable(`anomaly model ${path} cannot be read: ${(err as Error).message}`, { cause: err })
  }
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: opts.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    })
  } catch (err) {
    throw new ModelInvalid(`anomaly model ${path} is not a loadable ONNX model: ${(err as Error).message}`, { cause: err })
  }
  const checked = checkContract(session.inputMetadata, session.outputMetadata)
  if ('problem' in checked) {
    await session.release()
    throw new ModelInvalid(`anomaly model ${path} does not fit the model contract (schemas/model/contract.md): ${checked.problem}`)
  }
  const plan = checked.plan
  const name = opts.name ?? basename(path).replace(/\.onnx$/i, '')

  const score = async (input: Float32Array, n: number): Promise<Float32Array> => {
    if (input.length < n * FEATURES) throw new RangeError(`score: input holds ${input.length} values, ${n} rows need ${n * FEATURES}`)
    const out = new Float32Array(n)
    if (n === 0) return out
    const tensor = new ort.Tensor('float32', input.length === n * FEATURES ? input : input.subarray(0, n * FEATURES), [n, FEATURES])
    const result = await session.run({ [INPUT_NAME]: tensor }, [plan.name])
    const data = result[plan.name]!.data as Float32Array
    if (data.length !== n * plan.width) throw new ModelInvalid(`anomaly model ${path}: output "${plan.name}" has ${data.length} values for ${n} rows, expected ${n * plan.width}`)
    for (let i = 0; i < n; i++) {
      const s = data[i * plan.width + plan.column]!
      // A score outside [0, 1] means the model is not a probability (a logit, a distance): refuse it
      // loudly. Float32 rounding of a sigmoid lands a hair outside (1.0000001 was seen): that is a
      // probability, clamped.
      if (!(s >= -SCORE_TOLERANCE && s <= 1 + SCORE_TOLERANCE)) throw new ModelInvalid(`anomaly model ${path}: output "${plan.name}" row ${i} is ${s}, scores must lie in [0, 1]`)
      out[i] = s < 0 ? 0 : s > 1 ? 1 : s
    }
    return out
  }

  // One dry run, so a model whose declared shapes lie fails here and not on the first batch.
  await score(new Float32Array(2 * FEATURES), 2)
  return { name, path, output: plan.name, score, close: () => session.release() }
}
