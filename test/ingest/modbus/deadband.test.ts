import t from 'tap'
import { DeadbandFilter } from '../../../ingest/modbus/deadband.js'
import { Quality } from '../../../schemas/quality.js'

t.test('deadband, quality change and heartbeat', async t => {
  const f = new DeadbandFilter([0.5, 0], 1000)
  const s = 1_000_000
  t.ok(f.pass(0, 10, Quality.good, s), 'first value is sent')
  t.notOk(f.pass(0, 10.5, Quality.good, s + 1), 'exactly the band is held back')
  t.ok(f.pass(0, 10.51, Quality.good, s + 2), 'beyond the band is sent')
  t.notOk(f.pass(0, 10.2, Quality.good, s + 3), 'compared with the last value sent, not the last read')
  t.ok(f.pass(0, 10.2, Quality.badCommFailure, s + 4), 'a quality change is sent')
  t.ok(f.pass(0, 10.2, Quality.badCommFailure, s + 5), 'bad values are always sent')
  t.ok(f.pass(0, 10.2, Quality.good, s + 6), 'back to good is sent')
  t.notOk(f.pass(0, 10.2, Quality.good, s + 6 + 999_999), 'within the heartbeat')
  t.ok(f.pass(0, 10.2, Quality.good, s + 6 + 1_000_000), 'the heartbeat sends it anyway')
  t.ok(f.pass(1, 3, Quality.good, s) && f.pass(1, 3, Quality.good, s + 1), 'deadband 0 sends every reading')
})
