// Fault: Kafka away long enough for the collector's disk spool to reach its bound
// (collectors.spool.maxMB, policy reject-new, the default). The documented policy: batches that
// no longer fit are refused with FS_SPOOL_FULL, logged once per device with the option to raise,
// and counted; everything already spooled is kept and sent when Kafka returns. So the loss is
// exactly the refused batches, no more, and nothing is doubled.
// Only RTUs (60 registers, one batch per poll), so a refused batch is exactly 60 points.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(600_000)

const CHANNELS = 60

t.test('the spool fills while Kafka is away: the reject-new policy holds, only refused batches are lost', async t => {
  const rig = await Rig.start({
    name: 'spool_full',
    basePort: 29200,
    field: { modbus: { pumps: 0, tanks: 0, flowMeters: 0, rtus: 8, rtuChannels: CHANNELS, pollIntervalMs: 50 }, sparkplug: { devices: 0, metricsPerDevice: 1, tickMs: 1000 } },
    config: { spool: { maxMB: 1, segmentMB: 0.25, policy: 'reject-new' } },
  })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(75)
  await sleep(10_000)
  t.ok(await rig.staleness('%') < 5000, 'points flow before the fault')

  await rig.kill('kafka')
  const full = await rig.collector!.waitForLine(/FS_SPOOL_FULL|is full/, 90_000)
  t.match(full, /collectors\.spool\.maxMB/, 'the error names the option to raise')
  await sleep(5000)
  t.equal(rig.collector!.proc.exitCode, null, 'the collector keeps running with a full spool')
  await rig.startService('kafka')
  const recoverS = await rig.timeToFresh('%/rtu%')
  t.not(recoverS, null, 'fresh points are stored again after Kafka returned')

  const tally = await rig.finish()
  const stopped = rig.collector!.log.find(l => /stopped: modbus/.test(l)) ?? ''
  const refused = Number(/(\d+) refused by the sink/.exec(stopped)?.[1] ?? NaN)
  t.ok(refused > 0, `the collector counted ${refused} refused batches`)
  t.equal(tally.lost, refused * CHANNELS, `exactly the refused batches are missing (${refused} x ${CHANNELS} points)`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('spool_full', 6, { fault: 'disk spool full (1 MB bound) while Kafka is away', happens: 'reject-new: new batches refused with FS_SPOOL_FULL naming collectors.spool.maxMB, counted in the stats; the spooled ones are kept and sent', sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS, notes: `lost = exactly the ${refused} refused batches (${refused * CHANNELS} points), by policy` }))
})
