// `scoring:` in the config file: the anomaly scoring stage of `fieldstream work` and the alerts
// it raises (workers/score-worker.ts, workers/alerts/).
import { Type } from '@sinclair/typebox'

const Section = { additionalProperties: false, default: {} } as const

export const ScoringSchema = Type.Object({
  /** Run the scoring stage in `fieldstream work` (its own consumer group on the points topic). */
  enabled: Type.Boolean({ default: true }),
  /** Consumer group of the scoring stage. */
  groupId: Type.String({ minLength: 1, default: 'fieldstream-score' }),
  /** ONNX model file (see schemas/model/contract.md); empty: the shipped models/anomaly-v1.onnx. */
  model: Type.String({ default: '' }),
  /** Scoring threads; each owns a share of the tags (tag id modulo threads). */
  threads: Type.Integer({ minimum: 1, maximum: 32, default: 1 }),
  /** A tag is scored again after this many new good points. */
  hop: Type.Integer({ minimum: 1, maximum: 32, default: 8 }),
  alerts: Type.Object({
    /** Score at or above which an alert opens... Default: the `threshold` in the model's metadata file (<model>.json), calibrated when it was trained; 0.9 without one. */
    openAbove: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** ... once it has stayed there this long, s. */
    openAfterS: Type.Number({ minimum: 0, maximum: 86_400, default: 15 }),
    /** Score below which an open alert closes... */
    closeBelow: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
    /** ... once it has stayed there this long, s. */
    closeAfterS: Type.Number({ minimum: 0, maximum: 86_400, default: 60 }),
    /** POST every alert event here as JSON (optional). */
    webhook: Type.Object({
      url: Type.String({ pattern: '^(https?://.+)?$', default: '' }),
      timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
      retries: Type.Integer({ minimum: 0, maximum: 100, default: 5 }),
      maxQueued: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    }, Section),
  }, Section),
}, Section)
