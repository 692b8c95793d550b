// Anomaly scores and alerts (migration 0007).
import type pg from 'pg'
import { isoText } from './sql.js'

export interface ScoreItem { t: string, score: number, model: string }

/** At most `limit` scores of a tag in [from, to), by time. */
export async function readScores (db: pg.Pool, tagId: number, from: string, to: string, limit: number): Promise<ScoreItem[]> {
  const { rows } = await db.query<ScoreItem>({
    name: 'fs_api_scores',
    text: `SELECT ${isoText('ts')} AS t, score, model FROM anomaly_scores
            WHERE tag_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz ORDER BY ts LIMIT $4`,
    values: [tagId, from, to, limit],
  })
  return rows
}

export interface AlertItem {
  id: number, tag: number, asset: string | null, model: string,
  openedAt: string, closedAt: string | null, peakScore: number, threshold: number
}

export interface AlertFilter { state: 'open' | 'closed' | 'all', asset?: string, tag?: number, from?: string, to?: string, limit: number }

/** Alerts matching the filter, newest first; from/to keep alerts active at some time in [from, to). */
export async function readAlerts (db: pg.Pool, f: AlertFilter): Promise<AlertItem[]> {
  const { rows } = await db.query<AlertItem>({
    name: 'fs_api_alerts',
    text: `SELECT id::float8 AS id, tag_id AS tag, asset, model, ${isoText('opened_at')} AS "openedAt",
                  CASE WHEN closed_at IS NULL THEN NULL ELSE ${isoText('closed_at')} END AS "closedAt",
                  peak_score AS "peakScore", threshold
             FROM alerts
            WHERE ($1::text = 'all' OR ($1::text = 'open') = (closed_at IS NULL))
              AND ($2::text IS NULL OR asset = $2::text)
              AND ($3::int IS NULL OR tag_id = $3::int)
              AND ($4::timestamptz IS NULL OR closed_at IS NULL OR closed_at >= $4::timestamptz)
              AND ($5::timestamptz IS NULL OR opened_at < $5::timestamptz)
            ORDER BY opened_at DESC, id DESC LIMIT $6`,
    values: [f.state, f.asset ?? null, f.tag ?? null, f.from ?? null, f.to ?? null, f.limit],
  })
  return rows
}
