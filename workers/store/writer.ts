// One flush, one transaction: COPY the segment rows, then advance the durable offsets.
// Either both are visible or neither is, so a crash at any point replays without doubles.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { COPY_HEADER, COPY_TRAILER } from '../encode/copy-binary.js'
import type { WrittenRanges } from '../encode/segments.js'
import { advanceOffsets, type OffsetAdvance } from './offsets.js'
import { sqlOfPg } from './sql.js'

const COPY_POINTS = 'COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)'

export interface FlushWrite {
  groupId: string
  topic: string
  rows: readonly Uint8Array[]
  advances: readonly OffsetAdvance[]
  /** Per tag, the time range the rows cover; recorded for the rollup refresher. */
  written?: WrittenRanges
  /** Called once the flush committed, with the id of the rollup_dirty row it wrote (if any). */
  onCommitted?: (dirtyId: number) => void
}

/** The connection died under a flush, or the flush outlived its deadline. Retryable. */
export class FlushInterrupted extends Error {
  readonly code = 'ECONNRESET'
}

/**
 * Returns the partitions that failed the offset fence (nothing was written then).
 * A connection that dies mid-COPY does not always fail the COPY stream, so the write also
 * fails on the client's 'error'/'end' and after `deadlineMs`, destroying the connection
 * (the transaction then rolls back on the server; the caller retries).
 */
export async function writeFlush (client: pg.PoolClient, w: FlushWrite, deadlineMs = 60_000): Promise<number[]> {
  let onBroken: (err: Error) => void = () => undefined
  const broken = new Promise<never>((_resolve, reject) => { onBroken = reject })
  const onError = (err: Error): void => { onBroken(new FlushInterrupted(`connection lost during flush: ${err.message}`)) }
  const onEnd = (): void => { onBroken(new FlushInterrupted('connection ended during flush')) }
  const timer = setTimeout(() => {
    onBroken(new FlushInterrupted(`flush did not complete within ${deadlineMs} ms`))
    // Unblock whatever the connection is stuck on; pg then fails its pending query.
    ;(client as unknown as { connection?: { stream?: { destroy (): void } } }).connection?.stream?.destroy()
  }, deadlineMs)
  client.on('error', onError)
  client.on('end', onEnd)
  try {
    return await Promise.race([transaction(client, w), broken])
  } finally {
    clearTimeout(timer)
    client.off('error', onError)
    client.off('end', onEnd)
  }
}

async function transaction (client: pg.PoolClient, w: FlushWrite): Promise<number[]> {
  await client.query('BEGIN')
  try {
    if (w.rows.some(r => r.length > 0)) {
      await pipeline(Readable.from([COPY_HEADER, ...w.rows.filter(r => r.length > 0), COPY_TRAILER], { objectMode: false }), client.query(copyFrom(COPY_POINTS)))
    }
    let dirtyId: number | undefined
    if (w.written !== undefined && w.written.tagIds.length > 0) {
      // In the same transaction as the rows: a replayed or rolled-back flush marks nothing.
      const { rows: [dirty] } = await client.query<{ id: string }>('INSERT INTO rollup_dirty (tag_ids, from_us, to_us) VALUES ($1, $2, $3) RETURNING id',
        [Array.from(w.written.tagIds), Array.from(w.written.fromUs, Math.floor), Array.from(w.written.toUs, Math.ceil)])
      dirtyId = Number(dirty!.id)
    }
    const fenced = await advanceOffsets(sqlOfPg(client), w.groupId, w.topic, w.advances)
    if (fenced.length > 0) {
      await client.query('ROLLBACK')
      return fenced
    }
    await client.query('COMMIT')
    if (dirtyId !== undefined) w.onCommitted?.(dirtyId)
    return []
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
