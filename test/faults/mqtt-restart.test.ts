// Fault: the MQTT broker restarted under a running Sparkplug B edge node and the MQTT
// collector (its primary host). The collector reconnects, republishes its STATE and
// resubscribes; the edge node stores while disconnected, births again and forwards what it
// stored as historical. Every point the edge produced is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(600_000)

t.test('MQTT broker restarted: collectors resubscribe, Sparkplug nodes rebirth, every point stored once', async t => {
  const rig = await Rig.start({ name: 'mqtt_restart', basePort: 29180 })
  t.teardown(() => rig.close())
  await rig.startPipeline()
  await rig.runField(60)
  await sleep(15_000)
  t.ok(await rig.staleness('faults/%') < 5000, 'Sparkplug points flow before the fault')

  await rig.stopService('mqtt')
  await sleep(10_000)
  await rig.startService('mqtt')
  const recoverS = await rig.timeToFresh('faults/%')
  t.not(recoverS, null, 'fresh Sparkplug points are stored again after the broker returned')

  const tally = await rig.finish()
  const births = rig.lastRounds?.stats.births ?? 0
  t.ok(births >= 2, `the edge node was born again after the restart (${births} births)`)
  t.ok(tally.sent > 30_000, `the field sent ${tally.sent} points`)
  t.equal(tally.lost, 0, `no point lost (${tally.examples.join('; ')})`)
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('mqtt_restart', 5, { fault: 'MQTT broker stopped for 10 s, then started', happens: 'the collector reconnects and resubscribes; the edge stores, births again and forwards what it stored as historical', sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS, notes: `${births} births of the edge node` }))
})
