// `fieldstream sim`: simulated field data into Kafka until Ctrl-C.
import type { Command } from 'commander'
import { createAdmin, createBatchProducer, ensureTopics } from '../../common/kafka.js'
import { startSyntheticSource } from '../../sim/synthetic.js'
import { configOf } from '../config.js'
import { pipelineTopics } from '../topics.js'
import { untilSignal } from '../signals.js'

export function registerSim (program: Command): void {
  program.command('sim')
    .description('simulate field devices: synthetic point batches at the configured rate (config section `sim`) into the points topic')
    .action(async (_o: unknown, command: Command) => {
      const cfg = configOf(command)
      const admin = createAdmin(cfg.kafka)
      await ensureTopics(admin, pipelineTopics(cfg))
      await admin.close()
      const producer = createBatchProducer(cfg.kafka)
      const source = startSyntheticSource(producer, { topic: cfg.kafka.topics.points, ...cfg.sim })
      process.stderr.write(`sim: ${cfg.sim.tags} tags on ${cfg.sim.devices} devices at ${cfg.sim.rateHz} Hz -> ${cfg.kafka.topics.points}; Ctrl-C to stop\n`)
      const progress = setInterval(() => process.stderr.write(`sim: ${source.sent.toLocaleString('en-US')} points sent, ${source.failed} failed\n`), 5000)
      await untilSignal()
      clearInterval(progress)
      await source.stop()
      await producer.close()
      process.stderr.write(`sim: stopped after ${source.sent.toLocaleString('en-US')} points\n`)
    })
}
