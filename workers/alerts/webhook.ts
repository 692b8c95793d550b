// Alert webhook: POST each alert as JSON to an operator's endpoint, with retries and capped
// backoff, off the scoring path. The queue is bounded: when the endpoint stays down longer than
// the queue lasts, the oldest deliveries are dropped and counted (the alerts stay in the table
// and on the alert topic, which are the records; the webhook is a notification).
import type { Logger } from '../../common/log.js'
import type { AlertRecord } from './store.js'

export interface WebhookOptions {
  url: string
  /** Per attempt, ms. */
  timeoutMs: number
  /** Attempts after the first. */
  retries: number
  /** Deliveries waiting at most. */
  maxQueued: number
  /** First retry delay, ms; doubles per attempt up to 30 s. */
  backoffMs: number
}

export interface WebhookStats { delivered: number, failed: number, dropped: number, queued: number }

export interface Webhook {
  readonly stats: Readonly<WebhookStats>
  send (alert: AlertRecord): void
  /** Wait until the queue is empty (or `timeoutMs` passed). */
  drain (timeoutMs?: number): Promise<void>
  close (): void
}

export function createWebhook (o: WebhookOptions, deps: { log: Logger }): Webhook {
  const stats: WebhookStats = { delivered: 0, failed: 0, dropped: 0, queued: 0 }
  const queue: AlertRecord[] = []
  let running = false
  let closed = false

  async function deliver (alert: AlertRecord): Promise<void> {
    for (let attempt = 0; attempt <= o.retries && !closed; attempt++) {
      if (attempt > 0) await new Promise(resolve => setTimeout(resolve, Math.min(30_000, o.backoffMs * 2 ** (attempt - 1))))
      try {
        const res = await fetch(o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `fieldstream-alert-${alert.id}-${alert.event}` },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(o.timeoutMs),
        })
        if (res.ok) { stats.delivered++; return }
        // 4xx other than 408/429 will not get better by retrying.
        if (res.status < 500 && res.status !== 408 && res.status !== 429) {
          deps.log.warn(`alert webhook refused alert ${alert.id} (${alert.event}): HTTP ${res.status}`)
          break
        }
        deps.log.warn(`alert webhook: HTTP ${res.status} for alert ${alert.id}, attempt ${attempt + 1} of ${o.retries + 1}`)
      } catch (err) {
        deps.log.warn(`alert webhook: ${(err as Error).message} for alert ${alert.id}, attempt ${attempt + 1} of ${o.retries + 1}`)
      }
    }
    stats.failed++
  }

  async function run (): Promise<void> {
    running = true
    while (queue.length > 0 && !closed) {
      const next = queue.shift()!
      stats.queued = queue.length
      await deliver(next)
    }
    running = false
  }

  return {
    stats,
    send (alert) {
      if (closed) return
      if (queue.length >= o.maxQueued) {
        queue.shift()
        stats.dropped++
        deps.log.warn(`alert webhook queue full (${o.maxQueued}): dropped the oldest delivery`)
      }
      queue.push(alert)
      stats.queued = queue.length
      if (!running) void run()
    },
    async drain (timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs
      while ((queue.length > 0 || running) && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
    },
    close () { closed = true },
  }
}
