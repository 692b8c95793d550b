// The encode thread's copy of each tag's kind and production parameters (tags.kind,
// counter_modulus, rate_period_s), which the flush's minute contributions are computed with.
// A stale entry costs only speed: each contribution carries the parameters it used, and the
// refresher recomputes from the raw points a tag whose parameters changed since.
import type { TagKind, TagProduction } from '../../aggregate/minutes.js'
import type { Sql } from '../store/sql.js'

const COLUMNS = 'SELECT id, kind, counter_modulus, rate_period_s FROM tags'

export class TagProductionCache {
  readonly #byId = new Map<number, TagProduction>()
  #loadedAt = -Infinity

  /** `maxAgeMs`: reload every tag's parameters when the copy is older than this, ms. Default 30,000. */
  constructor (private readonly db: Sql, private readonly maxAgeMs = 30_000) {}

  /** Make sure every id is known: all tags again when the copy is old, otherwise only the missing ones. */
  async ensure (ids: ReadonlyArray<ArrayLike<number>>): Promise<void> {
    if (Date.now() - this.#loadedAt > this.maxAgeMs) {
      const loadedAt = Date.now()
      this.#byId.clear()
      this.#add((await this.db.query<Row>(COLUMNS)).rows)
      this.#loadedAt = loadedAt
      return
    }
    const missing = new Set<number>()
    for (const list of ids) for (let i = 0; i < list.length; i++) if (!this.#byId.has(list[i]!)) missing.add(list[i]!)
    if (missing.size > 0) this.#add((await this.db.query<Row>(`${COLUMNS} WHERE id = ANY($1::int[])`, [[...missing]])).rows)
  }

  get (tagId: number): TagProduction | undefined {
    return this.#byId.get(tagId)
  }

  #add (rows: readonly Row[]): void {
    for (const r of rows) this.#byId.set(r.id, { kind: r.kind, modulus: r.counter_modulus, ratePeriodS: r.rate_period_s })
  }
}

interface Row { id: number, kind: TagKind, counter_modulus: number | null, rate_period_s: number }
