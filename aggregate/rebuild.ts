// Rebuild the rollups of some tags over a time range from the raw points, through the same
// refresh passes the workers run: for data loaded around the workers (imports, benchmarks)
// or after a tag's kind changed. Queued in slices of `tagsPerPass` tags, so one pass never
// holds more than that many tags' raw points in memory.
import type pg from 'pg'
import { refreshPass } from './refresh-pass.js'

export async function rebuildRollups (pool: pg.Pool, tagIds: readonly number[], fromUs: number, toUs: number, tagsPerPass = 100): Promise<number> {
  for (let i = 0; i < tagIds.length; i += tagsPerPass) {
    const slice = tagIds.slice(i, i + tagsPerPass)
    await pool.query('INSERT INTO rollup_dirty (tag_ids, from_us, to_us) VALUES ($1, $2, $3)',
      [slice, slice.map(() => Math.floor(fromUs)), slice.map(() => Math.ceil(toUs))])
  }
  const client = await pool.connect()
  let ranges = 0
  try {
    for (;;) {
      const r = await refreshPass(client, tagsPerPass)
      if (r.ranges === 0) break
      if (r.ranges < 0) { await new Promise(resolve => setTimeout(resolve, 200)); continue } // a worker is refreshing
      ranges += r.ranges
    }
  } finally {
    client.release()
  }
  return ranges
}
