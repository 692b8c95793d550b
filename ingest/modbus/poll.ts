// One device's poll: read its blocks through the gateway queue, decode, scale, apply
// deadbands, and hand one PointBatch to the sink. A failed block yields bad points whose
// quality says why; the log gets one line when the device's state changes, not one per poll.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../../common/log.js'
import { batchFromPoints, type Point } from '../../schemas/points.js'
import { Quality } from '../../schemas/quality.js'
import type { BatchSink } from '../sink.js'
import type { ResolvedDevice } from './config.js'
import type { BlockData, GatewayConnection } from './connection.js'
import { DeadbandFilter } from './deadband.js'
import { ModbusException, type ModbusError } from './errors.js'
import type { GatewayQueue } from './gateway-queue.js'
import { planReads, type ReadBlock } from './plan.js'
import { isRetryable, qualityOfError } from './quality.js'

/** Counters shared by all pollers of a collector. */
export interface ModbusStats {
  polls: number
  pollsFailed: number
  requests: number
  requestsFailed: number
  retries: number
  points: number
  batches: number
  /** Poll ticks skipped because the previous poll of the device was still running. */
  overruns: number
  sinkErrors: number
}

export function emptyStats (): ModbusStats {
  return { polls: 0, pollsFailed: 0, requests: 0, requestsFailed: 0, retries: 0, points: 0, batches: 0, overruns: 0, sinkErrors: 0 }
}

export interface PollerDeps {
  sink: BatchSink
  log: Logger
  /** Source clock, µs since the Unix epoch. */
  nowUs: () => number
  stats: ModbusStats
}

const QUALITY_NAMES: Readonly<Record<number, string>> = {
  [Quality.badCommFailure]: 'bad, comm failure',
  [Quality.badDeviceFailure]: 'bad, device failure',
  [Quality.badConfigError]: 'bad, config error',
}

export class DevicePoller {
  readonly device: ResolvedDevice
  readonly blocks: readonly ReadBlock[]
  readonly #conn: GatewayConnection
  readonly #queue: GatewayQueue
  readonly #deps: PollerDeps
  readonly #deadband: DeadbandFilter
  /** Last good value per field, carried by bad points so a chart does not drop to zero. */
  readonly #lastGood: Array<number | boolean>
  #seq = 0
  /** "" while every block reads; otherwise what failed, to log on change only. */
  #failure = ''
  #failedPolls = 0
  #sinkFailing = false
  #stopping = false

  constructor (device: ResolvedDevice, conn: GatewayConnection, queue: GatewayQueue, deps: PollerDeps) {
    this.device = device
    this.#conn = conn
    this.#queue = queue
    this.#deps = deps
    const c = device.cfg
    this.blocks = planReads(device.fields, {
      maxRegisters: c.maxRegistersPerRequest,
      maxBits: c.maxBitsPerRequest,
      maxGapRegisters: c.maxGapRegisters,
      maxGapBits: c.maxGapBits,
      perField: c.requestPerField,
    })
    this.#deadband = new DeadbandFilter(device.fields.map(f => f.deadband), c.deadbandHeartbeatMs)
    this.#lastGood = device.fields.map(f => (f.type === 'bool' ? false : 0))
  }

  /** Batches written so far; the next batch's seq. */
  get seq (): number { return this.#seq }

  /** Stop writing: a poll in flight when the collector stops is dropped, not reported as a failure. */
  stop (): void { this.#stopping = true }

  async poll (): Promise<void> {
    const { stats } = this.#deps
    const timeUs = this.#deps.nowUs()
    const fields = this.device.fields
    const values: Array<number | boolean> = new Array(fields.length)
    const qualities = new Array<number>(fields.length).fill(Quality.good)
    const errors: Array<{ block: ReadBlock, err: ModbusError }> = []
    // Once the unit stopped answering, its other blocks of this poll are not sent: they would
    // only hold the gateway for another timeout each while the units behind it wait.
    let unreachable: ModbusError | undefined
    stats.polls++
    for (const block of this.blocks) {
      let data: BlockData | undefined
      let err: ModbusError | undefined = unreachable
      if (err === undefined) {
        try {
          data = await this.#readWithRetries(block)
        } catch (e) {
          err = e as ModbusError
          if (!(e instanceof ModbusException)) unreachable = err
        }
      }
      if (this.#stopping) return
      if (err !== undefined) {
        errors.push({ block, err })
        const q = qualityOfError(err)
        for (const m of block.members) { qualities[m.field] = q; values[m.field] = this.#lastGood[m.field]! }
        continue
      }
      for (const m of block.members) values[m.field] = this.#decode(m.field, m.offset, data!)
    }
    if (this.device.cfg.closeAfterPoll) await this.#queue.run(async () => { this.#conn.close('closeAfterPoll') }).catch(() => {})
    if (errors.length > 0) stats.pollsFailed++
    this.#logStateChange(errors)
    await this.#write(timeUs, values, qualities)
  }

  async #readWithRetries (block: ReadBlock): Promise<BlockData> {
    const c = this.device.cfg
    const { stats } = this.#deps
    // Retries only while the device was answering: a device already known to be down gets one
    // probe per poll, so it costs the units behind the same gateway one timeout, not (1 + retries).
    const attempts = 1 + (this.#failure === '' ? c.retries : 0)
    for (let attempt = 1; ; attempt++) {
      stats.requests++
      try {
        return await this.#queue.run(async () => await this.#conn.read(c.unitId, block, c.timeoutMs), c.pauseBetweenRequestsMs)
      } catch (e) {
        stats.requestsFailed++
        const err = e as ModbusError
        if (attempt >= attempts || !isRetryable(err) || this.#stopping) throw err
        stats.retries++
        await sleep(Math.min(c.retryBackoffMs * 2 ** (attempt - 1), c.retryBackoffMaxMs))
      }
    }
  }

  #decode (i: number, offset: number, data: BlockData): number | boolean {
    const f = this.device.fields[i]!
    let v: number | boolean
    if (data.kind === 'bits') v = data.bits[offset] === true
    else {
      const raw = f.decode!(data.bytes, offset * 2)
      v = typeof raw === 'boolean' ? raw : raw * f.scale + f.offset
    }
    this.#lastGood[i] = v
    return v
  }

  async #write (timeUs: number, values: Array<number | boolean>, qualities: number[]): Promise<void> {
    const fields = this.device.fields
    const points: Point[] = []
    for (let i = 0; i < fields.length; i++) {
      const v = values[i]!
      if (!this.#deadband.pass(i, typeof v === 'boolean' ? Number(v) : v, qualities[i]!, timeUs)) continue
      points.push({ tag: fields[i]!.tag, timeUs, value: v, quality: qualities[i]! })
    }
    // Every field inside its deadband: nothing to send, and seq stays gap-free.
    if (points.length === 0) return
    const { stats, log } = this.#deps
    const batch = batchFromPoints(this.device.cfg.name, this.#seq++, points, this.#deps.nowUs())
    try {
      await this.#deps.sink.write(batch)
      stats.batches++
      stats.points += points.length
      if (this.#sinkFailing) log.info(`${this.#who()}: the sink takes batches again`)
      this.#sinkFailing = false
    } catch (err) {
      stats.sinkErrors++
      if (!this.#sinkFailing) log.error(`${this.#who()}: the sink refused batch ${batch.seq}: ${(err as Error).message}`)
      this.#sinkFailing = true
    }
  }

  #logStateChange (errors: Array<{ block: ReadBlock, err: ModbusError }>): void {
    const first = errors[0]
    // The state is the kind of failure, not its message: a timeout on another block or a
    // different transaction is the same state and must not log again.
    const state = first === undefined ? '' : `${first.err.code}:${first.err instanceof ModbusException ? first.err.exceptionCode : ''}:${first.block.table}:${first.block.start}`
    if (state === this.#failure) {
      if (state !== '') this.#failedPolls++
      return
    }
    const { log } = this.#deps
    if (first === undefined) {
      log.info(`${this.#who()}: polls succeed again after ${this.#failedPolls} failed poll${this.#failedPolls === 1 ? '' : 's'}`)
    } else {
      const q = qualityOfError(first.err)
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more block${errors.length > 2 ? 's' : ''})` : ''
      log.warn(`${this.#who()}: poll failed: ${first.err.code} ${first.err.message}${more}; points marked 0x${q.toString(16).padStart(2, '0')} (${QUALITY_NAMES[q] ?? 'bad'})`)
    }
    this.#failure = state
    this.#failedPolls = state === '' ? 0 : 1
  }

  #who (): string {
    const c = this.device.cfg
    return `modbus device ${c.name} (unit ${c.unitId} at ${c.address ?? c.serial?.path})`
  }
}
