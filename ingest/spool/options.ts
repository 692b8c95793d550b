// collectors.spool -> the options of the spool and the sink, checked once (FS_CONFIG_INVALID).
import { resolve } from 'node:path'
import type { SpoolConfig } from '../../schemas/config/spool.js'
import { ConfigInvalid } from '../../schemas/errors.js'
import type { SpoolOptions } from './spool.js'

const MB = 1024 * 1024

export function resolveSpoolOptions (cfg: SpoolConfig): SpoolOptions {
  const problems: string[] = []
  if (cfg.segmentMB * 2 > cfg.maxMB) {
    problems.push(`collectors.spool.segmentMB must be at most half of collectors.spool.maxMB (got ${cfg.segmentMB} and ${cfg.maxMB}): drop-oldest needs a whole segment to evict`)
  }
  if (cfg.retryMaxMs < cfg.retryMinMs) {
    problems.push(`collectors.spool.retryMaxMs must be >= collectors.spool.retryMinMs (got ${cfg.retryMaxMs} < ${cfg.retryMinMs})`)
  }
  if (problems.length > 0) throw new ConfigInvalid(`config error:\n  ${problems.join('\n  ')}`)
  return {
    dir: resolve(cfg.dir),
    maxBytes: Math.floor(cfg.maxMB * MB),
    segmentBytes: Math.floor(cfg.segmentMB * MB),
    policy: cfg.policy,
    fsync: cfg.fsync,
    fsyncIntervalMs: cfg.fsyncIntervalMs,
  }
}
