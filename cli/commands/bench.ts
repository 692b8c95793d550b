// `fieldstream bench <name>`: each benchmark prints one JSON line on stdout.
import type { Command } from 'commander'
import { DEFAULT_CODEC_BENCH, runCodecBench } from '../../bench/schemas/wire/codec.bench.js'

export function registerBench (program: Command): void {
  const bench = program.command('bench').description('run a benchmark; each prints one JSON line with its figures and the machine')
  bench.command('codec')
    .description('encode/decode rate of point batches (schemas/wire)')
    .option('--batch-points <n>', 'points per batch', String(DEFAULT_CODEC_BENCH.batchPoints))
    .option('--batch-tags <n>', 'distinct tags per batch', String(DEFAULT_CODEC_BENCH.batchTags))
    .option('--runs <n>', 'timed runs (median reported)', String(DEFAULT_CODEC_BENCH.runs))
    .action((o: { batchPoints: string, batchTags: string, runs: string }) => {
      runCodecBench({ ...DEFAULT_CODEC_BENCH, batchPoints: positive(o.batchPoints, '--batch-points'), batchTags: positive(o.batchTags, '--batch-tags'), runs: positive(o.runs, '--runs') })
    })
}

export function positive (raw: string, name: string): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  return n
}
