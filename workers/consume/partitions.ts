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

/**
 * Queue a message in offset order, unless the queue holds that offset already (then false:
 * drop it).
 *
 * Kafka delivers a partition again from an earlier offset after every group join: the client
 * (@platformatic/kafka, like the Java one) re-reads each assigned partition from the group's
 * committed offset, and the worker commits to Kafka only after a flush is durable, so that
 * offset trails what it holds. A partition kept through a rebalance (another worker joining or
 * leaving, or this one rejoining after a missed heartbeat) comes again from there: messages
 * already cut are below `cutNext` and skipped at the next cut, but messages still queued were
 * queued twice and stored twice in one flush, which the offset fence cannot see (bench e2e's
 * doubled points, issue #8; test/workers/rejoin-replay.test.ts). An offset the queue does not
 * hold is kept, in order: a state may hold a later range than it was redelivered (one made by
 * a fetch that was under way at a revocation), and the earlier messages must not be lost.
 */
export function admit (state: PartitionState, m: BatchMessage): boolean {
  const q = state.queue
  const last = q.at(-1)
  if (last === undefined || m.offset > last.offset) {
    q.push(m)
    return true
  }
  const i = firstAtOrAfter(q, m.offset)
  if (q[i]?.offset === m.offset) return false
  q.splice(i, 0, m)
  return true
}

/** Index of the first queued message at or after `offset` (the queue is in offset order). */
function firstAtOrAfter (q: readonly BatchMessage[], offset: bigint): number {
  let lo = 0
  let hi = q.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (q[mid]!.offset < offset) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Put messages of a rolled-back flush back, keeping offset order and each offset once (the
 * queue may hold a redelivered copy of one). Returns the bytes of the copies left out.
 */
export function requeue (state: PartitionState, messages: readonly BatchMessage[]): number {
  const all = [...messages, ...state.queue].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
  let dropped = 0
  state.queue = all.filter((m, i) => {
    if (i === 0 || m.offset !== all[i - 1]!.offset) return true
    dropped += m.value.length
    return false
  })
  return dropped
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
