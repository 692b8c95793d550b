// What both consuming stages (storage, scoring) do when their Kafka consumer fails: a broker
// outage or a lost connection is waited out, never a reason to stop the process.
import type { BatchConsumer } from '../../common/kafka.js'
import type { Logger } from '../../common/log.js'

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
