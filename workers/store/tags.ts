// The tag registry as the workers see it: every name resolved to an id, in bulk, with
// the whole registry cached (a missed cache entry costs one round trip for a whole flush,
// never a dropped point).
import type { Sql } from './sql.js'

export class TagRegistry {
  readonly #ids = new Map<string, number>()
  #loaded = false
  constructor (private readonly db: Sql) {}

  get size (): number { return this.#ids.size }


  /**
   * Tag ids for each batch dictionary (ids[b][t] is the id of dictionaries[b].tags[t]),
   * registering new names with their value kind in one round trip.
   */
  async idsFor (dictionaries: ReadonlyArray<{ tags: readonly string[], tagKinds: readonly number[] }>): Promise<Int32Array[]> {
    if (!this.#loaded) {
      const { rows } = await this.db.query<{ id: number, name: string }>('SELECT id, name FROM tags')
      for (const r of rows) this.#ids.set(r.name, r.id)
      this.#loaded = true
    }
    const missing = new Map<string, number>()
    const ids = dictionaries.map(d => {
      const out = new Int32Array(d.tags.length)
      for (let t = 0; t < d.tags.length; t++) {
        const id = this.#ids.get(d.tags[t]!)
        if (id !== undefined) out[t] = id
        else if (!missing.has(d.tags[t]!)) missing.set(d.tags[t]!, d.tagKinds[t] ?? 0)
      }
      return out
    })
    if (missing.size === 0) return ids
    await this.#register(missing)
    // Only dictionaries that had a new name need a second look.
    dictionaries.forEach((d, b) => {
      for (let t = 0; t < d.tags.length; t++) if (missing.has(d.tags[t]!)) ids[b]![t] = this.#ids.get(d.tags[t]!)!
    })
    return ids
  }

  async #register (missing: ReadonlyMap<string, number>): Promise<void> {
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
