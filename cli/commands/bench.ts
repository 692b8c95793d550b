// `fieldstream bench <name>`: each benchmark prints one JSON line on stdout.
import type { Command } from 'commander'
import { configOf } from '../config.js'
import { DEFAULT_MODBUS_BENCH, runModbusBench } from '../../bench/ingest/modbus.bench.js'
import { runMqttBench } from '../../bench/ingest/mqtt.bench.js'
import { DEFAULT_CODEC_BENCH, runCodecBench } from '../../bench/schemas/wire/codec.bench.js'
import { DEFAULT_STORE_BENCH, runStoreBench } from '../../bench/workers/store.bench.js'
import { DEFAULT_API_BENCH, runApiBench } from '../../bench/api/api.bench.js'
import { DEFAULT_KAFKA_BENCH, runKafkaBench } from '../../bench/kafka/kafka.bench.js'
import { CLIENT_NAMES, type ClientName } from '../../bench/kafka/clients/index.js'
import { DEFAULT_SCORE_BENCH, runScoreBench } from '../../bench/score/score.bench.js'
import { DEFAULT_QUALITY_BENCH, runQualityBench } from '../../bench/score/quality.bench.js'
import { DEFAULT_E2E_BENCH, runE2eBench } from '../../bench/e2e/e2e.bench.js'

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
  registerStoreBench(bench)
  registerCollectorBenches(bench)
  registerKafkaBench(bench)
  registerScoreBenches(bench)
  registerApiBench(bench)
  registerE2eBench(bench)
}

/** The collector benchmarks (issue #5): Modbus polling and MQTT/Sparkplug intake, sinks counting points. */
export function registerCollectorBenches (bench: Command): void {
  const m = DEFAULT_MODBUS_BENCH
  bench.command('modbus')
    .description('poll simulated Modbus TCP RTUs concurrently with the collector (sink counts points); medians of several runs')
    .option('--devices <n>', 'simulated devices, one TCP port each', String(m.devices))
    .option('--channels <n>', 'registers per device (one request)', String(m.channels))
    .option('--poll-interval-ms <n>', 'poll interval of every device', String(m.pollIntervalMs))
    .option('--seconds <n>', 'measured seconds per run', String(m.seconds))
    .option('--runs <n>', 'runs (median reported)', String(m.runs))
    .action(async (o: Record<string, string>) => {
      await runModbusBench({ devices: positive(o.devices!, '--devices'), channels: positive(o.channels!, '--channels'), pollIntervalMs: positive(o.pollIntervalMs!, '--poll-interval-ms'), seconds: positive(o.seconds!, '--seconds'), runs: positive(o.runs!, '--runs') })
    })
  bench.command('mqtt')
    .description('Sparkplug B and JSON publishers through Mosquitto into the MQTT collector (sink counts points); medians of several runs')
    .option('--seconds <n>', 'measured seconds per run', '5')
    .option('--runs <n>', 'runs (median reported)', '3')
    .option('--offered <n>', 'offered load, points/s', '600000')
    .action(async (o: Record<string, string>, command: Command) => {
      await runMqttBench({ url: configOf(command).mqtt.url, seconds: positive(o.seconds!, '--seconds'), runs: positive(o.runs!, '--runs'), offeredPointsPerSec: positive(o.offered!, '--offered') })
    })
}

export function registerStoreBench (bench: Command): void {
  const d = DEFAULT_STORE_BENCH
  bench.command('store')
    .description('preload point batches into Kafka, then time `fieldstream work` storing them (consume-to-durable), count lost/duplicated, read one tag-day')
    .option('--points <n>', 'points preloaded', String(d.points))
    .option('--tags <n>', 'distinct tags', String(d.tags))
    .option('--day-tags <n>', 'tags with a full day at 1 Hz (read figure)', String(d.dayTags))
    .option('--threads <n>', 'Piscina threads of the worker', String(d.threads))
    .option('--lanes <n>', 'COPY lanes of the worker', String(d.lanes))
    .option('--flush-mb <n>', 'flush size, MB', String(d.flushMB))
    .option('--max-buffered-mb <n>', 'worker intake bound, MB', String(d.maxBufferedMB))
    .option('--partitions <n>', 'partitions of the bench topic', String(d.partitions))
    .option('--no-rollups', 'store only (no rollup refresher), to measure what rollups cost')
    .option('--no-scoring', 'no scoring stage beside the storage worker, to measure what scoring costs')
    .action(async (o: Record<string, string | boolean>) => {
      await runStoreBench({
        rollups: o.rollups !== false,
        scoring: o.scoring !== false,
        points: positive(o.points as string, '--points'), tags: positive(o.tags as string, '--tags'), dayTags: positive(o.dayTags as string, '--day-tags'),
        threads: positive(o.threads as string, '--threads'), lanes: positive(o.lanes as string, '--lanes'), flushMB: Number(o.flushMb), maxBufferedMB: Number(o.maxBufferedMb), partitions: positive(o.partitions as string, '--partitions'),
      })
    })
}

export function registerKafkaBench (bench: Command): void {
  const d = DEFAULT_KAFKA_BENCH
  bench.command('kafka')
    .description('produce/consume rate of point batches on the local broker for @platformatic/kafka, kafkajs and node-rdkafka (installs the last two into bench/kafka/node_modules on first run)')
    .option('--clients <list>', `comma-separated, of ${CLIENT_NAMES.join(', ')}`, d.clients.join(','))
    .option('--batches <n>', 'batches per client and run', String(d.batches))
    .option('--batch-points <n>', 'points per batch', String(d.batchPoints))
    .option('--runs <n>', 'timed runs (medians reported)', String(d.runs))
    .option('--partitions <n>', 'partitions of each bench topic', String(d.partitions))
    .option('--send-batches <n>', 'messages per send() (platformatic, kafkajs)', String(d.sendBatches))
    .option('--decode', 'also time a consumer that decodes every batch')
    .option('--no-install', 'do not npm-install missing clients into bench/kafka/node_modules')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const clients = String(o.clients).split(',').map(c => c.trim()).filter(c => c !== '')
      for (const c of clients) if (!(CLIENT_NAMES as readonly string[]).includes(c)) throw new RangeError(`--clients: unknown client ${JSON.stringify(c)} (expected ${CLIENT_NAMES.join(', ')})`)
      await runKafkaBench({
        clients: clients as ClientName[], batches: positive(String(o.batches), '--batches'), batchPoints: positive(String(o.batchPoints), '--batch-points'),
        runs: positive(String(o.runs), '--runs'), partitions: positive(String(o.partitions), '--partitions'), sendBatches: positive(String(o.sendBatches), '--send-batches'),
        decode: o.decode === true, install: o.install !== false,
      })
      // Native librdkafka threads and idle sockets would otherwise keep the process up.
      process.exit(0)
    })
}

/** The API benchmark (issue #7): rollups and chart series over HTTP on a 50 M-point store. */
export function registerApiBench (bench: Command): void {
  const d = DEFAULT_API_BENCH
  bench.command('api')
    .description('load (once) 50 M points over 5,000 tags into fieldstream_bench_api, then time GET /v1/rollups (one tag x 30 days at 1 h) and /v1/series (one tag x 1 year at ~1,000 points) with autocannon against the API in a child process')
    .option('--connections <n>', 'autocannon connections for rollups', String(d.connections))
    .option('--series-connections <n>', 'autocannon connections for the one-year series', String(d.seriesConnections))
    .option('--seconds <n>', 'measured seconds per run', String(d.seconds))
    .option('--runs <n>', 'runs per scenario (median reported)', String(d.runs))
    .option('--pool-size <n>', 'database connections of the API process', String(d.poolSize))
    .option('--load-concurrency <n>', 'parallel connections while loading the data set', String(d.loadConcurrency))
    .option('--reload', 'drop and reload the data set even if it is there')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      await runApiBench({
        connections: positive(String(o.connections), '--connections'), seriesConnections: positive(String(o.seriesConnections), '--series-connections'),
        seconds: positive(String(o.seconds), '--seconds'), runs: positive(String(o.runs), '--runs'), poolSize: positive(String(o.poolSize), '--pool-size'),
        loadConcurrency: positive(String(o.loadConcurrency), '--load-concurrency'), reload: o.reload === true,
      })
    })
}

/** Anomaly scoring (issue #6): rate on one thread, and precision/recall per fault kind on held-out simulated data. */
export function registerScoreBenches (bench: Command): void {
  const s = DEFAULT_SCORE_BENCH
  bench.command('score')
    .description('anomaly scoring on one thread: feature building + ONNX inference of every tag per round (windows_per_sec); medians of several runs')
    .option('--tags <n>', 'tags scored per round (the batch)', String(s.tags))
    .option('--hop <n>', 'new points per tag between two scores', String(s.hop))
    .option('--rounds <n>', 'rounds per run', String(s.rounds))
    .option('--runs <n>', 'runs (median reported)', String(s.runs))
    .option('--model <file>', 'ONNX model', s.modelPath)
    .action(async (o: Record<string, string>) => {
      await runScoreBench({ tags: positive(o.tags!, '--tags'), hop: positive(o.hop!, '--hop'), rounds: positive(o.rounds!, '--rounds'), runs: positive(o.runs!, '--runs'), modelPath: o.model! })
    })
  const q = DEFAULT_QUALITY_BENCH
  bench.command('quality')
    .description('precision and recall of the anomaly model per fault kind on held-out simulated series with labelled faults')
    .option('--seed <n>', 'held-out seed (the shipped model trained on seed 1)', String(q.seed))
    .option('--tags <n>', 'simulated tags per fault kind', String(q.tags))
    .option('--hours <n>', 'hours of 1 s samples per tag', String(q.hours))
    .option('--hop <n>', 'points between two scores of a tag', String(q.hop))
    .option('--threshold <x>', 'alarm threshold in (0, 1) (default: the one recorded beside the model)')
    .option('--model <file>', 'ONNX model', q.modelPath)
    .action(async (o: Record<string, string | undefined>) => {
      let threshold: number | undefined
      if (o.threshold !== undefined) {
        threshold = Number(o.threshold)
        if (!(threshold > 0 && threshold < 1)) throw new RangeError(`--threshold must be in (0, 1), got ${JSON.stringify(o.threshold)}`)
      }
      await runQualityBench({ ...q, seed: positive(o.seed!, '--seed'), tags: positive(o.tags!, '--tags'), hours: positive(o.hours!, '--hours'), hop: positive(o.hop!, '--hop'), threshold, modelPath: o.model! })
    })
}

/** The end-to-end benchmark (issue #8): field -> collectors -> Kafka -> workers -> store, against a naive baseline. */
export function registerE2eBench (bench: Command): void {
  const d = DEFAULT_E2E_BENCH
  bench.command('e2e')
    .description('the whole pipeline at full speed (simulated Modbus + Sparkplug field and collectors in one child process, `fieldstream work` in others): sustained points/s, lost/duplicated against the simulator, latency to queryable; then a naive kafkajs/JSON/INSERT-per-point baseline on the same field. Report and plot in bench/results/')
    .option('--duration <seconds>', 'seconds the field sends per run', String(d.seconds))
    .option('--workers <list>', 'worker process counts, one run each: 1, 2 or 1,2', d.workers.join(','))
    .option('--naive-duration <seconds>', 'seconds of the naive baseline (0 skips it)', String(d.naiveSeconds))
    .option('--warmup <seconds>', 'seconds after the field starts left out of points/s', String(d.warmupSeconds))
    .option('--rtus <n>', 'Modbus RTUs beside the pad', String(d.rtus))
    .option('--rtu-channels <n>', 'registers per RTU (one request, at most 125)', String(d.rtuChannels))
    .option('--poll-interval-ms <n>', 'Modbus poll interval', String(d.pollIntervalMs))
    .option('--sparkplug-nodes <n>', 'Sparkplug B edge nodes', String(d.sparkplugNodes))
    .option('--devices-per-node <n>', 'devices per edge node', String(d.devicesPerNode))
    .option('--metrics-per-device <n>', 'metrics per device (one DDATA each round)', String(d.metricsPerDevice))
    .option('--tick-ms <n>', 'Sparkplug round period', String(d.tickMs))
    .option('--partitions <n>', 'partitions of the points topic', String(d.partitions))
    .option('--threads <n>', 'Piscina threads per worker process', String(d.threads))
    .option('--lanes <n>', 'COPY lanes per worker process', String(d.lanes))
    .option('--no-scoring', 'workers without the scoring stage')
    .action(async (o: Record<string, string | boolean>) => {
      const workers = String(o.workers).split(',').map(w => w.trim())
      for (const w of workers) if (w !== '1' && w !== '2') throw new RangeError(`--workers must be 1, 2 or 1,2, got ${JSON.stringify(o.workers)}`)
      const naive = atLeastZero(o.naiveDuration as string, '--naive-duration')
      const seconds = positive(o.duration as string, '--duration')
      const warmup = atLeastZero(o.warmup as string, '--warmup')
      // points/s comes from the workers' 10-s progress lines: the window needs at least two.
      if (seconds < warmup + 30) throw new RangeError(`--duration (${seconds}) must be at least --warmup (${warmup}) + 30 seconds`)
      const channels = positive(o.rtuChannels as string, '--rtu-channels')
      if (channels > 125) throw new RangeError(`--rtu-channels must be at most 125 (one Modbus read), got ${channels}`)
      await runE2eBench({
        seconds, workers: workers.map(Number), naiveSeconds: naive, warmupSeconds: warmup,
        rtus: atLeastZero(o.rtus as string, '--rtus'), rtuChannels: channels, pollIntervalMs: positive(o.pollIntervalMs as string, '--poll-interval-ms'),
        sparkplugNodes: atLeastZero(o.sparkplugNodes as string, '--sparkplug-nodes'), devicesPerNode: positive(o.devicesPerNode as string, '--devices-per-node'), metricsPerDevice: positive(o.metricsPerDevice as string, '--metrics-per-device'),
        tickMs: positive(o.tickMs as string, '--tick-ms'), partitions: positive(o.partitions as string, '--partitions'),
        threads: positive(o.threads as string, '--threads'), lanes: positive(o.lanes as string, '--lanes'), scoring: o.scoring !== false,
      })
      // kafkajs and pg sockets of the naive run would otherwise keep the process up a while.
      process.exit(0)
    })
}

function atLeastZero (raw: string, name: string): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number >= 0, got ${JSON.stringify(raw)}`)
  return n
}

export function positive (raw: string, name: string): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  return n
}
