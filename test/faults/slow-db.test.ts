// Fault: the database runs slower than ingest for two minutes: every write of a flush's offsets
// takes 2 s (a trigger sleeping in the server, as on a saturated disk), and the worker's flushes
// are kept small, so the store really falls behind whatever the machine's speed. (Freezing the
// server with SIGSTOP most of the time was tried first: the worker's flushes grow to fit the
// windows it gets and it kept up.) The worker must hold its memory bound (intake pauses at
// workers.maxBufferedMB and the backlog waits in Kafka), then catch up once the database is
// fast again. Every point sent is stored exactly once.
import t from 'tap'
import { recordResult } from './result.js'
import { Rig, sleep } from './rig.js'

t.setTimeout(900_000)

const SLOW_S = 120
/** Seconds each offset write of a flush takes while the database is slow. */
const WRITE_S = 2
/** The worker's intake bound, far below the backlog the slow phase builds up. */
const MAX_BUFFERED_MB = 1
/** Growth of the worker's resident memory over its size before the fault: the bound plus GC slack. */
const RSS_GROWTH_LIMIT_MB = 100

t.test('the database slower than ingest for 2 minutes: memory stays bounded, the backlog drains afterwards', async t => {
  const rig = await Rig.start({
    name: 'slow_db',
    basePort: 29220,
    // Small flushes: each carries little, and each waits out the slow write.
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
  const db = rig.db()
  await db.query(`CREATE FUNCTION faults_slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${WRITE_S}); RETURN NEW; END $$`)
  await db.query('CREATE TRIGGER faults_slow_write BEFORE INSERT OR UPDATE ON consumer_offsets FOR EACH ROW EXECUTE FUNCTION faults_slow_write()')
  await sleep(SLOW_S * 1000)
  const lagAfterSlow = await rig.lag()
  // An underestimate (the broker's batches are compressed), so more than the bound is a real excess.
  const backlogMB = await rig.backlogMB()
  await db.query('DROP TRIGGER faults_slow_write ON consumer_offsets')
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
  t.comment(recordResult('slow_db', 7, { fault: `database slower than ingest for ${SLOW_S} s (each flush's offset write takes ${WRITE_S} s; small flushes)`, happens: `intake pauses at workers.maxBufferedMB (${MAX_BUFFERED_MB}); the backlog waits in Kafka and drains afterwards`, sent: tally.sent, lost: tally.lost, duplicated: tally.duplicated, recoverS, notes: `Kafka backlog ${lagAfterSlow} messages (${backlogMB.toFixed(1)} MB) at the end of the slow phase; worker RSS ${baseRssMB.toFixed(0)} MB before, ${peakRssMB.toFixed(0)} MB at most` }))
})
