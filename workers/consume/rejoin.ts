// What both consuming stages (storage, scoring) do when their Kafka consumer fails: a broker
// outage or a lost connection is waited out, never a reason to stop the process.
import { createBatchConsumer, type BatchConsumer, type KafkaSettings } from '../../common/kafka.js'
import type { Logger } from '../../common/log.js'
import type { BatchMessage } from './partitions.js'

export type BatchStream = Awaited<ReturnType<BatchConsumer['consume']>>

export interface GroupReader {
  kafka: KafkaSettings
  groupId: string
  topic: string
  /** Largest fetch, bytes. */
  maxBytes: number
  onMessage (m: BatchMessage): void
  /** The consumer failed: its stream, or a rejoin it tried in the background after a lost heartbeat. */
  onFailure (err: Error): void
  onJoin? (payload: { assignments?: Array<{ topic: string, partitions: number[] }> }): void
}

/**
 * Joins the group and streams `topic` from the group's committed offsets. Every failure goes to
 * onFailure: a failed background rejoin is emitted on the consumer, not on the stream, and unheard
 * it would be thrown and end the process.
 */
export async function openGroupStream (r: GroupReader): Promise<{ consumer: BatchConsumer, stream: BatchStream }> {
  const consumer = createBatchConsumer(r.kafka, r.groupId, { sessionTimeout: 20_000, heartbeatInterval: 2_000, rebalanceTimeout: 30_000 })
  if (r.onJoin !== undefined) consumer.on('consumer:group:join', r.onJoin)
  consumer.on('error', err => { r.onFailure(err as Error) })
  let stream: BatchStream
  try {
    stream = await consumer.consume({ topics: [r.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 100, maxBytes: r.maxBytes })
  } catch (err) {
    await closeConsumer(consumer)
    throw err
  }
  stream.on('data', r.onMessage)
  stream.on('error', err => { r.onFailure(err) })
  return { consumer, stream }
}

/** Longest wait between two attempts to join the group again, ms. */
const MAX_BACKOFF_MS = 2000

/** Leave the group and close; bounded, because with the broker gone leaving may never be answered. */
export async function closeConsumer (consumer: BatchConsumer, timeoutMs = 10_000): Promise<void> {
  await new Promise<void>(resolve => {
    setTimeout(resolve, timeoutMs).unref()
    consumer.close(true, () => { resolve() })
  })
}

/** Calls `open` until it succeeds or `stopping()` says to give up, with capped exponential backoff. */
export async function rejoinWithBackoff (open: () => Promise<void>, stopping: () => boolean, log: Logger): Promise<void> {
  for (let attempt = 0; !stopping(); attempt++) {
    try {
      await open()
      if (attempt > 0) log.info(`Kafka consumer joined after ${attempt + 1} attempts`)
      return
    } catch (err) {
      const ms = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 3))
      if (attempt % 5 === 0) log.warn(`Kafka still unavailable (${firstLine(err)}); retrying in ${ms} ms`)
      await new Promise(resolve => setTimeout(resolve, ms))
    }
  }
}

export function firstLine (err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0] ?? ''
}
