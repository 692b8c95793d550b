// Per-source seqs: increasing, in call order, never reused after a restart.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { SEQ_BLOCK, SeqAllocator } from '../../../ingest/spool/index.js'

t.test('seqs start at 1 per source, come in call order, and a restart never reuses one', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-seq-'))
  const a = await SeqAllocator.open(dir)
  const got = await Promise.all(Array.from({ length: 2500 }, () => a.take('pump')))
  t.same(got, Array.from({ length: 2500 }, (_, i) => i + 1), 'concurrent takes resolve in call order, across block boundaries')
  t.equal(await a.take('meter'), 1, 'each source counts on its own')
  const b = await SeqAllocator.open(dir) // as after a SIGKILL: nothing was closed
  const next = await b.take('pump')
  t.ok(next > 2500, `after a restart the next seq (${next}) is above every seq handed out`)
  t.ok(next <= 2501 + SEQ_BLOCK, 'the gap is at most one block')
  t.ok(await b.take('meter') > 1)
  t.equal(await b.take('new'), 1)
})
