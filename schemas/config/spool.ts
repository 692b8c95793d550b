// Config of the collectors' Kafka sink and its store-and-forward spool (section
// `collectors.spool`). Owned by ingest/spool and ingest/kafka; options documented in
// ingest/spool/README.md.
import { Type, type Static } from '@sinclair/typebox'

export const SpoolPolicySchema = Type.Union([Type.Literal('reject-new'), Type.Literal('drop-oldest')], {
  description: 'what a full spool does: reject-new (write() fails with FS_SPOOL_FULL) or drop-oldest (evict the oldest segment)',
  default: 'reject-new',
})

export const SpoolSchema = Type.Object({
  /** Spool folder, relative to the working directory. One collector process per folder. */
  dir: Type.String({ minLength: 1, default: '.fieldstream/spool' }),
  /** Disk the spool may use, MB (all segment files together). Default 1024. */
  maxMB: Type.Number({ minimum: 1, maximum: 1_048_576, default: 1024 }),
  /** Size at which a segment file is closed and a new one started, MB. Default 16. */
  segmentMB: Type.Number({ exclusiveMinimum: 0, maximum: 1024, default: 16 }),
  /** What a full spool does. Default reject-new. */
  policy: SpoolPolicySchema,
  /**
   * When a spooled batch is durable: `write` fsyncs before write() resolves (concurrent writes
   * share one fsync); `interval` fsyncs every fsyncIntervalMs (a power loss can lose that much).
   */
  fsync: Type.Union([Type.Literal('write'), Type.Literal('interval')], { default: 'write' }),
  /** fsync period with fsync: interval, ms. Default 200. */
  fsyncIntervalMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 200 }),
  /** A Kafka send that has not been acknowledged after this long goes to the spool instead, ms. Default 5000. */
  sendTimeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 }),
  /** Batches sent per Kafka request while the spool drains. Default 500. */
  drainBatches: Type.Integer({ minimum: 1, maximum: 100_000, default: 500 }),
  /** First wait before retrying Kafka after a failed send, doubling up to retryMaxMs, ms. Default 250. */
  retryMinMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 250 }),
  /** Longest wait between Kafka retries, ms. Default 5000. */
  retryMaxMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 }),
}, { additionalProperties: false, default: {} })

export type SpoolConfig = Static<typeof SpoolSchema>
export type SpoolPolicy = Static<typeof SpoolPolicySchema>
