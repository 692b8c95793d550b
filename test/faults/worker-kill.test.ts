// Fault: the storage worker SIGKILLed mid-batch (flushes run every 250 ms under this load),
// then restarted. Rows and the partition's next offset commit in one transaction, so the new
// process resumes exactly where the store stands. Every point sent is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(600_000)

t.test('worker SIGKILLed mid-batch, then restarted: every point stored exactly once', async t => {
  const rig = await Rig.start({ name: 'worker_kill', basePort: 29140 })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(60)
  await sleep(15_000)
  t.ok(await rig.staleness('%') < 5000, 'points flow before the fault')

  const killed = rig.worker!
  await killed.stop('SIGKILL')
  t.equal(killed.proc.signalCode, 'SIGKILL', 'the worker died by SIGKILL')
  await sleep(5000)
  rig.startWorker()
  await rig.worker!.waitForLine(/assigned partitions/, 180_000)
  const recoverS = await rig.timeToFresh('%/rtu%')
  t.not(recoverS, null, 'fresh points are stored again after the restart')

  const tally = await rig.finish()
  t.ok(tally.sent > 40_000, `the field sent ${tally.sent} points`)
  t.equal(tally.lost, 0, `no point lost (${tally.examples.join('; ')})`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('worker_kill', 3, { fault: 'storage worker SIGKILLed mid-batch, restarted after 5 s', happens: 'the uncommitted flush rolls back; the new process resumes from the offsets stored with the rows', sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS }))
})
