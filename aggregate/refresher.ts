// The rollup refresher: folds what the storage workers wrote into the 1-minute rollups (and,
// on plain PostgreSQL, the 1-hour and 1-day ones) shortly after it became durable.
//
// Each flush left a rollup_dirty row in its own transaction; a pass (refresh-pass.ts) claims a
// slice of them and updates the affected minutes in one transaction (appending the flushes'
// minute contributions this process kept, or recomputing from the raw points), so
// a crash mid-refresh leaves the claim in place for the next pass. One refresher runs at a time
// across all worker processes (a transaction-level advisory lock); the others find it taken and
// wait for their next tick.
import pg from 'pg'
import type { Logger } from '../common/log.js'
import { ContributionStore } from './contributions.js'
import { refreshPass } from './refresh-pass.js'

export interface RollupRefresherOptions {
  databaseUrl: string
  /** How often to look for new work, ms. */
  everyMs: number
  /** Dirty ranges (one per tag per flush) claimed per transaction. */
  rangesPerPass: number
}

export interface RollupRefresherStats {
  /** Dirty ranges folded into the rollups. */
  ranges: number
  passes: number
  failures: number
}

export interface RollupRefresher {
  readonly stats: Readonly<RollupRefresherStats>
  /** The minute contributions of this process's flushes, by rollup_dirty id (put them here once committed). */
  readonly contributions: ContributionStore
  start (): void
  /** Refresh until nothing is pending (or another process holds the refresh). Returns ranges done. */
  runOnce (): Promise<number>
  stop (): Promise<void>
}

export function createRollupRefresher (o: RollupRefresherOptions, deps: { log: Logger, onRefreshed?: (ranges: number) => void }): RollupRefresher {
  const stats: RollupRefresherStats = { ranges: 0, passes: 0, failures: 0 }
  const contributions = new ContributionStore()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let stopped = false

  async function drain (): Promise<number> {
    const client = new pg.Client({ connectionString: o.databaseUrl })
    client.on('error', () => undefined)
    let done = 0
    try {
      await client.connect()
      while (!stopped) {
        const n = (await refreshPass(client, o.rangesPerPass, contributions)).ranges
        stats.passes++
        if (n <= 0) break
        done += n
        stats.ranges += n
        deps.onRefreshed?.(n)
      }
    } finally {
      await client.end().catch(() => undefined)
    }
    return done
  }

  async function tick (): Promise<void> {
    if (running !== undefined || stopped) return
    running = drain()
    try {
      await running
    } catch (err) {
      stats.failures++
      deps.log.warn(`rollup refresh failed, will retry: ${(err as Error).message}`)
    } finally {
      running = undefined
    }
  }

  return {
    stats,
    contributions,
    start () {
      timer = setInterval(() => { void tick() }, o.everyMs)
      timer.unref()
    },
    async runOnce () {
      while (running !== undefined) await running.catch(() => 0)
      running = drain()
      try { return await running } finally { running = undefined }
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      await running?.catch(() => 0)
    },
  }
}
