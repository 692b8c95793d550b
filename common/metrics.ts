// One Prometheus registry for the whole project. Every stage records into the metrics
// declared here (so names and labels are defined once) and exposes them at /metrics: the
// API from its own server, workers and collectors through startMetricsServer.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const metricsRegistry = new Registry()

/** Points accepted by a stage (label `stage`: collect, store, ...). Rate of it = ingest rate. */
export const pointsIngested = new Counter({
  name: 'fieldstream_points_ingested_total',
  help: 'Points ingested, by pipeline stage',
  labelNames: ['stage'] as const,
  registers: [metricsRegistry],
})

/** Messages behind the end of the points topic, summed over the partitions a worker owns. */
export const consumerLag = new Gauge({
  name: 'fieldstream_consumer_lag',
  help: 'Kafka consumer lag of the storage workers, messages',
  registers: [metricsRegistry],
})

/** One COPY transaction (rows plus fenced offset), seconds. */
export const copySeconds = new Histogram({
  name: 'fieldstream_copy_seconds',
  help: 'Duration of one COPY flush into the store, seconds',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
})

/** API request latency, labelled by route pattern (not the raw URL, to bound the label set). */
export const apiRequestSeconds = new Histogram({
  name: 'fieldstream_api_request_seconds',
  help: 'HTTP API request duration, seconds',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [metricsRegistry],
})

let processMetrics = false
/** Node process metrics (CPU, memory, event-loop lag) under the fieldstream_ prefix; idempotent. */
export function enableProcessMetrics (): void {
  if (processMetrics) return
  processMetrics = true
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'fieldstream_' })
}

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number
  close (): Promise<void>
}

/** A plain HTTP server answering GET /metrics from the registry, for processes without the API. */
export async function startMetricsServer (o: { host: string, port: number }): Promise<MetricsServer> {
  enableProcessMetrics()
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n')
      return
    }
    metricsRegistry.metrics().then(
      text => { res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text) },
      (err: Error) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`) },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => { await new Promise<void>(resolve => server.close(() => resolve())) },
  }
}
