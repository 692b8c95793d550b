// One request at a time per gateway. Units behind a TCP gateway or on an RS-485 line share
// one wire, and most gateways mishandle overlapping requests; so requests to one gateway run
// in FIFO order. Isolation between units comes from three rules: every job settles (the
// connection enforces a deadline), a job holds the line only for one request (retries and
// backoff wait outside the queue, at the back), and a failure of one job never touches the
// jobs queued behind it (node-red-contrib-modbus #165, #409).
import { setTimeout as sleep } from 'node:timers/promises'
import { ModbusConnectionFailed } from './errors.js'

interface Job {
  run: () => Promise<unknown>
  quietAfterMs: number
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

export class GatewayQueue {
  readonly name: string
  #jobs: Job[] = []
  #busy = false
  #closed = false
  #done = 0

  constructor (name: string) {
    this.name = name
  }

  /** Jobs waiting, not counting the one on the line. */
  get depth (): number { return this.#jobs.length }
  /** Jobs finished (either way) since start. */
  get completed (): number { return this.#done }

  /**
   * Run `job` when the line is free; keep the line quiet for `quietAfterMs` after it
   * (the pauseBetweenRequestsMs workaround) before the next job starts.
   */
  run<T> (job: () => Promise<T>, quietAfterMs = 0): Promise<T> {
    if (this.#closed) return Promise.reject(new ModbusConnectionFailed(`gateway ${this.name} is closed`))
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({ run: job, quietAfterMs, resolve: resolve as (v: unknown) => void, reject })
      if (!this.#busy) void this.#drain()
    })
  }

  /** Refuse new jobs and fail the queued ones; the job on the line finishes on its own. */
  close (): void {
    this.#closed = true
    const waiting = this.#jobs.splice(0)
    for (const job of waiting) job.reject(new ModbusConnectionFailed(`gateway ${this.name} is closed`))
  }

  async #drain (): Promise<void> {
    this.#busy = true
    for (let job = this.#jobs.shift(); job !== undefined; job = this.#jobs.shift()) {
      try {
        job.resolve(await job.run())
      } catch (err) {
        job.reject(err)
      }
      this.#done++
      if (job.quietAfterMs > 0) await sleep(job.quietAfterMs)
    }
    this.#busy = false
  }
}
