// Retention and compression, per flavor. TimescaleDB runs them as background jobs;
// on plain PostgreSQL the workers' maintenance pass creates and drops daily partitions.
import type { StoreFlavor } from './migrate.js'
import { DAY_US, type PartitionManager } from './partitions.js'
import type { Sql } from './sql.js'

export interface PolicyOptions {
  retentionDays: number
  compressAfterDays: number
  partitionsAheadDays: number
}

/** TimescaleDB: (re)install the compression and retention policies for `points`. */
export async function applyTimescalePolicies (db: Sql, o: PolicyOptions): Promise<void> {
  await db.query("SELECT remove_compression_policy('points', if_exists => true)")
  await db.query("SELECT add_compression_policy('points', compress_after => make_interval(days => $1))", [o.compressAfterDays])
  await db.query("SELECT remove_retention_policy('points', if_exists => true)")
  if (o.retentionDays > 0) await db.query("SELECT add_retention_policy('points', drop_after => make_interval(days => $1))", [o.retentionDays])
}

/** Plain PostgreSQL: partitions from yesterday to `partitionsAheadDays` ahead; expired ones dropped. */
export async function maintainPartitions (partitions: PartitionManager, o: PolicyOptions, nowUs = Date.now() * 1000): Promise<string[]> {
  await partitions.ensure(nowUs - DAY_US, nowUs + o.partitionsAheadDays * DAY_US)
  return o.retentionDays > 0 ? await partitions.dropOlderThan(o.retentionDays, nowUs) : []
}

export async function applyPolicies (db: Sql, flavor: StoreFlavor, partitions: PartitionManager, o: PolicyOptions): Promise<string[]> {
  if (flavor === 'timescaledb') {
    await applyTimescalePolicies(db, o)
    return []
  }
  return await maintainPartitions(partitions, o)
}
