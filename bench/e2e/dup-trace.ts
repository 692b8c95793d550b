// Where a doubled point came from, for `bench e2e`'s report: for a sample of the (tag, time)
// pairs stored more than once, the stored values and segment rows, and every Kafka message of
// the run's topic that carries the pair (partition, offset, source, batch seq). That sorts a
// duplicate into its cause:
// - one Kafka message, stored twice: the worker wrote one message twice (a replay it did not skip);
// - two messages with the same (source, seq): the sink sent one batch twice;
// - two messages with different seqs: the collector (or the simulator) made the point twice.
import type pg from 'pg'
import { createBatchConsumer, type KafkaSettings } from '../../common/kafka.js'
import { decodeBatch } from '../../schemas/wire/codec.js'

export interface DupSample {
  tag: string
  timeUs: number
  values: number[]
  /** Segment rows holding the pair: 1 when both copies came in one flush. */
  rows: number
  messages: Array<{ partition: number, offset: string, source: string, seq: number }>
}

export interface DupTrace {
  samples: DupSample[]
  /** Of the sampled pairs: found in one Kafka message / in two with one (source, seq) / in messages of different seqs. */
  oneMessage: number
  sameBatchTwice: number
  differentBatches: number
}

export async function traceDuplicates (db: pg.Client, kafka: KafkaSettings, topic: string, limit = 20): Promise<DupTrace> {
  const { rows } = await db.query<{ name: string, us: string, vals: number[], nrows: string }>(`
    SELECT t.name, (extract(epoch FROM u.t) * 1000000)::int8 AS us, array_agg(u.v) AS vals, count(DISTINCT p.ctid) AS nrows
    FROM points p JOIN tags t ON t.id = p.tag_id, unnest(p.ts, p.vals) AS u(t, v)
    GROUP BY t.name, u.t HAVING count(*) > 1 ORDER BY u.t LIMIT $1`, [limit])
  const samples = new Map<string, DupSample>(rows.map(r => [`${r.name}|${r.us}`, { tag: r.name, timeUs: Number(r.us), values: r.vals, rows: Number(r.nrows), messages: [] }]))
  const tags = new Set(rows.map(r => r.name))
  const consumer = createBatchConsumer(kafka, `${kafka.clientId}-dup-trace-${process.pid}-${Date.now()}`)
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? []
    const open = new Map<number, bigint>()
    ends.forEach((end, p) => { if (end > 0n) open.set(p, end - 1n) })
    if (open.size > 0) {
      const stream = await consumer.consume({ topics: [topic], mode: 'manual', offsets: ends.map((_e, partition) => ({ topic, partition, offset: 0n })), autocommit: false, maxWaitTime: 200 })
      try {
        for await (const m of stream) {
          const last = open.get(m.partition)
          if (last === undefined) continue
          if (m.value !== undefined) {
            const b = decodeBatch(m.value)
            if (b.tags.some(tag => tags.has(tag))) {
              for (let i = 0; i < b.tagIndex.length; i++) {
                const s = samples.get(`${b.tags[b.tagIndex[i]!]}|${b.timeUs[i]}`)
                if (s !== undefined) s.messages.push({ partition: m.partition, offset: m.offset.toString(), source: b.source, seq: b.seq })
              }
            }
          }
          if (m.offset >= last) open.delete(m.partition)
          if (open.size === 0) break
        }
      } finally {
        await stream.close()
      }
    }
  } finally {
    await consumer.close(true)
  }
  const out: DupTrace = { samples: [...samples.values()], oneMessage: 0, sameBatchTwice: 0, differentBatches: 0 }
  for (const s of out.samples) {
    const offsets = new Set(s.messages.map(m => `${m.partition}@${m.offset}`))
    const batches = new Set(s.messages.map(m => `${m.source}#${m.seq}`))
    if (offsets.size <= 1) out.oneMessage++
    else if (batches.size === 1) out.sameBatchTwice++
    else out.differentBatches++
  }
  return out
}
