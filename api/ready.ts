// Readiness: the database answers `SELECT 1` and a Kafka broker answers a metadata request,
// each within a short timeout. The verdict is cached for a couple of seconds so probes
// hitting /ready often cost the backends nothing extra.
import type pg from 'pg'
import { createAdmin, type KafkaSettings } from '../common/kafka.js'

export interface ReadyStatus { database: string, kafka: string }
export interface Readiness { check (): Promise<ReadyStatus>, close (): Promise<void> }

export interface ReadinessOptions {
  /** Per check, ms. Default 1500. */
  timeoutMs?: number
  /** A verdict is reused this long, ms. Default 2000. */
  cacheMs?: number
}

async function within<T> (ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms) })
  try { return await Promise.race([p, timeout]) } finally { clearTimeout(timer) }
}

const reason = (err: unknown): string => (err as Error)?.message || String(err)

export function createReadiness (pool: pg.Pool, kafka: KafkaSettings, o: ReadinessOptions = {}): Readiness {
  const timeoutMs = o.timeoutMs ?? 1500
  const cacheMs = o.cacheMs ?? 2000
  let admin: ReturnType<typeof createAdmin> | undefined
  let last: { at: number, status: Promise<ReadyStatus> } | undefined

  async function database (): Promise<string> {
    try {
      await within(timeoutMs, 'the database', pool.query('SELECT 1'))
      return 'ok'
    } catch (err) { return `unreachable: ${reason(err)}` }
  }

  async function broker (): Promise<string> {
    admin ??= createAdmin(kafka)
    const a = admin
    try {
      await within(timeoutMs, 'Kafka', a.metadata({ topics: [], forceUpdate: true }))
      return 'ok'
    } catch (err) {
      // Start over with a fresh client next time rather than trust a half-connected one.
      admin = undefined
      a.close().catch(() => undefined)
      return `unreachable: ${reason(err)}`
    }
  }

  return {
    async check () {
      const now = Date.now()
      if (last === undefined || now - last.at >= cacheMs) {
        last = { at: now, status: Promise.all([database(), broker()]).then(([d, k]) => ({ database: d, kafka: k })) }
      }
      return await last.status
    },
    async close () {
      await admin?.close().catch(() => undefined)
      admin = undefined
    },
  }
}
