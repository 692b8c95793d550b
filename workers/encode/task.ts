// Piscina worker: decode a flush's point batches, resolve tag names to ids, and encode
// segment rows for COPY and the flush's minute contributions to the rollups. Runs off the
// main thread; one pg connection per thread, used only to register new tag names and to read
// the tags' production parameters.
import pg from 'pg'
import { workerData } from 'piscina'
import { BatchCorrupt } from '../../schemas/errors.js'
import type { PointBatch } from '../../schemas/points.js'
import { decodeBatch } from '../../schemas/wire/codec.js'
import { sqlOfPg } from '../store/sql.js'
import { TagRegistry } from '../store/tags.js'
import { isRetryable } from '../store/errors.js'
import type { EncodeOutcome, EncodeTask, EncodeWorkerData, RejectedMessage } from '../tasks.js'
import { encodeSegments } from './segments.js'
import { TagProductionCache } from './tag-production.js'

let registry: TagRegistry | undefined
let production: TagProductionCache | undefined

function tagRegistry (): TagRegistry {
  if (registry === undefined) {
    const { databaseUrl } = workerData as EncodeWorkerData
    // Deadlines, so a connection the server dropped mid-query fails the task (the flush is
    // retried) instead of hanging the lane.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: 10_000, query_timeout: 30_000 })
    pool.on('error', () => undefined) // an idle connection dropped by a restart; the next query reconnects
    registry = new TagRegistry(sqlOfPg(pool))
    production = new TagProductionCache(sqlOfPg(pool))
  }
  return registry
}

export default async function encode (task: EncodeTask): Promise<EncodeOutcome> {
  const values = new Uint8Array(task.values)
  const batches: PointBatch[] = []
  const rejected: RejectedMessage[] = []
  for (let i = 0; i + 1 < task.bounds.length; i++) {
    try {
      batches.push(decodeBatch(values.subarray(task.bounds[i]!, task.bounds[i + 1]!)))
    } catch (err) {
      if (!(err instanceof BatchCorrupt)) throw err
      rejected.push({ index: i, error: err.message })
    }
  }
  const reg = tagRegistry()
  const before = reg.size
  let tagIds: Int32Array[]
  try {
    tagIds = await reg.idsFor(batches)
  } catch (err) {
    // Errors lose their code crossing the thread boundary: say here that this one heals.
    if (isRetryable(err)) return { kind: 'retry', reason: (err as Error).message }
    throw err
  }
  // Without the tags' production parameters the flush still goes through: its tags are then
  // rolled up from the raw points.
  const known = (workerData as EncodeWorkerData).contributions && await production!.ensure(tagIds).then(() => true, () => false)
  const encoded = encodeSegments(batches, tagIds, known ? id => production!.get(id) : undefined)
  return { kind: 'encoded', ...encoded, rejected, newTags: reg.size - before }
}
