// A collector process for the SIGKILL test: writes numbered batches of a few devices to a
// KafkaSink and prints `ack <device> <n>` once each write resolved (so the parent knows
// exactly what was acknowledged), and `stats <json>` lines. SIGTERM closes the sink cleanly.
// argv: broker topic spoolDir firstNumber drainBatches
import { writeSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaSink } from '../../../ingest/kafka/index.js'
import { numbered, sinkConfig } from './fixtures.js'

const [broker, topic, dir, first, drainBatches] = process.argv.slice(2) as [string, string, string, string, string]
const quiet = (): void => undefined
const sink = await KafkaSink.open(sinkConfig(broker, topic, { dir, drainBatches: Number(drainBatches), sendTimeoutMs: 500 }), {
  log: { debug: quiet, info: m => writeSync(2, `child: ${m}\n`), warn: m => writeSync(2, `child: ${m}\n`), error: m => writeSync(2, `child: ${m}\n`) },
})
let running = true
const writers = ['rtu1', 'rtu2', 'rtu3'].map(async device => {
  for (let n = Number(first); running; n++) {
    await sink.write(numbered(device, n))
    writeSync(1, `ack ${device} ${n}\n`)
    await sleep(10)
  }
})
const report = setInterval(() => writeSync(1, `stats ${JSON.stringify(sink.stats)}\n`), 100)
process.once('SIGTERM', () => {
  running = false
  void Promise.all(writers).then(async () => {
    clearInterval(report)
    await sink.close()
    writeSync(1, `closed ${JSON.stringify(sink.stats)}\n`)
    process.exit(0)
  })
})
