// Tag metadata by id for request checks (does tag 7 exist? is it a counter?), cached:
// routes ask on every request and tags change rarely. Entries live `ttlMs`; a PATCH
// through the API forgets its tag at once. Unknown ids are not cached (they are looked up
// again, and the rate limit bounds how often).
import type pg from 'pg'
import { getTag, type TagRow } from './tags.js'

export interface TagLookup { get (id: number): Promise<TagRow | undefined>, forget (id: number): void }

export function createTagLookup (db: pg.Pool, ttlMs = 10_000): TagLookup {
  const cache = new Map<number, { row: TagRow, expires: number }>()
  return {
    async get (id) {
      const now = Date.now()
      const hit = cache.get(id)
      if (hit !== undefined && hit.expires > now) return hit.row
      const row = await getTag(db, id)
      if (row !== undefined) {
        if (cache.size >= 100_000) cache.clear()
        cache.set(id, { row, expires: now + ttlMs })
      }
      return row
    },
    forget (id) { cache.delete(id) },
  }
}
