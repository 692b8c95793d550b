// The tag registry as the API shows it.
import type pg from 'pg'
import { isoText } from './sql.js'

export interface TagRow {
  id: number
  name: string
  kind: string
  unit: string | null
  asset: string | null
  valueKind: 'number' | 'boolean'
  createdAt: string
}

const COLUMNS = `id, name, kind, unit, asset, CASE value_kind WHEN 1 THEN 'boolean' ELSE 'number' END AS "valueKind",
  ${isoText('created_at')} AS "createdAt"`

/** `%`, `_` and `\` match themselves in a substring search. */
const likeEscape = (s: string): string => s.replace(/[\\%_]/g, m => `\\${m}`)

export interface TagFilter { q?: string, asset?: string, kind?: string, afterId: number, limit: number }

/** Tags with id > afterId matching the filter, by id (keyset pagination). */
export async function listTags (db: pg.Pool, f: TagFilter): Promise<TagRow[]> {
  const { rows } = await db.query<TagRow>({
    name: 'fs_api_tags',
    text: `SELECT ${COLUMNS} FROM tags
            WHERE id > $1
              AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%')
              AND ($3::text IS NULL OR asset = $3)
              AND ($4::text IS NULL OR kind = $4)
            ORDER BY id LIMIT $5`,
    values: [f.afterId, f.q === undefined ? null : likeEscape(f.q), f.asset ?? null, f.kind ?? null, f.limit],
  })
  return rows
}

export async function getTag (db: pg.Pool, id: number): Promise<TagRow | undefined> {
  const { rows } = await db.query<TagRow>({ name: 'fs_api_tag', text: `SELECT ${COLUMNS} FROM tags WHERE id = $1`, values: [id] })
  return rows[0]
}

export interface TagPatch { kind?: string, unit?: string | null, asset?: string | null }

/** Set the given fields (absent ones unchanged, null clears unit/asset). */
export async function patchTag (db: pg.Pool, id: number, p: TagPatch): Promise<TagRow | undefined> {
  const { rows } = await db.query<TagRow>(
    `UPDATE tags SET
        kind  = CASE WHEN $2 THEN $3 ELSE kind END,
        unit  = CASE WHEN $4 THEN $5 ELSE unit END,
        asset = CASE WHEN $6 THEN $7 ELSE asset END
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, p.kind !== undefined, p.kind ?? null, p.unit !== undefined, p.unit ?? null, p.asset !== undefined, p.asset ?? null])
  return rows[0]
}

export async function listAssets (db: pg.Pool): Promise<Array<{ asset: string, tags: number }>> {
  const { rows } = await db.query<{ asset: string, tags: number }>(
    'SELECT asset, count(*)::int AS tags FROM tags WHERE asset IS NOT NULL GROUP BY asset ORDER BY asset')
  return rows
}
