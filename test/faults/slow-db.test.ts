// Fault: the database runs slower than ingest for two minutes. Every PostgreSQL process is
// frozen (SIGSTOP) for 1.9 s of every 2 s, so the server works a twentieth of the time, and the
// worker's flushes are kept small, so that the store really falls behind (with its usual large
// flushes the worker keeps up with this field even then). The worker must hold its memory
// bound (intake pauses at workers.maxBufferedMB and the backlog waits in Kafka), then catch
// up once the database is fast again. Every point sent is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(900_000)

const SLOW_S = 120
/** The worker's intake bound, far below the backlog the slow phase builds up. */
const MAX_BUFFERED_MB = 1
/** Growth of the worker's resident memory over its size before the fault: the bound plus GC slack. */
const RSS_GROWTH_LIMIT_MB = 100

t.test('the database slower than ingest for 2 minutes: memory stays bounded, the backlog drains afterwards', async t => {
  const rig = await Rig.start({
    name: 'slow_db',
    basePort: 29220,
    // Small flushes: more transactions, each of which waits out the frozen server.
    config: { workers: { maxBufferedMB: MAX_BUFFERED_MB, flushMB: 0.02 } },
  })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(SLOW_S + 60)
  await sleep(15_000)
  t.ok(await rig.staleness('%') < 5000, 'points flow before the fault')
  const lagBefore = await rig.lag()

  const baseRssMB = rig.worker!.rssMB()
  let peakRssMB = 0
  const sampler = setInterval(() => { peakRssMB = Math.max(peakRssMB, rig.worker!.rssMB()) }, 500)
  const slowUntil = Date.now() + SLOW_S * 1000
  while (Date.now() < slowUntil) {
    rig.pgSignal('SIGSTOP')
    await sleep(1900)
    rig.pgSignal('SIGCONT')
    await sleep(100)
  }
  rig.pgSignal('SIGCONT')
  const lagAfterSlow = await rig.lag()
  // An underestimate (the broker's batches are compressed), so more than the bound is a real excess.
  const backlogMB = await rig.backlogMB()
  t.ok(backlogMB > MAX_BUFFERED_MB, `a backlog built up in Kafka while the database was slow (${lagBefore} -> ${lagAfterSlow} messages, ${backlogMB.toFixed(1)} MB), more than the worker may hold`)
  const recoverS = await rig.timeToFresh('%/rtu%', 3000, 300_000)
  clearInterval(sampler)
  t.not(recoverS, null, 'the backlog drained and fresh points are stored again')
  t.ok(baseRssMB > 0 && peakRssMB - baseRssMB <= RSS_GROWTH_LIMIT_MB, `worker RSS ${baseRssMB.toFixed(0)} MB before, peak ${peakRssMB.toFixed(0)} MB during the slow phase (growth limit ${RSS_GROWTH_LIMIT_MB} MB)`)

  const tally = await rig.finish()
  t.ok(tally.sent > 60_000, `the field sent ${tally.sent} points`)
  t.equal(tally.lost, 0, `no point lost (${tally.examples.join('; ')})`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('slow_db', 7, { fault: `database frozen 95 % of the time for ${SLOW_S} s (SIGSTOP/SIGCONT), small flushes`, happens: `intake pauses at workers.maxBufferedMB (${MAX_BUFFERED_MB}); the backlog waits in Kafka and drains afterwards`, sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS, notes: `Kafka backlog ${lagAfterSlow} messages (${backlogMB.toFixed(1)} MB) at the end of the slow phase; worker RSS ${baseRssMB.toFixed(0)} MB before, ${peakRssMB.toFixed(0)} MB at most` }))
})
