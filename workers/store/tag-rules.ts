// Copy the config's tag rules into the database (table tag_rules, migration 0010), where a
// trigger applies them to every newly registered tag, and re-apply them to the tags already
// known. A tag whose kind or production parameters changed gets its rollups recomputed
// (volumes depend on them), through the same dirty-range queue the flushes use.
import { ratePeriodSeconds, type TagRule } from '../../schemas/config/tags.js'
import { ConfigInvalid } from '../../schemas/errors.js'
import type { Sql } from './sql.js'

export interface TagRulesResult {
  /** Existing tags the rules changed. */
  updated: number
  /** Of those, tags whose rollups were queued for recomputation. */
  rebuilt: number
}

export async function syncTagRules (db: Sql, rules: readonly TagRule[]): Promise<TagRulesResult> {
  // The rules run in PostgreSQL (POSIX regular expressions): check each there, now, rather than
  // let a bad one fail every tag registration later.
  for (const [i, r] of rules.entries()) {
    try {
      await db.query("SELECT '' ~ $1 AS ok", [r.match])
    } catch (err) {
      throw new ConfigInvalid(`tags.rules[${i}].match: ${JSON.stringify(r.match)} is not a valid regular expression (${(err as Error).message})`)
    }
  }
  await db.query('BEGIN')
  try {
    await db.query('LOCK TABLE tag_rules IN EXCLUSIVE MODE')
    await db.query('DELETE FROM tag_rules')
    if (rules.length > 0) {
      await db.query(
        `INSERT INTO tag_rules (position, pattern, kind, unit, asset, counter_modulus, rate_period_s)
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[])`,
        [rules.map((_, i) => i), rules.map(r => r.match), rules.map(r => r.kind ?? null), rules.map(r => r.unit ?? null),
          rules.map(r => r.asset ?? null), rules.map(r => r.counterModulus ?? null), rules.map(r => ratePeriodSeconds(r.ratePer) ?? null)])
    }
    const { rows: [r] } = await db.query<{ updated: number, rebuilt: number }>(`
      WITH old AS (SELECT id, kind, unit, asset, counter_modulus, rate_period_s FROM tags),
      upd AS (
        UPDATE tags t SET (kind, unit, asset, counter_modulus, rate_period_s) =
          (SELECT (s.f).kind, (s.f).unit, (s.f).asset, (s.f).counter_modulus, (s.f).rate_period_s FROM (SELECT tag_rule_fill(t) AS f) s)
        WHERE EXISTS (SELECT 1 FROM tag_rules r WHERE t.name ~ r.pattern)
        RETURNING t.id, t.kind, t.unit, t.asset, t.counter_modulus, t.rate_period_s
      ), changed AS (
        SELECT u.id, (u.kind, u.counter_modulus, u.rate_period_s) IS DISTINCT FROM (o.kind, o.counter_modulus, o.rate_period_s) AS production
          FROM upd u JOIN old o USING (id)
         WHERE (u.kind, u.unit, u.asset, u.counter_modulus, u.rate_period_s) IS DISTINCT FROM (o.kind, o.unit, o.asset, o.counter_modulus, o.rate_period_s)
      ), spans AS (
        SELECT c.id, min(m.bucket) AS f, max(coalesce(m.last_ts, m.bucket)) AS t
          FROM changed c JOIN rollup_1m m ON m.tag_id = c.id
         WHERE c.production GROUP BY c.id
      ), queued AS (
        INSERT INTO rollup_dirty (tag_ids, from_us, to_us)
        SELECT array_agg(id), array_agg((extract(epoch FROM f) * 1e6)::bigint), array_agg((extract(epoch FROM t) * 1e6)::bigint)
          FROM spans HAVING count(*) > 0
        RETURNING cardinality(tag_ids) AS n
      )
      SELECT (SELECT count(*) FROM changed)::int AS updated, coalesce((SELECT sum(n) FROM queued), 0)::int AS rebuilt`)
    await db.query('COMMIT')
    return { updated: r?.updated ?? 0, rebuilt: r?.rebuilt ?? 0 }
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
