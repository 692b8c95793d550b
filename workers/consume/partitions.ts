// What the worker knows about each Kafka partition it reads: queued messages and the
// durable offset it fences on.
import type { Message } from '@platformatic/kafka'

export type BatchMessage = Message<string, Buffer, string, string>

export interface PartitionState {
  readonly partition: number
  /** Messages waiting for a flush, in offset order. */
  queue: BatchMessage[]
  /** Durable next offset from the store; undefined until loaded. */
  durable: bigint | null | undefined
  /** Next offset after the last message cut into a flush: the fence of the next flush. */
  cutNext: bigint | null
  /** Flushes holding messages of this partition that have not completed. */
  inFlight: number
  /**
   * Set when a flush of this partition failed its fence: flushes cut before are void too
   * (they are rolled back and their messages requeued), and no new flush is cut until they
   * have all come back, so a new flush never claims an offset range with a hole in it.
   */
  stale: boolean
}

export function newPartitionState (partition: number): PartitionState {
  return { partition, queue: [], durable: undefined, cutNext: null, inFlight: 0, stale: false }
}

/** Put messages of a rolled-back flush back, keeping offset order. */
export function requeue (state: PartitionState, messages: readonly BatchMessage[]): void {
  state.queue = [...messages, ...state.queue].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
}

/**
 * Commit to Kafka, per partition, the last of these messages (offset order). Kafka's offsets
 * are advisory in every stage (lag monitoring, faster restarts): a failed commit is only logged.
 */
export function commitLastPerPartition (messages: readonly BatchMessage[], onError: (err: Error) => void): void {
  const last = new Map<number, BatchMessage>()
  for (const m of messages) last.set(m.partition, m)
  for (const m of last.values()) Promise.resolve(m.commit()).catch(onError)
}
