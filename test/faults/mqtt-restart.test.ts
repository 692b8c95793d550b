// Fault: the MQTT broker restarted under a running Sparkplug B edge node and the MQTT
// collector (its primary host). The collector reconnects, republishes its STATE and
// resubscribes; the edge node stores while disconnected, births again and forwards what it
// stored as historical. Sparkplug B publishes data at QoS 0, so a DDATA the broker had received
// but not yet handled when it stopped is gone by protocol: each tag may miss that one round, no
// more. Every other point is stored exactly once, and the Modbus side does not notice.
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
  t.ok(tally.maxLostPerTag <= 1, `at most the round in flight when the broker stopped is missing per tag (${tally.lost} points; ${tally.examples.join('; ')})`)
  t.equal(tally.lostOutside('faults/'), 0, 'no Modbus point lost')
  t.equal(tally.duplicated, 0, 'no point stored twice')
  t.equal(tally.unexpected, 0, 'no point the field did not send')
  t.comment(recordResult('mqtt_restart', 5, { fault: 'MQTT broker stopped for 10 s, then started', happens: 'the collector reconnects and resubscribes; the edge stores, births again and forwards what it stored as historical', sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS, notes: tally.lost > 0 ? `QoS 0 DDATA in flight when the broker stopped (${tally.lost / rig.field.sparkplug.metricsPerDevice} device messages of one round); ${births} births` : `${births} births of the edge node` }))
})
