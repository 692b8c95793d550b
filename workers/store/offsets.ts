// Durable consumer offsets: the next Kafka offset per partition whose data is NOT yet in
// the store, kept in the store itself and advanced in the same transaction as the rows.
import type { Sql } from './sql.js'

export interface OffsetAdvance {
  partition: number
  /** What this writer believes is stored now (null: nothing yet); the fence. */
  expected: bigint | null
  /** The offset after the last message of the flush. */
  next: bigint
}

export async function loadOffsets (db: Sql, groupId: string, topic: string, partitions: readonly number[]): Promise<Map<number, bigint | null>> {
  // Rows exist for every partition a writer may fence on, so the UPDATE below always finds one.
  await db.query(
    `INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
     SELECT $1, $2, p, NULL FROM unnest($3::int[]) AS p ON CONFLICT DO NOTHING`, [groupId, topic, partitions])
  const { rows } = await db.query<{ partition: number, next_offset: string | null }>(
    'SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])',
    [groupId, topic, partitions])
  return new Map(rows.map(r => [r.partition, r.next_offset === null ? null : BigInt(r.next_offset)]))
}

/**
 * Inside the flush's transaction: move each partition from `expected` to `next`.
 * Returns the partitions whose stored offset was not `expected` (another worker wrote
 * them since: this flush must roll back).
 */
export async function advanceOffsets (db: Sql, groupId: string, topic: string, advances: readonly OffsetAdvance[]): Promise<number[]> {
  const { rows } = await db.query<{ partition: number }>(
    `UPDATE consumer_offsets o SET next_offset = v.next, updated_at = now()
     FROM unnest($3::int[], $4::int8[], $5::int8[]) AS v(partition, expected, next)
     WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = v.partition
       AND o.next_offset IS NOT DISTINCT FROM v.expected
     RETURNING o.partition`,
    [groupId, topic, advances.map(a => a.partition), advances.map(a => a.expected?.toString() ?? null), advances.map(a => a.next.toString())])
  const moved = new Set(rows.map(r => r.partition))
  return advances.filter(a => !moved.has(a.partition)).map(a => a.partition)
}
