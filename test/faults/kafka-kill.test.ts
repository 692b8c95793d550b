// Fault: the Kafka broker SIGKILLed for 30 s while the field streams, then restarted.
// The collector spools while the broker is away and drains in order when it is back; the
// worker's storage and scoring stages wait, rejoin their groups and resume: storage from the
// offsets stored with its rows. Every point sent is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(600_000)

t.test('Kafka SIGKILLed for 30 s, then restarted: every point stored exactly once', async t => {
  const rig = await Rig.start({ name: 'kafka_kill', basePort: 29100, scoring: true })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(75)
  await sleep(15_000)
  t.ok(await rig.staleness('%') < 5000, 'points flow before the fault')

  await rig.kill('kafka')
  await sleep(30_000)
  await rig.startService('kafka')
  const recoverS = await rig.timeToFresh('%/rtu%')
  t.not(recoverS, null, 'fresh points are stored again after the broker returned')

  const tally = await rig.finish()
  t.ok(rig.collector!.log.some(l => /spool/i.test(l)), 'the collector reported spooling while the broker was away')
  t.notOk(rig.worker!.log.some(l => /stopping on an error/.test(l)), 'neither the storage nor the scoring stage gave up on the outage')
  t.ok(rig.worker!.log.filter(l => /rejoined group/.test(l)).length >= 2, 'both stages rejoined their consumer groups')
  t.ok(tally.sent > 50_000, `the field sent ${tally.sent} points`)
  t.equal(tally.lost, 0, `no point lost (${tally.examples.join('; ')})`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('kafka_kill', 1, { fault: 'Kafka broker SIGKILLed for 30 s, then restarted', happens: 'collectors spool to disk, workers wait; spool drains in order when the broker is back', sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS }))
})
