// Fault: the database runs slower than ingest for two minutes. Every PostgreSQL process is
// frozen (SIGSTOP) for 900 ms of each second, so the server works a tenth of the time. The
// worker must hold its memory bound (intake pauses at workers.maxBufferedMB and the
// backlog waits in Kafka), then catch up once the database is fast again. Every point sent
// is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(900_000)

const SLOW_S = 120
/** Worker memory bound: the intake bound plus the process's own footprint (Node, Piscina thread, pg). */
const MAX_BUFFERED_MB = 16
const RSS_LIMIT_MB = 400

t.test('the database slower than ingest for 2 minutes: memory stays bounded, the backlog drains afterwards', async t => {
  const rig = await Rig.start({
    name: 'slow_db',
    basePort: 29220,
    // Small flushes: more transactions, each of which waits out the frozen server.
    config: { workers: { maxBufferedMB: MAX_BUFFERED_MB, flushMB: 0.25 } },
  })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(SLOW_S + 60)
  await sleep(15_000)
  t.ok(await rig.staleness('%') < 5000, 'points flow before the fault')
  const lagBefore = await rig.lag()

  let peakRssMB = 0
  const sampler = setInterval(() => { peakRssMB = Math.max(peakRssMB, rig.worker!.rssMB()) }, 500)
  const slowUntil = Date.now() + SLOW_S * 1000
  while (Date.now() < slowUntil) {
    rig.pgSignal('SIGSTOP')
    await sleep(900)
    rig.pgSignal('SIGCONT')
    await sleep(100)
  }
  rig.pgSignal('SIGCONT')
  const lagAfterSlow = await rig.lag()
  t.ok(lagAfterSlow > lagBefore + 100, `a backlog built up in Kafka while the database was slow (${lagBefore} -> ${lagAfterSlow} messages)`)
  const recoverS = await rig.timeToFresh('%/rtu%', 3000, 300_000)
  clearInterval(sampler)
  t.not(recoverS, null, 'the backlog drained and fresh points are stored again')
  t.ok(peakRssMB > 0 && peakRssMB <= RSS_LIMIT_MB, `worker peak RSS ${peakRssMB.toFixed(0)} MB within ${RSS_LIMIT_MB} MB`)

  const tally = await rig.finish()
  t.ok(tally.sent > 60_000, `the field sent ${tally.sent} points`)
  t.equal(tally.lost, 0, `no point lost (${tally.examples.join('; ')})`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('slow_db', 7, { fault: `database frozen 90 % of the time for ${SLOW_S} s (SIGSTOP/SIGCONT)`, happens: `intake pauses at workers.maxBufferedMB (${MAX_BUFFERED_MB}); the backlog waits in Kafka and drains afterwards`, sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS, notes: `Kafka backlog ${lagBefore} -> ${lagAfterSlow} messages; worker peak RSS ${peakRssMB.toFixed(0)} MB` }))
})
