// `fieldstream demo` (`npm run demo`): the whole pipeline on local defaults with a live
// progress line: simulated Modbus and Sparkplug devices -> collectors -> Kafka -> storage
// worker (rollups) and scoring stage (alerts) -> store -> API and dashboard.
import type { Command } from 'commander'
import pg from 'pg'
import { scopesFor } from '../../api/auth/keys.js'
import { createApiKey } from '../../api/auth/store.js'
import { startApi } from '../../api/server.js'
import { createAdmin, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { createLogger } from '../../common/log.js'
import { startCollectors } from '../../ingest/collect.js'
import { startSimulatedField } from '../../sim/field.js'
import { stackOptionsFromConfig, stackUp } from '../../stack/index.js'
import { createScoreWorker, scoreOptionsFromConfig } from '../../workers/score-worker.js'
import { createStorageWorker, workerOptionsFromConfig } from '../../workers/storage-worker.js'
import { configOf } from '../config.js'
import { repoPath } from '../../common/repo.js'
import { untilSignal } from '../signals.js'
import { pipelineTopics } from '../topics.js'

export function registerDemo (program: Command): void {
  program.command('demo')
    .description('run the whole pipeline on local defaults (starts services as needed) with a live progress line; Ctrl-C stops it')
    .option('--no-stack', 'do not start local services (use what KAFKA_BROKERS etc. point at)')
    .option('--duration <seconds>', 'stop by itself after this many seconds')
    .action(async (o: { stack: boolean, duration?: string }, command: Command) => {
      if (command.optsWithGlobals<{ config?: string }>().config === undefined && process.env.FIELDSTREAM_CONFIG === undefined) {
        program.setOptionValue('config', repoPath('config/demo.yaml'))
      }
      // Stage logs would scroll the progress line away: warnings and errors only.
      process.env.FIELDSTREAM_LOG ??= 'warn'
      const cfg = configOf(command)
      const say = (line: string): void => { process.stderr.write(`${line}\n`) }
      if (o.stack) await stackUp(stackOptionsFromConfig(cfg, say))

      const admin = createAdmin(cfg.kafka)
      const created = await ensureTopics(admin, pipelineTopics(cfg))
      if (created.length > 0) say(`kafka: created topics ${created.join(', ')}`)
      await admin.close()

      const producer = createBatchProducer(cfg.kafka)
      const worker = createStorageWorker(workerOptionsFromConfig(cfg), { log: createLogger('work'), producer })
      await worker.start()
      say(`worker: consuming ${cfg.kafka.topics.points} into the ${worker.flavor} store at ${new URL(cfg.database.url).host}`)
      const scoring = createScoreWorker(scoreOptionsFromConfig(cfg), { log: createLogger('score'), producer })
      await scoring.start()
      say(`scoring: model ${scoring.model}, alerts to ${cfg.kafka.topics.alerts}`)
      const field = await startSimulatedField(cfg)
      say(`field: ${field.pad?.devices.length ?? 0} Modbus devices polled every ${cfg.sim.modbus.pollIntervalMs} ms, ${field.edge?.nodeIds.length ?? 0} Sparkplug B nodes on ${cfg.mqtt.url}`)
      const collectors = await startCollectors(field.collectorConfig, { log: createLogger('collect') })
      const api = await startApi(cfg, { log: createLogger('api') })
      // A read key for this run, so the dashboard link works as printed.
      const keyDb = new pg.Client({ connectionString: cfg.database.url })
      await keyDb.connect()
      const { key } = await createApiKey(keyDb, `demo ${new Date().toISOString()}`, scopesFor('read'))
      await keyDb.end()
      say(`api: ${api.url}/docs (OpenAPI)  dashboard: ${api.url}/dashboard/#key=${key}`)
      say('demo: running. Ctrl-C to stop.')

      const started = Date.now()
      let lastIn = 0
      let lastStored = 0
      const pointsIn = (): number => (collectors.modbus?.stats.points ?? 0) + (collectors.mqtt?.stats.batches.pointsWritten ?? 0)
      const progress = setInterval(() => {
        void worker.lag().catch(() => -1n).then(lag => {
          const inNow = pointsIn()
          const storedNow = worker.stats.pointsStored
          const spool = collectors.sink.stats.spool.pendingBatches
          const line = `points in ${fmt(inNow)} (${fmt(inNow - lastIn)}/s) | stored ${fmt(storedNow)} (${fmt(storedNow - lastStored)}/s) | consumer lag ${lag} batches | spooled ${spool} | dead-lettered ${worker.stats.deadLettered} | scored ${fmt(scoring.stats.scores)} | alerts ${scoring.stats.alertsOpened} opened, ${scoring.stats.alertsClosed} closed | ${Math.round((Date.now() - started) / 1000)} s`
          lastIn = inNow
          lastStored = storedNow
          process.stderr.write(process.stderr.isTTY ? `\r${line}\u001b[K` : `${line}\n`)
        })
      }, 1000)

      const duration = o.duration === undefined ? undefined : Number(o.duration)
      const stopReason = await (duration === undefined ? untilSignal() : Promise.race([untilSignal(), sleep(duration * 1000)]))
      void stopReason
      clearInterval(progress)
      if (process.stderr.isTTY) say('')
      say('demo: stopping (collectors, then the field, then the worker drains)')
      await collectors.stop()
      await field.stop()
      await api.close()
      await scoring.stop()
      await worker.stop()
      await producer.close()
      say(`demo: stopped; ${fmt(pointsIn())} points collected, ${fmt(worker.stats.pointsStored)} stored. Services keep running (\`fieldstream stack down\` stops them).`)
    })
}

function fmt (n: number): string {
  return n.toLocaleString('en-US')
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref())
}
