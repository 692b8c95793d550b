// Which spooled batches already reached Kafka? After a crash, or a send whose outcome is
// unknown (timeout, lost connection), a batch may be in Kafka although the spool's cursor
// was not moved past it. This reads the points topic from the time the first such send could
// have started and returns, per source of interest, the highest seq found there. The sink
// skips spooled batches at or below it, so a resend does not write a batch twice.
import { createBatchConsumer, type KafkaSettings } from '../../common/kafka.js'
import { decodeBatch } from '../../schemas/wire/codec.js'

/** Slack for the send timestamps (set by this host's clock) against sinceMs. */
const CLOCK_SLACK_MS = 5000

export async function findLanded (kafka: KafkaSettings, topic: string, sinceMs: number, sources: ReadonlySet<string>): Promise<Map<string, number>> {
  const landed = new Map<string, number>()
  const consumer = createBatchConsumer(kafka, `${kafka.clientId}-spool-check-${process.pid}-${Date.now()}`)
  try {
    const from = await consumer.listOffsets({ topics: [topic], timestamp: BigInt(Math.max(0, sinceMs - CLOCK_SLACK_MS)) })
    const to = await consumer.listOffsets({ topics: [topic] })
    const starts = from.get(topic) ?? []
    const ends = to.get(topic) ?? []
    const offsets = []
    const open = new Map<number, bigint>() // partition -> offset of its last message to read
    for (let p = 0; p < ends.length; p++) {
      const end = ends[p] ?? 0n
      const start = starts[p] ?? -1n
      // -1: no message at or after the timestamp.
      const first = start < 0n ? end : start
      offsets.push({ topic, partition: p, offset: first })
      if (first < end) open.set(p, end - 1n)
    }
    if (open.size === 0) return landed
    const stream = await consumer.consume({ topics: [topic], mode: 'manual', offsets, autocommit: false, maxWaitTime: 200 })
    try {
      for await (const m of stream) {
        const last = open.get(m.partition)
        if (last === undefined) continue
        if (m.key !== undefined && sources.has(m.key) && m.value !== undefined) {
          const { seq } = decodeBatch(m.value)
          if (seq > (landed.get(m.key) ?? -1)) landed.set(m.key, seq)
        }
        if (m.offset >= last) open.delete(m.partition)
        if (open.size === 0) break
      }
    } finally {
      await stream.close()
    }
    return landed
  } finally {
    await consumer.close(true)
  }
}
