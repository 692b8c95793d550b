// The project's Prometheus registry served by startMetricsServer over a real socket.
import t from 'tap'
import { consumerLag, copySeconds, pointsIngested, startMetricsServer } from '../../common/metrics.js'

t.test('GET /metrics serves the shared registry; anything else is a 404', async t => {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 })
  t.teardown(() => server.close())
  pointsIngested.inc({ stage: 'test' }, 1234)
  consumerLag.set(17)
  copySeconds.observe(0.02)
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain/)
  const text = await res.text()
  t.match(text, /fieldstream_points_ingested_total\{stage="test"\} 1234/)
  t.match(text, /fieldstream_consumer_lag 17/)
  t.match(text, /fieldstream_copy_seconds_bucket\{le="0.025"\} 1/)
  t.match(text, /# TYPE fieldstream_api_request_seconds histogram/)
  t.match(text, /fieldstream_process_cpu_seconds_total/, 'process metrics under the fieldstream_ prefix')
  t.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404)
})
