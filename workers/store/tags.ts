// The tag registry as the workers see it: every name resolved to an id, in bulk, with
// the whole registry cached (a missed cache entry costs one round trip for a whole flush,
// never a dropped point).
import type { Sql } from './sql.js'

export class TagRegistry {
  readonly #ids = new Map<string, number>()
  #loaded = false
  constructor (private readonly db: Sql) {}

  get size (): number { return this.#ids.size }

  idOf (name: string): number | undefined {
    return this.#ids.get(name)
  }

  /** Make sure every name has an id, registering new names with their value kind. */
  async resolve (names: readonly string[], valueKinds: readonly number[]): Promise<void> {
    if (!this.#loaded) {
      const { rows } = await this.db.query<{ id: number, name: string }>('SELECT id, name FROM tags')
      for (const r of rows) this.#ids.set(r.name, r.id)
      this.#loaded = true
    }
    const missing = new Map<string, number>()
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      if (!this.#ids.has(name) && !missing.has(name)) missing.set(name, valueKinds[i] ?? 0)
    }
    if (missing.size === 0) return
    const { rows } = await this.db.query<{ id: number, name: string }>(
      `WITH input AS (SELECT * FROM unnest($1::text[], $2::smallint[]) AS i(name, value_kind)),
            added AS (INSERT INTO tags (name, value_kind) SELECT name, value_kind FROM input ON CONFLICT (name) DO NOTHING RETURNING id, name)
       SELECT id, name FROM added
       UNION ALL
       SELECT t.id, t.name FROM tags t JOIN input USING (name)`,
      [[...missing.keys()], [...missing.values()]])
    for (const r of rows) this.#ids.set(r.name, r.id)
    // A name registered concurrently by another worker commits after our snapshot: read it again.
    const stillMissing = [...missing.keys()].filter(n => !this.#ids.has(n))
    if (stillMissing.length > 0) {
      const again = await this.db.query<{ id: number, name: string }>('SELECT id, name FROM tags WHERE name = ANY($1::text[])', [stillMissing])
      for (const r of again.rows) this.#ids.set(r.name, r.id)
      const lost = stillMissing.filter(n => !this.#ids.has(n))
      if (lost.length > 0) throw new Error(`tag registry: could not register ${lost.length} tags (first: ${lost[0]})`)
    }
  }
}
