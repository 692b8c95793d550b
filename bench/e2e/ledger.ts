// What the simulated field sent, per tag: the ground truth `bench e2e` counts the store against.
//
// Modbus: a point exists for a field each time its device ANSWERED a read covering it. The pad
// only counts answers in total, so the ledger wraps SimDevice.prototype.read in the field
// process (bench instrumentation; sim/ stays as it is) and counts answered reads per device and
// register range; the ranges are expanded to field tags at the end.
// Sparkplug: the bench drives the edge nodes' rounds itself (edge.tick()), and each round
// publishes (or stores, then replays) every metric of every device exactly once; each node's
// birth adds one more point per device metric. The edge's own counters are reported beside it
// so a mismatch shows instead of being assumed away.
import { SimDevice } from '../../sim/modbus/devices.js'
import { widthOf } from '../../sim/modbus/encode.js'
import { tagPrefix } from '../../ingest/sparkplug/points.js'

type Table = Parameters<SimDevice['read']>[0]

export interface SparkplugShape { groupId: string, nodes: number, devicesPerNode: number, metricsPerDevice: number, nodePrefix?: string }

/** Metric names as sim/sparkplug/edge.ts makes them (kinds cycle pressure, flow, tank_level, totalizer). */
const KINDS = ['pressure', 'flow', 'tank_level', 'totalizer'] as const

export function sparkplugTags (s: SparkplugShape): string[] {
  const out: string[] = []
  for (let n = 0; n < s.nodes; n++) {
    for (let d = 0; d < s.devicesPerNode; d++) {
      const prefix = tagPrefix(s.groupId, `${s.nodePrefix ?? 'node'}${n}`, `dev${d}`)
      for (let m = 0; m < s.metricsPerDevice; m++) out.push(`${prefix}${KINDS[m % KINDS.length]}_${Math.floor(m / KINDS.length)}`)
    }
  }
  return out
}

export class ModbusLedger {
  /** device -> "table:address:count" -> answered reads. */
  readonly #reads = new Map<SimDevice, Map<string, number>>()
  /** Points answered so far (fields covered by each answered read). */
  points = 0
  readonly #covered = new Map<string, number>()
  #counting = true
  #restore: (() => void) | undefined

  /** Start counting every answered read of every SimDevice in this process. */
  install (): void {
    const original = SimDevice.prototype.read
    const ledger = this
    SimDevice.prototype.read = function (this: SimDevice, table: Table, address: number, count: number, tMs: number) {
      const data = original.call(this, table, address, count, tMs)
      if (typeof data !== 'number' && ledger.#counting) ledger.#count(this, table, address, count)
      return data
    }
    this.#restore = () => { SimDevice.prototype.read = original }
  }

  /** Freeze the counts (the devices keep answering, e.g. while the collector shuts down). */
  stop (): void {
    this.#counting = false
    this.#restore?.()
  }

  #count (device: SimDevice, table: Table, address: number, count: number): void {
    let byRange = this.#reads.get(device)
    if (byRange === undefined) this.#reads.set(device, byRange = new Map())
    const key = `${table}:${address}:${count}`
    byRange.set(key, (byRange.get(key) ?? 0) + 1)
    let fields = this.#covered.get(`${device.name}|${key}`)
    if (fields === undefined) {
      fields = coveredFields(device, table, address, count).length
      this.#covered.set(`${device.name}|${key}`, fields)
    }
    this.points += fields
  }

  /**
   * Points sent per tag (`<device>/<field>`, the collector's default tag names).
   * A poll of a device with several blocks (a pump's registers and its coil) yields readings only
   * once every block is answered; when the devices fall silent at the end of a run, a poll may
   * have had its first blocks answered and not the rest, and the collector drops it on stopping.
   * So per device, a block answered exactly once more than the device's least-answered block is
   * that unfinished last poll and is not counted. With `completedPolls` (a collector that
   * was given time to finish every poll: the answered blocks of a poll whose other blocks timed
   * out are stored as good readings) every answered read counts.
   */
  perTag (opts: { completedPolls?: boolean } = {}): Map<string, number> {
    const out = new Map<string, number>()
    for (const [device, byRange] of this.#reads) {
      const least = Math.min(...byRange.values())
      for (const [key, answered] of byRange) {
        const n = answered === least + 1 && opts.completedPolls !== true ? least : answered
        const [table, address, count] = key.split(':')
        for (const f of coveredFields(device, table as Table, Number(address), Number(count))) {
          const tag = `${device.name}/${f.name}`
          out.set(tag, (out.get(tag) ?? 0) + n)
        }
      }
    }
    return out
  }
}

function coveredFields (device: SimDevice, table: Table, address: number, count: number): SimDevice['fields'] {
  return device.fields.filter(f => f.table === table && f.address >= address && f.address + widthOf(f.type) <= address + count)
}
