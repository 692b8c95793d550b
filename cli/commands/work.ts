// `fieldstream migrate` and `fieldstream work`: the store's schema and the storage workers.
import type { Command } from 'commander'
import pg from 'pg'
import { createAdmin, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { createLogger } from '../../common/log.js'
import { consumerLag, startMetricsServer } from '../../common/metrics.js'
import { migrate } from '../../workers/store/migrate.js'
import { applyPolicies } from '../../workers/store/policies.js'
import { PartitionManager } from '../../workers/store/partitions.js'
import { sqlOfPg } from '../../workers/store/sql.js'
import { createScoreWorker, scoreOptionsFromConfig, type ScoreWorker } from '../../workers/score-worker.js'
import { createStorageWorker, workerOptionsFromConfig } from '../../workers/storage-worker.js'
import { configOf } from '../config.js'
import { pipelineTopics } from '../topics.js'
import { untilSignal } from '../signals.js'

export function registerWork (program: Command): void {
  program.command('migrate')
    .description('apply the SQL migrations in schemas/sql/migrations and the retention/compression policies (idempotent)')
    .action(async (_o: unknown, command: Command) => {
      const cfg = configOf(command)
      const client = new pg.Client({ connectionString: cfg.database.url })
      await client.connect()
      try {
        const sql = sqlOfPg(client)
        const result = await migrate(sql, { flavor: cfg.store.flavor === 'auto' ? undefined : cfg.store.flavor })
        const dropped = await applyPolicies(sql, result.flavor, new PartitionManager(sql), cfg.store)
        process.stderr.write(`migrate: ${result.flavor} store at version ${result.current}; ${result.applied.length === 0 ? 'nothing to apply' : `applied ${result.applied.join(', ')}`}${dropped.length > 0 ? `; retention dropped ${dropped.join(', ')}` : ''}\n`)
      } finally {
        await client.end()
      }
    })

  program.command('work')
    .description('run a worker: storage (Kafka consumer group -> Piscina pool -> COPY into the store, exactly once; rollups) and anomaly scoring with alerts (its own consumer group; `scoring.enabled`); SIGTERM drains')
    .action(async (_o: unknown, command: Command) => {
      const cfg = configOf(command)
      const log = createLogger('work')
      const admin = createAdmin(cfg.kafka)
      await ensureTopics(admin, pipelineTopics(cfg))
      await admin.close()
      const producer = createBatchProducer(cfg.kafka)
      const worker = createStorageWorker(workerOptionsFromConfig(cfg), { log, producer })
      await worker.start()
      log.info(`consuming ${cfg.kafka.topics.points} as group ${cfg.workers.groupId} into the ${worker.flavor} store; ${cfg.workers.threads} threads, ${cfg.workers.lanes} lanes`)
      let scoring: ScoreWorker | undefined
      if (cfg.scoring.enabled) {
        scoring = createScoreWorker(scoreOptionsFromConfig(cfg), { log: createLogger('score'), producer })
        await scoring.start()
        log.info(`scoring ${cfg.kafka.topics.points} as group ${cfg.scoring.groupId} with model ${scoring.model}; alerts to ${cfg.kafka.topics.alerts}`)
      }
      const metrics = cfg.metrics.port > 0 ? await startMetricsServer(cfg.metrics) : undefined
      if (metrics !== undefined) log.info(`metrics at http://${cfg.metrics.host}:${metrics.port}/metrics`)
      const lagGauge = setInterval(() => { void worker.lag().then(lag => { consumerLag.set(Number(lag)) }, () => undefined) }, 5_000)
      lagGauge.unref()
      const report = setInterval(() => {
        const s = worker.stats
        const sc = scoring?.stats
        log.info(`stored ${s.pointsStored} points in ${s.rowsWritten} rows (${s.flushes} flushes), rolled up ${s.rolledUpRanges} tag ranges, dead-lettered ${s.deadLettered}, buffered ${(s.bufferedBytes / 2 ** 20).toFixed(1)} MB${s.paused ? ' (intake paused)' : ''}${sc === undefined ? '' : `; scored ${sc.scores} windows, alerts opened ${sc.alertsOpened} closed ${sc.alertsClosed}`}`)
      }, 10_000)
      // A scoring stage that stops on an error it cannot retry must not take storage with it:
      // say so loudly and keep storing (the process exits non-zero at the end).
      scoring?.done.catch((err: Error) => {
        log.error(`scoring stage stopped, storage carries on: ${err.message}`)
        process.exitCode = 1
      })
      const outcome = await Promise.race([
        untilSignal().then(() => 'signal' as const),
        worker.done.then(() => 'done' as const, (err: Error) => err),
      ])
      clearInterval(report)
      clearInterval(lagGauge)
      await metrics?.close()
      if (outcome instanceof Error) {
        await scoring?.stop().catch(() => undefined)
        await worker.stop().catch(() => undefined)
        await producer.close()
        process.exitCode = 1
        return
      }
      log.info('draining: writing buffered batches before leaving the group')
      await scoring?.stop()
      await worker.stop()
      await producer.close()
      log.info(`stopped after storing ${worker.stats.pointsStored} points`)
    })
}
