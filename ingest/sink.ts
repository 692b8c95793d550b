// The boundary between collectors and Kafka. A collector seals point batches and hands
// them to a BatchSink; the sink makes them durable (acknowledged by Kafka, or in the
// on-disk spool while Kafka is away) and sends them in order per source.
import type { PointBatch } from '../schemas/points.js'

export interface BatchSink {
  /**
   * Hand over one sealed batch (batch.source is the Kafka key).
   * Resolves once the batch is durable: acknowledged by Kafka or written to the spool.
   * A collector waits for it before acknowledging its own source (e.g. an MQTT PUBACK).
   * Rejects only when the batch cannot be kept at all (spool full under the reject policy).
   */
  write (batch: PointBatch): Promise<void>
  /** Flush what is pending and release resources. */
  close (): Promise<void>
}

/** A sink that keeps batches in memory: for unit tests of collectors. */
export class MemorySink implements BatchSink {
  readonly batches: PointBatch[] = []
  async write (batch: PointBatch): Promise<void> { this.batches.push(batch) }
  async close (): Promise<void> {}
}
