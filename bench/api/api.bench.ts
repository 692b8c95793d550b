// `fieldstream bench api`: read latency and throughput of the HTTP API on a store holding
// ≥ 50 M points over 5,000 tags (bench/api/dataset.ts, loaded once into its own database).
//
// The API runs as a child process (bench/api/serve.ts) so autocannon, the load generator,
// does not share its event loop; with two cores, the client, the API and PostgreSQL still
// share the machine, which makes the figures conservative.
//   1. rollups: GET /v1/rollups of one random tag × the data set's last 30 days at 1 h
//      (720 buckets), a different tag on every request;
//   2. the same with fields=avg (one field instead of nine: how much is the payload);
//   3. series: GET /v1/series of one random tag over the data set's last year at ~1,000 points.
// Each is run `runs` times after a warm-up; medians are reported.
import { spawn, type ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import { createApiKey, revokeApiKey } from '../../api/auth/store.js'
import { loadConfig } from '../../schemas/config/load.js'
import { median, printResult } from '../machine.js'
import { DEFAULT_SHAPE, ensureDataset, type Dataset, type DatasetShape } from './dataset.js'

export interface ApiBenchOptions {
  /** Concurrent connections of autocannon. Default 20. */
  connections: number
  /** Measured seconds per run. Default 10. */
  seconds: number
  /** Runs per scenario (median reported). Default 3. */
  runs: number
  /** Connections for the one-year series scenario. Default 10. */
  seriesConnections: number
  /** Database connections of the API process. Default 8. */
  poolSize: number
  /** Parallel connections while loading the data set. Default 2. */
  loadConcurrency: number
  /** Drop and reload the data set even if it is there. */
  reload: boolean
  /** Another data set (smaller, for a smoke run) and the database that holds it. Default: the full one. */
  shape?: DatasetShape
  database?: string
}

export const DEFAULT_API_BENCH: ApiBenchOptions = { connections: 20, seconds: 10, runs: 3, seriesConnections: 10, poolSize: 8, loadConcurrency: 2, reload: false }

const SERVE = new URL('./serve.js', import.meta.url)
const DAY_MS = 86_400_000
const WARMUP_SECONDS = 3

interface Api { url: string, child: ChildProcess }

/** Start bench/api/serve.js and wait for the URL it prints once listening. */
async function startApi (databaseUrl: string, poolSize: number): Promise<Api> {
  const child = spawn(process.execPath, [fileURLToPath(SERVE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DATABASE_URL: databaseUrl, API_PORT: '0', API_HOST: '127.0.0.1', FIELDSTREAM_LOG: 'warn', FIELDSTREAM_BENCH_POOL_SIZE: String(poolSize) },
  })
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', code => reject(new Error(`the API process exited with ${code} before listening`)))
    lines.on('line', line => {
      const m = /^listening (http:\/\/\S+)$/.exec(line)
      if (m !== null) resolve(m[1]!)
    })
  })
  return { url, child }
}

async function stopApi (api: Api): Promise<void> {
  if (api.child.exitCode !== null) return
  const exited = new Promise(resolve => api.child.once('exit', resolve))
  api.child.kill('SIGTERM')
  await exited
}

interface Scenario {
  name: string
  connections: number
  /** Path and query of one request for tag `id`. */
  path: (id: number) => string
}

interface Run { requestsPerSec: number, p50: number, p99: number, requests: number, non2xx: number, errors: number }

async function cannon (api: Api, key: string, tagIds: readonly number[], s: Scenario, seconds: number): Promise<Run> {
  const randomTag = (): number => tagIds[Math.floor(Math.random() * tagIds.length)]!
  const result = await autocannon({
    url: api.url,
    connections: s.connections,
    duration: seconds,
    headers: { authorization: `Bearer ${key}` },
    // A different tag on every request, so the figure is not one hot cache line.
    requests: [{ method: 'GET', setupRequest: req => ({ ...req, path: s.path(randomTag()) }) }],
  })
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

/** One request by hand: the scenario must answer 200 with the rows it is meant to read. */
async function check (api: Api, key: string, path: string, rows: (body: { items: unknown[] }) => boolean, what: string): Promise<{ items: number, bytes: number }> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
  const text = await res.text()
  const body = JSON.parse(text) as { items: unknown[] }
  if (res.status !== 200 || !rows(body)) throw new Error(`bench api: ${what}: ${path} answered ${res.status} ${text.slice(0, 300)}`)
  return { items: body.items.length, bytes: Buffer.byteLength(text) }
}

export async function runApiBench (o: ApiBenchOptions = DEFAULT_API_BENCH, log: (l: string) => void = l => process.stderr.write(`${l}\n`)): Promise<void> {
  const base = loadConfig()
  const ds: Dataset = await ensureDataset({ baseUrl: base.database.url, database: o.database, shape: o.shape, concurrency: o.loadConcurrency, reload: o.reload, log })
  const pool = new pg.Pool({ connectionString: ds.url, max: 1 })
  const { key, row } = await createApiKey(pool, `bench api ${new Date().toISOString()}`, ['read'])

  const endMs = ds.endUs / 1000
  const rollupsFrom = new Date(endMs - 30 * DAY_MS).toISOString()
  const seriesFrom = new Date(endMs - 365 * DAY_MS).toISOString()
  const to = new Date(endMs).toISOString()
  const rollups: Scenario = { name: 'rollups 30 d at 1 h', connections: o.connections, path: id => `/v1/rollups?tags=${id}&from=${rollupsFrom}&to=${to}&bucket=1h` }
  // The same rows with one field instead of all nine: how much of the cost is the payload.
  const rollupsAvg: Scenario = { name: 'rollups 30 d at 1 h, fields=avg', connections: o.connections, path: id => `${rollups.path(id)}&fields=avg` }
  const series: Scenario = { name: 'series 1 y at 1,000 points', connections: o.seriesConnections, path: id => `/v1/series?tag=${id}&from=${seriesFrom}&to=${to}&points=1000` }

  const api = await startApi(ds.url, o.poolSize).catch(async err => { await pool.end(); throw err })
  try {
    const probe = ds.tagIds[1]!
    const { items: buckets, bytes: rollupsBytes } = await check(api, key, rollups.path(probe), b => b.items.length >= 700, 'rollups should return ~720 hourly buckets')
    const { bytes: rollupsAvgBytes } = await check(api, key, rollupsAvg.path(probe), b => b.items.length >= 700, 'rollups should return ~720 hourly buckets')
    const { items: bins, bytes: seriesBytes } = await check(api, key, series.path(probe), b => b.items.length >= 500, 'a one-year series should return ~1,000 bins')
    log(`bench api: API at ${api.url}; one rollups request = ${buckets} buckets (${rollupsBytes} bytes), one series request = ${bins} bins (${seriesBytes} bytes)`)

    const measure = async (s: Scenario): Promise<Run[]> => {
      await cannon(api, key, ds.tagIds, s, WARMUP_SECONDS) // JIT, prepared statements, page cache
      const runs: Run[] = []
      for (let r = 0; r < o.runs; r++) {
        const run = await cannon(api, key, ds.tagIds, s, o.seconds)
        log(`bench api: ${s.name}, run ${r + 1}/${o.runs}: ${Math.round(run.requestsPerSec)} requests/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.non2xx} non-2xx, ${run.errors} errors`)
        if (run.non2xx > 0 || run.errors > 0) throw new Error(`bench api: ${s.name}: ${run.non2xx} non-2xx answers and ${run.errors} errors out of ${run.requests} requests`)
        runs.push(run)
      }
      return runs
    }
    // The machine is shared: say how busy it was when the measuring started.
    const load1Before = Number(loadavg()[0]!.toFixed(2))
    const r = await measure(rollups)
    const a = await measure(rollupsAvg)
    const s = await measure(series)
    printResult({
      bench: 'api',
      requests_per_sec: Math.round(median(r.map(x => x.requestsPerSec))),
      p50_ms: median(r.map(x => x.p50)),
      p99_ms: median(r.map(x => x.p99)),
      target: 'p99 <= 10 ms at >= 2,000 requests/s; series_1y_p99 <= 50 ms',
      rollups_query: 'one random tag x 30 days at 1 h (720 buckets) per request',
      rollups_buckets: buckets,
      rollups_response_bytes: rollupsBytes,
      rollups_avg_only_requests_per_sec: Math.round(median(a.map(x => x.requestsPerSec))),
      rollups_avg_only_p50_ms: median(a.map(x => x.p50)),
      rollups_avg_only_p99_ms: median(a.map(x => x.p99)),
      rollups_avg_only_response_bytes: rollupsAvgBytes,
      series_1y_p99_ms: median(s.map(x => x.p99)),
      series_1y_p50_ms: median(s.map(x => x.p50)),
      series_1y_requests_per_sec: Math.round(median(s.map(x => x.requestsPerSec))),
      series_1y_bins: bins,
      series_1y_response_bytes: seriesBytes,
      connections: o.connections,
      series_connections: o.seriesConnections,
      seconds: o.seconds,
      runs: o.runs,
      api_pool_size: o.poolSize,
      latency_resolution_ms: 1, // autocannon's histogram holds whole milliseconds
      points: ds.points,
      tags: ds.tags,
      segment_rows: ds.segmentRows,
      rollup_1m_rows: ds.rollup1mRows,
      rollup_1h_rows: ds.rollup1hRows,
      shape: `${ds.shape.tags} tags (${ds.shape.tagsPerAsset} per asset, every ${ds.shape.counterEvery}th a counter with points in the last ${ds.shape.denseDays} days only) over ${ds.shape.days} days to ${ds.shape.endIso}: last ${ds.shape.denseDays} days ~1 point / ${ds.shape.denseSpacingS / 60} min, before ~1 point / ${ds.shape.sparseSpacingS / 3600} h, gaps 0.5-1.5x the mean`,
      load_seconds: ds.loadSeconds,
      default_shape: JSON.stringify(ds.shape) === JSON.stringify(DEFAULT_SHAPE),
      load1_before: load1Before,
      ...(ds.schemaWarning === undefined ? {} : { schema_warning: ds.schemaWarning }),
    })
  } finally {
    await stopApi(api)
    await revokeApiKey(pool, row.prefix)
    await pool.end()
  }
}
