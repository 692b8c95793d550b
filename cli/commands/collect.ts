// `fieldstream collect`: run the configured collectors into Kafka, with the on-disk spool.
import type { Command } from 'commander'
import { createLogger } from '../../common/log.js'
import { pointsIngested, startMetricsServer } from '../../common/metrics.js'
import { startCollectors } from '../../ingest/collect.js'
import { configOf } from '../config.js'
import { untilSignal } from '../signals.js'

/** How often the progress line is printed, ms. */
const STATS_INTERVAL_MS = 10_000

export function registerCollect (program: Command): void {
  program.command('collect')
    .description('run the Modbus and MQTT/Sparkplug B collectors from the config into Kafka (spooled on disk while Kafka is away); SIGTERM drains')
    .action(async (_o: unknown, command: Command) => {
      const cfg = configOf(command)
      const log = createLogger('collect')
      const running = await startCollectors(cfg, { log })
      log.info(`collecting into ${cfg.kafka.topics.points} on ${cfg.kafka.brokers.join(',')}; spool ${cfg.collectors.spool.dir} (${cfg.collectors.spool.maxMB} MB, ${cfg.collectors.spool.policy})`)
      const report = setInterval(() => log.info(running.statsLine()), STATS_INTERVAL_MS)
      const metrics = cfg.metrics.port > 0 ? await startMetricsServer(cfg.metrics) : undefined
      if (metrics !== undefined) log.info(`metrics at http://${cfg.metrics.host}:${metrics.port}/metrics`)
      // The collectors count points in their stats; the counter follows them.
      let counted = 0
      const pointsNow = (): number => (running.modbus?.stats.points ?? 0) + (running.mqtt?.stats.batches.pointsWritten ?? 0)
      const follow = setInterval(() => { const n = pointsNow(); pointsIngested.inc({ stage: 'collect' }, n - counted); counted = n }, 1_000)
      const signal = await untilSignal()
      clearInterval(report)
      clearInterval(follow)
      await metrics?.close()
      log.info(`${signal}: stopping collectors and flushing the sink`)
      await running.stop()
      log.info(`stopped: ${running.statsLine()}`)
    })
}
