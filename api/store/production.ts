// Production: the `volume` column of the rollups (counter and rate tags only), per tag or
// summed over an asset's tags per bucket, one sum per unit: m3 and bbl are never added.
import type pg from 'pg'
import { isoTextSeconds, LEVELS, type Level } from './sql.js'

export interface ProductionItem { t: string, asset: string | null, tag?: number, unit: string | null, volume: number }

export async function tagProduction (db: pg.Pool, level: Level, tagId: number, asset: string | null, unit: string | null, from: Date, to: Date): Promise<ProductionItem[]> {
  const { rows } = await db.query<[string, number]>({
    name: `fs_api_production_tag_${level}`,
    text: `SELECT ${isoTextSeconds('r.bucket')}, r.volume FROM ${LEVELS[level].relation} r
            WHERE r.tag_id = $1 AND r.bucket >= $2 AND r.bucket < $3 AND r.volume IS NOT NULL
            ORDER BY r.bucket`,
    values: [tagId, from, to],
    rowMode: 'array',
  })
  return rows.map(([t, volume]) => ({ t, asset, tag: tagId, unit, volume }))
}

export async function assetProduction (db: pg.Pool, level: Level, asset: string, from: Date, to: Date): Promise<ProductionItem[]> {
  const { rows } = await db.query<[string, string | null, number]>({
    name: `fs_api_production_asset_${level}`,
    text: `SELECT ${isoTextSeconds('r.bucket')}, t.unit, sum(r.volume)
             FROM tags t JOIN ${LEVELS[level].relation} r ON r.tag_id = t.id
            WHERE t.asset = $1 AND t.kind IN ('counter', 'rate')
              AND r.bucket >= $2 AND r.bucket < $3 AND r.volume IS NOT NULL
            GROUP BY r.bucket, t.unit ORDER BY r.bucket, t.unit NULLS LAST`,
    values: [asset, from, to],
    rowMode: 'array',
  })
  return rows.map(([t, unit, volume]) => ({ t, asset, unit, volume }))
}

/** How many tags carry the asset, and how many of them produce (counter or rate). */
export async function assetTagCounts (db: pg.Pool, asset: string): Promise<{ tags: number, producing: number }> {
  const { rows } = await db.query<{ tags: number, producing: number }>({
    name: 'fs_api_asset_counts',
    text: "SELECT count(*)::int AS tags, count(*) FILTER (WHERE kind IN ('counter', 'rate'))::int AS producing FROM tags WHERE asset = $1",
    values: [asset],
  })
  return rows[0]!
}
