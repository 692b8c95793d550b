// Spool write and drain rates: `node dist/bench/ingest/spool.bench.js` prints one JSON line.
// Writes come from `writers` concurrent sources (as devices do), so fsync: write shows its
// group commit; the drain reads chunks from the cursor and commits them, as the sink does.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Spool } from '../../ingest/spool/index.js'
import { batchFromPoints } from '../../schemas/points.js'
import { encodeBatch } from '../../schemas/wire/codec.js'
import { printResult } from '../machine.js'

export interface SpoolBenchOptions {
  /** Batches written. Default 20000. */
  batches: number
  /** Concurrent writers (sources). Default 50. */
  writers: number
  /** Points per batch (120 registers of one RTU poll). Default 120. */
  points: number
  fsync: 'write' | 'interval'
  /** Batches per drain chunk (collectors.spool.drainBatches). Default 500. */
  chunk: number
}

const quiet = { debug () {}, info () {}, warn () {}, error () {} }

export async function runSpoolBench (o: SpoolBenchOptions): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-spool-bench-'))
  const value = encodeBatch(batchFromPoints('rtu', 1, Array.from({ length: o.points }, (_, k) => ({ tag: `rtu/ch${k}`, timeUs: 1_767_225_600_000_000, value: k * 1.5, quality: 0xc0 }))))
  const spool = await Spool.open({ dir, maxBytes: 8 * 2 ** 30, segmentBytes: 16 * 2 ** 20, policy: 'reject-new', fsync: o.fsync, fsyncIntervalMs: 200 }, quiet)
  try {
    const perWriter = Math.ceil(o.batches / o.writers)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: o.writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) await spool.append({ source: `rtu${w}`, seq: i + 1, value })
    }))
    const writeS = (performance.now() - t0) / 1000
    const written = perWriter * o.writers
    const t1 = performance.now()
    let drained = 0
    for (;;) {
      const chunk = await spool.read(o.chunk)
      if (chunk.length === 0) break
      await spool.commit(chunk, Date.now())
      drained += chunk.length
    }
    const drainS = (performance.now() - t1) / 1000
    return {
      bench: 'spool', fsync: o.fsync, writers: o.writers, batch_bytes: value.length + 8 + 18 + 5,
      write_batches_per_sec: Math.round(written / writeS), write_mb_per_sec: +(written * value.length / writeS / 2 ** 20).toFixed(1),
      drain_batches_per_sec: Math.round(drained / drainS), drain_mb_per_sec: +(drained * value.length / drainS / 2 ** 20).toFixed(1),
    }
  } finally {
    await spool.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const fsync of ['write', 'interval'] as const) {
    printResult(await runSpoolBench({ batches: 20_000, writers: 50, points: 120, fsync, chunk: 500 }))
  }
}
