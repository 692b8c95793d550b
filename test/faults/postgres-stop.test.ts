// Fault: PostgreSQL stopped for 30 s mid-ingest, then started again. The worker pauses its
// Kafka intake (bounded buffer), retries with capped backoff, and resumes from the offsets
// stored with the rows. Every point sent is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(600_000)

t.test('PostgreSQL stopped for 30 s mid-ingest, then started: every point stored exactly once', async t => {
  const rig = await Rig.start({ name: 'postgres_stop', basePort: 29120 })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(75)
  await sleep(15_000)
  t.ok(await rig.staleness('%') < 5000, 'points flow before the fault')

  await rig.stopService('postgres')
  await sleep(30_000)
  await rig.startService('postgres')
  const recoverS = await rig.timeToFresh('%/rtu%')
  t.not(recoverS, null, 'fresh points are stored again after PostgreSQL returned')
  t.equal(rig.worker!.proc.exitCode, null, 'the worker kept running through the outage')

  const tally = await rig.finish()
  t.ok(rig.worker!.log.some(l => /database unavailable, retrying/.test(l)), 'the worker said it was waiting for the database')
  t.ok(tally.sent > 50_000, `the field sent ${tally.sent} points`)
  t.equal(tally.lost, 0, `no point lost (${tally.examples.join('; ')})`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('postgres_stop', 2, { fault: 'PostgreSQL stopped for 30 s mid-ingest, then started', happens: 'workers pause Kafka intake and retry with capped backoff; collectors are unaffected', sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS }))
})
