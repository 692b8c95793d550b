// `fieldstream demo` (`npm run demo`): the whole pipeline on local defaults, with a live
// progress line. It wires the stages that exist: today the simulated field sends point
// batches into Kafka and a read-back consumer decodes them; workers, the store and the
// API join as they are built.
import type { Command } from 'commander'
import { createAdmin, createBatchConsumer, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { decodeBatch } from '../../schemas/wire/codec.js'
import { startSyntheticSource } from '../../sim/synthetic.js'
import { stackOptionsFromConfig, stackUp } from '../../stack/index.js'
import { configOf } from '../config.js'
import { pipelineTopics } from '../topics.js'
import { untilSignal } from '../signals.js'
import { repoPath } from '../repo.js'

const DEMO_GROUP = 'fieldstream-demo-readback'

export function registerDemo (program: Command): void {
  program.command('demo')
    .description('run the whole pipeline on local defaults (starts services as needed) with a live progress line; Ctrl-C stops it')
    .option('--no-stack', 'do not start local services (use what KAFKA_BROKERS etc. point at)')
    .option('--duration <seconds>', 'stop by itself after this many seconds')
    .action(async (o: { stack: boolean, duration?: string }, command: Command) => {
      if (command.optsWithGlobals<{ config?: string }>().config === undefined && process.env.FIELDSTREAM_CONFIG === undefined) {
        program.setOptionValue('config', repoPath('config/demo.yaml'))
      }
      const cfg = configOf(command)
      const say = (line: string): void => { process.stderr.write(`${line}\n`) }
      if (o.stack) await stackUp(stackOptionsFromConfig(cfg, say))

      const admin = createAdmin(cfg.kafka)
      const created = await ensureTopics(admin, pipelineTopics(cfg))
      if (created.length > 0) say(`kafka: created topics ${created.join(', ')}`)
      await admin.close()

      const consumer = createBatchConsumer(cfg.kafka, DEMO_GROUP)
      const stream = await consumer.consume({ topics: [cfg.kafka.topics.points], mode: 'latest', autocommit: 1000 })
      let decoded = 0
      let corrupt = 0
      stream.on('data', message => {
        try {
          decoded += decodeBatch(message.value).tagIndex.length
        } catch {
          corrupt++
        }
      })
      stream.on('error', err => say(`demo: consumer error: ${err.message}`))

      const producer = createBatchProducer(cfg.kafka)
      const source = startSyntheticSource(producer, { topic: cfg.kafka.topics.points, ...cfg.sim })
      say(`demo: ${cfg.sim.tags} simulated tags on ${cfg.sim.devices} devices at ${cfg.sim.rateHz} Hz -> Kafka ${cfg.kafka.brokers.join(',')} topic ${cfg.kafka.topics.points}`)
      say('demo: storage workers, store and API are not wired yet; progress shows points in and points read back decoded. Ctrl-C to stop.')

      const started = Date.now()
      let lastSent = 0
      const progress = setInterval(() => {
        void consumer.getLag({ topics: [cfg.kafka.topics.points] }).then(lag => {
          const total = [...lag.values()].flat().reduce((sum, l) => sum + (l > 0n ? l : 0n), 0n)
          const rate = (source.sent - lastSent)
          lastSent = source.sent
          const line = `points in ${fmt(source.sent)} (${fmt(rate)}/s) | read back ${fmt(decoded)} | corrupt ${corrupt} | consumer lag ${total} batches | send failures ${fmt(source.failed)} | ${Math.round((Date.now() - started) / 1000)} s`
          process.stderr.write(process.stderr.isTTY ? `\r${line}\u001b[K` : `${line}\n`)
        }, () => undefined)
      }, 1000)

      const duration = o.duration === undefined ? undefined : Number(o.duration)
      await (duration === undefined ? untilSignal() : Promise.race([untilSignal(), sleep(duration * 1000)]))
      clearInterval(progress)
      if (process.stderr.isTTY) say('')
      say('demo: stopping')
      await source.stop()
      await producer.close()
      await stream.close()
      await consumer.close()
      say(`demo: stopped; ${fmt(source.sent)} points sent, ${fmt(decoded)} read back decoded, ${corrupt} corrupt batches. Services keep running (\`fieldstream stack down\` stops them).`)
    })
}

function fmt (n: number): string {
  return n.toLocaleString('en-US')
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref())
}
