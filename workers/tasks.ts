// Piscina task messages: what the main thread sends the encode pool and gets back.
// Buffers travel as transferred ArrayBuffers, never cloned.
import type { WrittenRanges } from './encode/segments.js'

/** Kafka message values of one flush, packed into one buffer. */
export interface EncodeTask {
  /** All values back to back. */
  values: ArrayBuffer
  /** Message i is values[bounds[i] .. bounds[i + 1]). */
  bounds: Uint32Array
}

export interface RejectedMessage {
  /** Index of the message in the task. */
  index: number
  /** Why it could not be decoded (FS_BATCH_CORRUPT message). */
  error: string
}

/** The database was unavailable while registering tags: retry the task later. */
export interface EncodeRetry {
  kind: 'retry'
  reason: string
}

export interface EncodeResult {
  kind: 'encoded'
  /** COPY binary rows (no header/trailer) for every good message. */
  rows: Uint8Array
  rowCount: number
  pointCount: number
  minBucketUs: number
  maxBucketUs: number
  /** Per tag, the time range written: marks the rollups to refresh. */
  written: WrittenRanges
  /** Per tag, the minute rows its points make (aggregate/contributions.ts); stored with `written`. */
  contributions: Uint8Array | undefined
  /** Messages that are not valid point batches: they go to the dead-letter topic. */
  rejected: RejectedMessage[]
  /** Tags this task registered for the first time. */
  newTags: number
}

/** Data each pool thread starts with. */
export interface EncodeWorkerData {
  databaseUrl: string
  /** Compute each flush's minute contributions (this worker keeps rollups). */
  contributions: boolean
}

export type EncodeOutcome = EncodeResult | EncodeRetry
