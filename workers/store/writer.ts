// One flush, one transaction: COPY the segment rows, then advance the durable offsets.
// Either both are visible or neither is, so a crash at any point replays without doubles.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { COPY_HEADER, COPY_TRAILER } from '../encode/copy-binary.js'
import { advanceOffsets, type OffsetAdvance } from './offsets.js'
import { sqlOfPg } from './sql.js'

const COPY_POINTS = 'COPY points (tag_id, bucket, ts, vals, quals) FROM STDIN (FORMAT binary)'

export interface FlushWrite {
  groupId: string
  topic: string
  rows: readonly Uint8Array[]
  advances: readonly OffsetAdvance[]
}

/** Returns the partitions that failed the offset fence (nothing was written then). */
export async function writeFlush (client: pg.PoolClient, w: FlushWrite): Promise<number[]> {
  await client.query('BEGIN')
  try {
    if (w.rows.some(r => r.length > 0)) {
      await pipeline(Readable.from([COPY_HEADER, ...w.rows.filter(r => r.length > 0), COPY_TRAILER], { objectMode: false }), client.query(copyFrom(COPY_POINTS)))
    }
    const fenced = await advanceOffsets(sqlOfPg(client), w.groupId, w.topic, w.advances)
    if (fenced.length > 0) {
      await client.query('ROLLBACK')
      return fenced
    }
    await client.query('COMMIT')
    return []
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
