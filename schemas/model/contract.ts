// The anomaly model contract (v1): what an ONNX model gets and gives, so anyone can drop in their
// own. schemas/model/contract.md explains each constant and how to rebuild the input from raw
// values; workers/score/features.ts is the reference implementation of that recipe.

/** Contract version; bump when any constant below or the feature recipe changes. */
export const MODEL_CONTRACT_VERSION = 1

/** Samples per window: the newest W good values of one tag, oldest first. */
export const WINDOW = 32

/**
 * Baseline time constant, samples: the per-tag running mean, variance and mean squared step are
 * exponentially weighted with alpha = max(1/n, 1/BASELINE_TAU) (exact statistics while n is small).
 * Long against a window, so a drift or a stuck value stands out against what the tag usually does.
 */
export const BASELINE_TAU = 900

/** After warm-up, a value enters the baseline clipped to mean ± BASELINE_CLIP * sd (a spike must not teach the baseline). */
export const BASELINE_CLIP = 5

/** After warm-up, a value equal to the previous one more than this many times in a row is not taken into the baseline (a stuck sensor must not teach it). */
export const BASELINE_MAX_REPEATS = 3

/** Good values a tag needs before its windows are scored: the baseline must have settled. */
export const WARMUP = 4 * WINDOW

/** Every normalized feature is clipped to ± FEATURE_CLIP, so a tag with a near-constant baseline cannot produce infinities. */
export const FEATURE_CLIP = 20

/** Floors of the baseline scales: sd >= SCALE_FLOOR_REL * |mean| + SCALE_FLOOR_ABS (same for the step scale). */
export const SCALE_FLOOR_REL = 1e-6
export const SCALE_FLOOR_ABS = 1e-9

/** Names of the engineered summary columns, in order, after the 2W window columns. */
export const SUMMARY_FEATURES = [
  'zero_step_fraction', // steps (x[i] - x[i-1], i = 0..W-1) that are exactly 0, / W
  'trailing_zero_step_fraction', // zero steps counted back from the newest, / W
  'step_rms', // root mean square of the normalized steps
  'step_max_abs', // max |normalized step|
  'curvature_max_abs', // max |step[i] - step[i-1]|, i = 1..W-1
  'level_mean', // mean of the normalized levels
  'level_max_abs', // max |normalized level|
  'step_mean', // mean of the normalized steps (the window's slope in baseline step units)
  'baseline_maturity', // min(n, BASELINE_TAU) / BASELINE_TAU: a young baseline has seen little of the tag's swing
] as const

/** Columns of one model input row: W levels, W steps, then the summary features. */
export const FEATURES = 2 * WINDOW + SUMMARY_FEATURES.length

/** Offsets of the column groups within a row. */
export const LEVEL_OFFSET = 0
export const STEP_OFFSET = WINDOW
export const SUMMARY_OFFSET = 2 * WINDOW

/** The model's one input: float32 [N, FEATURES], N dynamic (the batch). */
export const INPUT_NAME = 'input'
export const INPUT_TYPE = 'float32'

/**
 * The output read: float32 [N] or [N, 1], the anomaly score in [0, 1].
 * Fallback for plain skl2onnx classifiers (zipmap off): `probabilities` float32 [N, 2], column 1 read.
 */
export const OUTPUT_NAME = 'score'
export const PROBABILITIES_OUTPUT_NAME = 'probabilities'
export const OUTPUT_TYPE = 'float32'

/** Default alarm threshold of the shipped model (chosen on the validation split; see models/anomaly-v1.json). */
export const DEFAULT_THRESHOLD = 0.5
