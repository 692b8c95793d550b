// Rate-limited logging: a broken device can send thousands of bad messages a second, and the
// log must still be readable. One line per kind per interval, with how many were suppressed.
import type { Logger } from '../../common/log.js'

export class RateLimitedLog {
  readonly #log: Logger
  readonly #intervalMs: number
  readonly #now: () => number
  readonly #last = new Map<string, { at: number, suppressed: number }>()

  constructor (log: Logger, intervalMs: number, now: () => number) {
    this.#log = log
    this.#intervalMs = intervalMs
    this.#now = now
  }

  /** Log `message` at warn level unless a line of the same kind was logged within the interval. */
  warn (kind: string, message: string): void {
    const now = this.#now()
    const last = this.#last.get(kind)
    if (last !== undefined && now - last.at < this.#intervalMs) {
      last.suppressed++
      return
    }
    const more = last !== undefined && last.suppressed > 0 ? ` (${last.suppressed} more like it suppressed)` : ''
    this.#last.set(kind, { at: now, suppressed: 0 })
    this.#log.warn(message + more)
  }
}
