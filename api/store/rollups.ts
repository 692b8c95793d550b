// Rollup rows of some tags at one level, reading the level's relation directly (the same
// columns on both store flavors) rather than through the rollups() function: a plain
// statement can be prepared once per connection and its plan reused, which matters on the
// API's hottest route. The statistics are computed as rollups() does (rollup_stats).
// The JSON and CSV paths take the values as PostgreSQL's text (no parse to a double and
// back): float8 text is already a JSON number except NaN and ±Infinity, which become null.
import type pg from 'pg'
import { isoTextSeconds, LEVELS, type Level } from './sql.js'

export const ROLLUP_FIELDS = ['n', 'min', 'max', 'avg', 'twa', 'sum', 'first', 'last', 'volume'] as const
export type RollupField = typeof ROLLUP_FIELDS[number]

const EXPR: Record<RollupField, string> = {
  n: 'r.n',
  min: 'r.min',
  max: 'r.max',
  avg: 'CASE WHEN r.n > 0 THEN r.sum / r.n END',
  // rollup_stats() (migration 0006) written out: called per row, that SQL function cost
  // ~25 µs a row (18 ms of a 720-row request); inline, the planner evaluates it in place.
  // date_part, not extract: it stays float8 (extract became numeric in PostgreSQL 14).
  twa: `CASE WHEN r.n = 0 THEN NULL WHEN r.last_ts = r.first_ts THEN r.first_val
             ELSE (r.tw_ext - r.last_val * date_part('epoch', greatest(r.next_ts, r.last_ts) - r.last_ts))
                  / date_part('epoch', r.last_ts - r.first_ts) END`,
  sum: 'r.sum',
  first: 'r.first_val',
  last: 'r.last_val',
  volume: 'r.volume',
}

const statements = new Map<string, { name: string, text: string }>()

function statement (level: Level, fields: readonly RollupField[]): { name: string, text: string } {
  const key = `${level}:${fields.join(',')}`
  let s = statements.get(key)
  if (s === undefined) {
    s = {
      name: `fs_api_rollups_${level}_${fields.join('_')}`,
      text: `SELECT r.tag_id, ${isoTextSeconds('r.bucket')}${fields.map(f => `, ${EXPR[f]}`).join('')}
               FROM ${LEVELS[level].relation} r
              WHERE r.tag_id = ANY($1::int[]) AND r.bucket >= $2::timestamptz AND r.bucket < $3::timestamptz
              ORDER BY r.tag_id, r.bucket`,
    }
    statements.set(key, s)
  }
  return s
}

/** Values left as the server's text: the JSON and CSV writers copy them as they are. */
const AS_TEXT = { getTypeParser: () => (value: string) => value }

/** `text` as a JSON number (null for NULL, NaN and infinities, which JSON cannot hold). */
const jsonNumber = (text: string | null): string => text === null || text === 'NaN' || text.endsWith('Infinity') ? 'null' : text

/**
 * Rollups of `tags` at `level` for buckets starting in [from, to), by tag then time, already serialized: a JSON array of items in the shape of
 * RollupItemSchema. Built by hand from the text values because this is the hottest route:
 * parsing 8,000 doubles only to print them again cost more than everything else together.
 */
export async function readRollupsJson (db: pg.Pool, level: Level, tags: readonly number[], from: string, to: string, fields: readonly RollupField[]): Promise<string> {
  const { rows } = await db.query<Array<string | null>>({ ...statement(level, fields), values: [tags, from, to], rowMode: 'array', types: AS_TEXT })
  const keys = fields.map(f => `,"${f}":`)
  const parts: string[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    let item = `{"tag":${row[0]!},"t":"${row[1]!}"`
    for (let f = 0; f < keys.length; f++) item += keys[f]! + jsonNumber(row[f + 2]!)
    parts[i] = item + '}'
  }
  return `[${parts.join(',')}]`
}

/** The rows as CSV lines (`tag,t,<fields>`), values as the server's text; NaN and infinities empty. */
export async function readRollupsCsv (db: pg.Pool, level: Level, tags: readonly number[], from: string, to: string, fields: readonly RollupField[]): Promise<string> {
  const { rows } = await db.query<Array<string | null>>({ ...statement(level, fields), values: [tags, from, to], rowMode: 'array', types: AS_TEXT })
  let out = ''
  for (const row of rows) {
    out += `${row[0]!},${row[1]!}`
    for (let f = 2; f < row.length; f++) { const v = jsonNumber(row[f]!); out += v === 'null' ? ',' : `,${v}` }
    out += '\r\n'
  }
  return out
}

/** Upper bound of the rows a request can return: tags × buckets starting in [from, to). */
export function rollupRowBound (level: Level, tags: number, fromUs: number, toUs: number): number {
  return tags * Math.ceil((toUs - fromUs) / LEVELS[level].us)
}
