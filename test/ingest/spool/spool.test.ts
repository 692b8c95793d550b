// The on-disk spool: segments, cursor, bound and policies, recovery after a crash.
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { comparePositions, Spool, SpoolCorrupt, SpoolFull, SpoolLocked, SPOOL_ERROR_CODES } from '../../../ingest/spool/index.js'
import { ERROR_CODES, FsError, RETIRED_CODES } from '../../../schemas/errors.js'
import { captureLog, entry, spoolOptions } from './helpers.js'

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter(n => /^seg-\d+\.log$/.test(n)).sort()

t.test('each error class has its listed code, registered in the shared table and not retired', async t => {
  const errors = [new SpoolFull('x'), new SpoolCorrupt('x'), new SpoolLocked('x')]
  t.same(errors.map(e => e.code), [...SPOOL_ERROR_CODES])
  for (const e of errors) {
    t.ok(e instanceof FsError)
    t.ok((ERROR_CODES as readonly string[]).includes(e.code), `${e.code} is registered in schemas/errors.ts`)
    t.notOk(RETIRED_CODES.includes(e.code), `${e.code} is not a retired code`)
  }
})

t.test('records come back in order across segments; commit moves the cursor and deletes sent segments', async t => {
  const o = spoolOptions()
  const log = captureLog()
  const s = await Spool.open(o, log)
  for (let i = 1; i <= 100; i++) await s.append(entry(`dev${i % 3}`, i))
  t.equal(s.stats.pendingBatches, 100)
  t.ok(segmentFiles(o.dir).length >= 3, `100 records of ~134 bytes fill several 4 KiB segments (${segmentFiles(o.dir).length})`)
  const first = await s.read(40) // more than one 4 KiB segment holds
  t.same(first.map(r => r.seq), Array.from({ length: 40 }, (_, i) => i + 1))
  t.equal(first[4]!.value.toString('utf8', 0, 6), 'dev2#5', 'value intact')
  t.ok(first.every((r, i) => i === 0 || comparePositions(first[i - 1]!.end, r.end) < 0), 'positions increase')
  t.same((await s.read(40)).map(r => r.seq), first.map(r => r.seq), 'reading does not consume')
  const segmentsBefore = segmentFiles(o.dir).length
  await s.commit(first, 123)
  t.equal(s.stats.pendingBatches, 60)
  t.ok(segmentFiles(o.dir).length < segmentsBefore, 'a fully sent segment is deleted')
  t.equal(s.sendingSinceMs, 123)
  await s.close()

  const again = await Spool.open(o, log)
  t.equal(again.stats.pendingBatches, 60, 'pending count recovered from the files')
  t.equal(again.sendingSinceMs, 123, 'send start recovered from the cursor file')
  const rest = await again.read(1000)
  t.same(rest.map(r => r.seq), Array.from({ length: 60 }, (_, i) => i + 41), 'resumes at the cursor')
  await again.commit(rest, 456)
  t.ok(again.empty)
  t.equal(again.sendingSinceMs, null, 'an empty spool has no send in doubt')
  await again.append(entry('dev0', 101))
  t.same((await again.read(10)).map(r => r.seq), [101], 'appends after a reopen go after the old records')
  await again.close()
  t.same(log.lines.filter(l => !l.startsWith('info')), [], 'nothing to warn about')
})

t.test('reject-new: a full spool refuses the batch with FS_SPOOL_FULL and counts it', async t => {
  const o = spoolOptions({ maxBytes: 8192, segmentBytes: 4096 })
  const s = await Spool.open(o, captureLog())
  let kept = 0
  let err: unknown
  for (let i = 1; i <= 100 && err === undefined; i++) {
    try { await s.append(entry('a', i)); kept++ } catch (e) { err = e }
  }
  t.ok(err instanceof SpoolFull, 'SpoolFull')
  t.equal((err as SpoolFull).code, 'FS_SPOOL_FULL')
  t.match((err as Error).message, /collectors\.spool\.maxMB/, 'names the option')
  t.ok(s.stats.bytes <= 8192, `bound held (${s.stats.bytes} bytes)`)
  t.equal(s.stats.rejectedFull, 1)
  await t.rejects(s.append(entry('a', 999)), { code: 'FS_SPOOL_FULL' }, 'still full')
  t.equal(s.stats.rejectedFull, 2)
  t.same((await s.read(1000)).map(r => r.seq), Array.from({ length: kept }, (_, i) => i + 1), 'what was kept is intact, nothing dropped')
  await s.close()
})

t.test('drop-oldest: the oldest segment is evicted, counted and logged; order of the rest holds', async t => {
  const o = spoolOptions({ maxBytes: 8192, segmentBytes: 4096, policy: 'drop-oldest' })
  const log = captureLog()
  const s = await Spool.open(o, log)
  for (let i = 1; i <= 200; i++) await s.append(entry('a', i))
  t.ok(s.stats.bytes <= 8192, `bound held (${s.stats.bytes} bytes)`)
  t.ok(s.stats.droppedSegments > 0 && s.stats.droppedBatches > 0, `dropped ${s.stats.droppedBatches} batches in ${s.stats.droppedSegments} segments`)
  const left = await s.read(1000)
  t.equal(left.length + s.stats.droppedBatches, 200, 'every batch is either kept or counted as dropped')
  t.same(left.map(r => r.seq), Array.from({ length: left.length }, (_, i) => 200 - left.length + i + 1), 'the newest are kept, in order')
  t.ok(log.lines.some(l => l.startsWith('warn') && /policy drop-oldest/.test(l)), 'logged')
  t.equal(s.stats.rejectedFull, 0)
  await s.close()
})

t.test('drop-oldest while part of the oldest segment is sent: only unsent batches count as dropped', async t => {
  const o = spoolOptions({ maxBytes: 8192, segmentBytes: 4096, policy: 'drop-oldest' })
  const s = await Spool.open(o, captureLog())
  for (let i = 1; i <= 40; i++) await s.append(entry('a', i))
  const sent = await s.read(10)
  await s.commit(sent, 1)
  for (let i = 41; i <= 120; i++) await s.append(entry('a', i))
  const left = await s.read(1000)
  t.equal(10 + s.stats.droppedBatches + left.length, 120, 'sent + dropped + kept = written')
  t.equal(s.stats.pendingBatches, left.length)
  await s.commit(sent, 2)
  t.equal(s.stats.pendingBatches, left.length, 'a stale commit (records evicted meanwhile) changes nothing')
  await s.close()
})

t.test('a torn tail (crash during a write) is detected, truncated and logged; nothing before it is lost', async t => {
  const o = spoolOptions({ segmentBytes: 1 << 16 })
  const s = await Spool.open(o, captureLog())
  for (let i = 1; i <= 20; i++) await s.append(entry('a', i))
  await s.close()
  const last = join(o.dir, segmentFiles(o.dir).at(-1)!)
  const whole = readFileSync(last)
  appendFileSync(last, whole.subarray(0, 60)) // the first 60 bytes of a record: a write cut short
  const log = captureLog()
  const again = await Spool.open(o, log)
  t.equal(again.stats.truncatedBytes, 60)
  t.ok(log.lines.some(l => /^warn .*torn tail at offset \d+ .*truncated 60 bytes/.test(l)), 'one log line says what was cut')
  t.equal(readFileSync(last).length, whole.length, 'file cut back to its last whole record')
  t.same((await again.read(100)).map(r => r.seq), Array.from({ length: 20 }, (_, i) => i + 1))
  await again.append(entry('a', 21))
  t.same((await again.read(100)).map(r => r.seq).at(-1), 21, 'appends continue after the cut')
  await again.close()
})

t.test('corruption before the end of a segment is never skipped silently: set aside, logged as FS_SPOOL_CORRUPT, counted', async t => {
  const o = spoolOptions()
  const s = await Spool.open(o, captureLog())
  for (let i = 1; i <= 100; i++) await s.append(entry('a', i))
  await s.close()
  const files = segmentFiles(o.dir)
  const first = join(o.dir, files[0]!)
  const bytes = readFileSync(first)
  const perSegment = (await countIn(bytes))
  bytes[bytes.length - 50]! ^= 0xff // inside the last record of the first segment
  writeFileSync(first, bytes)
  const log = captureLog()
  const again = await Spool.open(o, log)
  t.ok(again.stats.corruptBytes > 0)
  t.ok(log.lines.some(l => /^error FS_SPOOL_CORRUPT: spool .* is corrupt at offset \d+ \(checksum mismatch\)/.test(l)), 'an error line with the code')
  t.ok(readdirSync(o.dir).some(n => /\.corrupt-at-\d+$/.test(n)), 'the bad bytes are kept beside the spool')
  const seqs = (await again.read(1000)).map(r => r.seq)
  t.same(seqs.slice(0, perSegment - 1), Array.from({ length: perSegment - 1 }, (_, i) => i + 1), 'records before the damage are kept')
  t.notOk(seqs.includes(perSegment), 'the damaged record is not sent')
  t.same(seqs.slice(perSegment - 1), Array.from({ length: 100 - perSegment }, (_, i) => perSegment + 1 + i), 'later segments are intact')
  await again.close()
})

t.test('fsync interval: appends resolve and are readable; close makes them durable', async t => {
  const o = spoolOptions({ fsync: 'interval', fsyncIntervalMs: 20 })
  const s = await Spool.open(o, captureLog())
  await Promise.all(Array.from({ length: 50 }, (_, i) => s.append(entry('a', i + 1))))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal((await s.read(100)).length, 50)
  await s.close()
  const again = await Spool.open(o, captureLog())
  t.equal(again.stats.pendingBatches, 50)
  await again.close()
})

t.test('one process per spool folder; a lock left by a dead process is taken over', async t => {
  const o = spoolOptions()
  writeFileSync(join(o.dir, 'lock'), String(process.ppid))
  await t.rejects(Spool.open(o, captureLog()), { code: 'FS_SPOOL_LOCKED' })
  writeFileSync(join(o.dir, 'lock'), '2147483646')
  const s = await Spool.open(o, captureLog())
  t.equal(readFileSync(join(o.dir, 'lock'), 'utf8'), String(process.pid))
  await s.close()
  t.notOk(existsSync(join(o.dir, 'lock')), 'released at close')
})

async function countIn (segment: Buffer): Promise<number> {
  const { parseRecord } = await import('../../../ingest/spool/record.js')
  let at = 0
  let n = 0
  for (;;) {
    const p = parseRecord(segment, at)
    if (p.kind !== 'record') return n
    at += p.bytes
    n++
  }
}
