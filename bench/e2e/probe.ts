// Latency from source timestamp to queryable row, sampled on a few probe tags.
//
// Every `intervalMs` the probe notes the wall clock, then asks the store (a new snapshot) for
// the probe tag's timestamps newer than the newest it has seen, from the tag's most recent
// segments. Each newly visible timestamp t gives one sample: (wall clock at the query's start)
// - t. The row was committed before that snapshot, and after the previous query's start, so a
// sample overstates the true latency by less than one probe interval, never understates it.
// Source timestamps: the Modbus collector's poll time, the Sparkplug metric's own timestamp
// (the simulator's clock); everything runs on one machine, so one clock.
import pg from 'pg'

export interface LatencySample { /** Wall clock of the query, ms. */ at: number, ms: number }

export interface LatencyProbe {
  readonly samples: readonly LatencySample[]
  stop (): Promise<void>
}

const NEWER = `
  SELECT (extract(epoch FROM u.t) * 1000000)::int8 AS us
  FROM (SELECT ts FROM points WHERE tag_id = $1 AND bucket >= $2 ORDER BY bucket DESC, ctid DESC LIMIT 40) s,
       unnest(s.ts) AS u(t)
  WHERE u.t > 'epoch'::timestamptz + $3::int8 * interval '1 microsecond'`

export async function startLatencyProbe (databaseUrl: string, tagNames: readonly string[], intervalMs = 200): Promise<LatencyProbe> {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const samples: LatencySample[] = []
  /** Newest timestamp seen per tag id, µs. */
  const newest = new Map<number, number>()
  let ids: number[] = []
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + intervalMs
      try {
        if (ids.length < tagNames.length) {
          const { rows } = await db.query<{ id: number }>('SELECT id FROM tags WHERE name = ANY($1::text[])', [tagNames])
          ids = rows.map(r => r.id)
        }
        for (const id of ids) {
          const at = Date.now()
          // The hour before the newest seen (or before now): a point may land in the previous hour.
          const from = new Date(Math.floor(((newest.get(id) ?? at * 1000) / 1000 - 3_600_000) / 3_600_000) * 3_600_000)
          const { rows } = await db.query<{ us: string }>(NEWER, [id, from, newest.get(id) ?? 0])
          let max = newest.get(id) ?? 0
          for (const r of rows) {
            const us = Number(r.us)
            if ((newest.get(id) ?? 0) > 0) samples.push({ at, ms: at - us / 1000 }) // the first read only sets the mark
            if (us > max) max = us
          }
          newest.set(id, max)
        }
      } catch {
        // the worker has not created the schema yet
      }
      const wait = next - Date.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    }
  })()
  return {
    samples,
    async stop () {
      stopped = true
      await loop
      await db.end()
    },
  }
}

export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}
