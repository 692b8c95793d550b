// Plain PostgreSQL: daily range partitions of `points`, created ahead of the data and
// dropped by retention. (On TimescaleDB the hypertable and its policies do this.)
import type { Sql } from './sql.js'

export const DAY_US = 86_400_000_000
const PARTITION_NAME = /^points_p(\d{4})(\d{2})(\d{2})$/

export function partitionName (dayStartUs: number): string {
  return `points_p${new Date(dayStartUs / 1000).toISOString().slice(0, 10).replaceAll('-', '')}`
}

export class PartitionManager {
  /** Days (start µs) known to have a partition. */
  readonly #known = new Set<number>()
  constructor (private readonly db: Sql) {}

  /** Make sure a partition exists for every day from `fromUs` to `toUs` inclusive. */
  async ensure (fromUs: number, toUs: number): Promise<void> {
    const first = Math.floor(fromUs / DAY_US) * DAY_US
    for (let day = first; day <= toUs; day += DAY_US) {
      if (this.#known.has(day)) continue
      await this.#create(day)
      this.#known.add(day)
    }
  }

  async #create (dayStartUs: number): Promise<void> {
    const name = partitionName(dayStartUs)
    const from = new Date(dayStartUs / 1000).toISOString()
    const to = new Date((dayStartUs + DAY_US) / 1000).toISOString()
    try {
      await this.db.exec(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF points FOR VALUES FROM ('${from}') TO ('${to}')`)
    } catch (err) {
      // Another worker created it between our check and our create.
      const code = (err as { code?: string }).code
      if (code !== '42P07' && code !== '23505') throw err
    }
  }

  /** Drop partitions whose whole day is older than the retention window. Returns their names. */
  async dropOlderThan (retentionDays: number, nowUs = Date.now() * 1000): Promise<string[]> {
    const cutoff = nowUs - retentionDays * DAY_US
    const { rows } = await this.db.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'points'::regclass")
    const dropped: string[] = []
    for (const { name } of rows) {
      const m = PARTITION_NAME.exec(name)
      if (m === null) continue
      const dayEndUs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1) * 1000
      if (dayEndUs > cutoff) continue
      await this.db.exec(`DROP TABLE IF EXISTS ${name}`)
      this.#known.delete(dayEndUs - DAY_US)
      dropped.push(name)
    }
    return dropped
  }
}
