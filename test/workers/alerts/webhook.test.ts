// The alert webhook against a real HTTP server: retries through 5xx and timeouts, gives up on
// a 4xx, and drops the oldest delivery when its queue is full.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createLogger } from '../../../common/log.js'
import type { AlertRecord } from '../../../workers/alerts/store.js'
import { createWebhook } from '../../../workers/alerts/webhook.js'

const alert = (id: number): AlertRecord => ({ id, event: 'opened', tagId: 3, tag: 'pad1/pump1/speed', asset: 'pad1/pump1', model: 'anomaly-v1', openedAt: '2026-11-23T10:00:00.000Z', closedAt: null, peakScore: 0.97, threshold: 0.9 })
const body = async (req: IncomingMessage): Promise<string> => { let s = ''; for await (const c of req) s += String(c); return s }

t.test('retries until the endpoint accepts; 4xx is final; bounded queue', async t => {
  const seen: Array<{ status: number, key: string | undefined, alert: AlertRecord }> = []
  let mode: 'flaky' | 'refuse' | 'slow' = 'flaky'
  let calls = 0
  const server = createServer((req, res) => {
    void body(req).then(b => {
      calls++
      const a = JSON.parse(b) as AlertRecord
      const status = mode === 'refuse' ? 422 : mode === 'flaky' && calls <= 2 ? 503 : 200
      seen.push({ status, key: req.headers['idempotency-key'] as string | undefined, alert: a })
      if (mode === 'slow') { setTimeout(() => { res.writeHead(200).end() }, 300); return }
      res.writeHead(status).end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const log = createLogger('test-webhook')

  const hook = createWebhook({ url, timeoutMs: 2000, retries: 4, maxQueued: 10, backoffMs: 20 }, { log })
  hook.send(alert(1))
  await hook.drain()
  t.same(seen.map(s => s.status), [503, 503, 200], 'two failures, then delivered')
  t.same(seen[2]!.alert, alert(1), 'the alert as JSON')
  t.equal(seen[2]!.key, 'fieldstream-alert-1-opened', 'an idempotency key lets the receiver drop repeats')
  t.same(hook.stats, { delivered: 1, failed: 0, dropped: 0, queued: 0 })

  mode = 'refuse'
  seen.length = 0
  hook.send(alert(2))
  await hook.drain()
  t.equal(seen.length, 1, 'a 422 is not retried')
  t.equal(hook.stats.failed, 1)
  hook.close()

  mode = 'slow'
  const small = createWebhook({ url, timeoutMs: 2000, retries: 0, maxQueued: 2, backoffMs: 20 }, { log })
  for (let i = 10; i < 15; i++) small.send(alert(i))
  await small.drain()
  t.equal(small.stats.dropped, 2, 'five sent into a queue of two while one is in flight: the two oldest waiting are dropped')
  t.equal(small.stats.delivered, 3)
  small.close()
})
