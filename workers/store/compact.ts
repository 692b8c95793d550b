// Compaction: once an hour is closed, a tag's segments in it (one per flush that carried
// the tag, often dozens) are merged into one time-ordered row. Reads of a tag-day then
// touch 24 rows instead of thousands, and the per-row overhead is paid once per tag-hour.
//
// The DELETE and the INSERT are one statement, so a crash leaves either the old segments
// or the merged row. A segment written concurrently (a late point) is not in the
// statement's snapshot: it survives as its own row and is merged by a later pass.
import type { Sql } from './sql.js'

const LOCK_KEY = 0x636f6d70 // "comp": one compactor at a time across worker processes

export interface CompactResult {
  /** Tag-hours merged. */
  merged: number
  /** Segment rows they replaced. */
  replacedRows: number
}

/**
 * Merge the segments of up to `limit` tag-hours whose hour ended before `closedBeforeUs`.
 * Returns { merged: 0 } when another process holds the compaction lock. `db` must be one
 * session (a Client, not a Pool): the advisory lock belongs to it.
 */
export async function compactClosedHours (db: Sql, closedBeforeUs: number, limit = 2000): Promise<CompactResult> {
  const { rows: [lock] } = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY])
  if (lock?.ok !== true) return { merged: 0, replacedRows: 0 }
  try {
    const { rows: [r] } = await db.query<{ merged: number, replaced: number }>(`
      WITH victims AS (
        SELECT tag_id, bucket FROM points
        WHERE bucket < $1::timestamptz - interval '1 hour'
        GROUP BY tag_id, bucket HAVING count(*) > 1
        LIMIT $2
      ), moved AS (
        DELETE FROM points p USING victims v
        WHERE p.tag_id = v.tag_id AND p.bucket = v.bucket
        RETURNING p.tag_id, p.bucket, p.ts, p.vals, p.quals
      ), merged AS (
        INSERT INTO points (tag_id, bucket, ts, vals, quals)
        SELECT m.tag_id, m.bucket,
               array_agg(u.t ORDER BY u.t),
               array_agg(u.v ORDER BY u.t),
               CASE WHEN bool_and(u.q IS NULL OR u.q = 192) THEN NULL
                    ELSE array_agg(coalesce(u.q, 192::smallint) ORDER BY u.t) END
        FROM moved m, unnest(m.ts, m.vals, m.quals) AS u(t, v, q)
        GROUP BY m.tag_id, m.bucket
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM merged)::int AS merged, (SELECT count(*) FROM moved)::int AS replaced`,
    [new Date(closedBeforeUs / 1000), limit])
    return { merged: r?.merged ?? 0, replacedRows: r?.replaced ?? 0 }
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY])
  }
}

/** Compact until nothing is left to merge (or `maxPasses` passes). */
export async function compactAll (db: Sql, closedBeforeUs: number, maxPasses = 1000): Promise<CompactResult> {
  const total: CompactResult = { merged: 0, replacedRows: 0 }
  for (let i = 0; i < maxPasses; i++) {
    const r = await compactClosedHours(db, closedBeforeUs)
    total.merged += r.merged
    total.replacedRows += r.replacedRows
    if (r.merged === 0) break
  }
  return total
}
