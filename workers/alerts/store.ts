// Alerts in the store (table alerts, migration 0007): one row per alert, at most one open per
// tag and model (a partial unique index), so a replayed open event changes nothing.
import type { Sql } from '../store/sql.js'
import type { AlertEvent } from './hysteresis.js'

/** An alert as it is stored and published (the alert topic's message value, the webhook's body). */
export interface AlertRecord {
  id: number
  event: 'opened' | 'closed'
  tagId: number
  tag: string
  asset: string | null
  model: string
  openedAt: string
  closedAt: string | null
  peakScore: number
  threshold: number
}

const iso = (us: number): string => new Date(us / 1000).toISOString()

/** Record one event; returns the alert as stored, or undefined when it was already recorded. */
export async function recordAlert (db: Sql, e: AlertEvent, model: string, threshold: number): Promise<AlertRecord | undefined> {
  if (e.type === 'opened') {
    const { rows: [r] } = await db.query<{ id: string, tag: string, asset: string | null }>(
      `INSERT INTO alerts (tag_id, asset, model, opened_at, peak_score, threshold)
       SELECT t.id, t.asset, $2, $3, $4, $5 FROM tags t WHERE t.id = $1
       ON CONFLICT (tag_id, model) WHERE closed_at IS NULL DO NOTHING
       RETURNING id, (SELECT name FROM tags WHERE id = $1) AS tag, asset`,
      [e.tagId, model, iso(e.openedAtUs), e.peakScore, threshold])
    if (r === undefined) return undefined
    return { id: Number(r.id), event: 'opened', tagId: e.tagId, tag: r.tag, asset: r.asset, model, openedAt: iso(e.openedAtUs), closedAt: null, peakScore: e.peakScore, threshold }
  }
  const { rows: [r] } = await db.query<{ id: string, tag: string, asset: string | null, opened_at: Date, peak_score: number, threshold: number }>(
    `UPDATE alerts a SET closed_at = greatest($3::timestamptz, a.opened_at), peak_score = greatest(a.peak_score, $4)
      WHERE a.tag_id = $1 AND a.model = $2 AND a.closed_at IS NULL
      RETURNING a.id, (SELECT name FROM tags WHERE id = $1) AS tag, a.asset, a.opened_at, a.peak_score, a.threshold`,
    [e.tagId, model, iso(e.closedAtUs), e.peakScore])
  if (r === undefined) return undefined
  return { id: Number(r.id), event: 'closed', tagId: e.tagId, tag: r.tag, asset: r.asset, model, openedAt: r.opened_at.toISOString(), closedAt: iso(Math.max(e.closedAtUs, r.opened_at.getTime() * 1000)), peakScore: r.peak_score, threshold: r.threshold }
}

/** Open alerts of a model, to carry on with after a restart. */
export async function openAlerts (db: Sql, model: string): Promise<Array<{ tagId: number, openedAtUs: number, peakScore: number }>> {
  const { rows } = await db.query<{ tag_id: number, opened_at: Date, peak_score: number }>(
    'SELECT tag_id, opened_at, peak_score FROM alerts WHERE model = $1 AND closed_at IS NULL', [model])
  return rows.map(r => ({ tagId: r.tag_id, openedAtUs: r.opened_at.getTime() * 1000, peakScore: r.peak_score }))
}
