// A simulated well pad: pumps, tanks, flow meters and RTUs as Modbus TCP devices, with
// injectable labelled faults. startModbusPad returns where the devices listen AND a collector
// config (register maps included) that reads them, so demos and benchmarks wire up in one line.
import { Value } from '@sinclair/typebox/value'
import { ModbusCollectorSchema, type ModbusCollectorConfig } from '../../schemas/config/modbus.js'
import { SimDevice, type DeviceKind } from './devices.js'
import { FaultLog, type ActiveFault, type FaultLabel, type FaultSpec } from './faults.js'
import { seededRandom } from './signals.js'
import { startSimPort, type SimPort } from './server.js'

export interface ModbusPadOptions {
  /** Default 4. */
  pumps?: number
  /** Default 2. */
  tanks?: number
  /** Default 2. */
  flowMeters?: number
  /** Multi-channel RTUs (many registers each). Default 0. */
  rtus?: number
  /** Analog channels per RTU (holding registers 0..n-1). Default 120. */
  rtuChannels?: number
  /** Units served per listening port (unit ids 1..n), as behind a gateway. Default 1. */
  unitsPerPort?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Ports are taken from here upward, skipping busy ones. Default 15100. */
  basePort?: number
  /** Last port to try. Default 15999. */
  lastPort?: number
  /** Device name prefix. Default "pad1". */
  name?: string
  /** Seed of the noise. Default 1. */
  seed?: number
  /** Flow-meter totalizers start here (counts of 0.001 m3). Default 4,294,000,000: they roll over within the first hours. */
  totalizerStart?: number
  /** Registers are recomputed at most this often, ms. Default 50. */
  tickMs?: number
  /** Poll interval written into the generated collector config, ms. Default 1000. */
  pollIntervalMs?: number
  /** Timeout written into the generated collector config, ms. Default 1000. */
  timeoutMs?: number
  /** Also append fault labels to this file as JSON lines. Default: memory only. */
  labelFile?: string
  /** Inject random faults, on average one per this many ms across the pad. Default: off. */
  randomFaultEveryMs?: number
  /** Simulation clock, ms since the Unix epoch. Default Date.now. */
  clock?: () => number
}

export interface PadDeviceInfo { name: string, kind: DeviceKind, address: string, unitId: number }

export interface ModbusPad {
  devices: PadDeviceInfo[]
  /** `collectors.modbus` for these devices, defaults filled in: pass to createModbusCollector. */
  collectorConfig: ModbusCollectorConfig
  /** Inject a fault now (or after startInMs); returns its ground-truth label. */
  inject (spec: FaultSpec): FaultLabel
  /** Every fault injected so far. */
  readonly labels: readonly FaultLabel[]
  /** Requests answered across all ports. */
  readonly answered: number
  close (): Promise<void>
}

export async function startModbusPad (opts: ModbusPadOptions = {}): Promise<ModbusPad> {
  const o = {
    pumps: 4, tanks: 2, flowMeters: 2, rtus: 0, rtuChannels: 120, unitsPerPort: 1, host: '127.0.0.1', basePort: 15100, lastPort: 15999,
    name: 'pad1', seed: 1, totalizerStart: 4_294_000_000, tickMs: 50, pollIntervalMs: 1000, timeoutMs: 1000, clock: Date.now, ...opts,
  }
  const kinds: Array<[DeviceKind, number]> = [['pump', o.pumps], ['tank', o.tanks], ['flowMeter', o.flowMeters], ['rtu', o.rtus]]
  const sims: SimDevice[] = []
  for (const [kind, count] of kinds) {
    for (let i = 0; i < count; i++) {
      sims.push(new SimDevice({
        name: `${o.name}/${kind === 'flowMeter' ? 'fm' : kind}${i + 1}`, kind, unitId: (sims.length % o.unitsPerPort) + 1,
        index: sims.length, seed: o.seed, channels: o.rtuChannels, totalizerStart: o.totalizerStart, tickMs: o.tickMs,
      }))
    }
  }
  const ports: SimPort[] = []
  const infos: PadDeviceInfo[] = []
  const entries: unknown[] = []
  try {
    for (let i = 0; i < sims.length; i += o.unitsPerPort) {
      const group = sims.slice(i, i + o.unitsPerPort)
      const from = ports.length === 0 ? o.basePort : ports.at(-1)!.port + 1
      const sp = await startSimPort(o.host, from, o.lastPort, new Map(group.map(d => [d.unitId, d])), o.clock)
      ports.push(sp)
      for (const d of group) {
        const address = `${o.host}:${sp.port}`
        infos.push({ name: d.name, kind: d.kind, address, unitId: d.unitId })
        entries.push(d.collectorEntry(address, o.pollIntervalMs, o.timeoutMs))
      }
    }
  } catch (err) {
    await Promise.all(ports.map(p => p.close()))
    throw err
  }
  const collectorConfig = Value.Default(ModbusCollectorSchema, { devices: entries }) as ModbusCollectorConfig

  const log = new FaultLog(o.labelFile)
  const byName = new Map(sims.map(d => [d.name, d]))
  const inject = (spec: FaultSpec): FaultLabel => {
    const device = byName.get(spec.device)
    if (device === undefined) throw new RangeError(`no simulated device ${spec.device} (have ${[...byName.keys()].join(', ')})`)
    const field = spec.kind === 'dropout' ? undefined : device.fields.find(f => f.name === spec.field)
    if (spec.kind !== 'dropout' && field === undefined) throw new RangeError(`device ${spec.device} has no field ${String(spec.field)} (has ${device.fields.map(f => f.name).join(', ')})`)
    const startUs = Math.round((o.clock() + (spec.startInMs ?? 0)) * 1000)
    const fault: ActiveFault = {
      id: log.labels.length + 1,
      kind: spec.kind,
      device: device.name,
      tag: field === undefined ? undefined : `${device.name}/${field.name}`,
      field: field?.name,
      startUs,
      endUs: startUs + (spec.durationMs ?? (spec.kind === 'spike' ? 1000 : 60_000)) * 1000,
      magnitude: spec.magnitude ?? (field?.span ?? 0) / 5,
      periodMs: spec.periodMs ?? 2000,
    }
    device.faults.push(fault)
    const { field: _field, held: _held, ...label } = fault
    log.add(label)
    return label
  }

  let timer: NodeJS.Timeout | undefined
  const everyMs = o.randomFaultEveryMs
  if (everyMs !== undefined) {
    const random = seededRandom(o.seed ^ 0x5eed)
    const kindsOf = ['spike', 'drift', 'stuck', 'oscillation', 'dropout'] as const
    const next = (): void => {
      timer = setTimeout(() => {
        const device = sims[Math.floor(random() * sims.length)]!
        const kind = kindsOf[Math.floor(random() * kindsOf.length)]!
        const analog = device.fields.filter(f => f.type !== 'bool')
        inject({ device: device.name, kind, field: analog[Math.floor(random() * analog.length)]!.name, durationMs: kind === 'spike' ? 2 * o.pollIntervalMs : 20 * o.pollIntervalMs })
        next()
      }, -Math.log(1 - random()) * everyMs)
      timer.unref()
    }
    next()
  }

  return {
    devices: infos,
    collectorConfig,
    inject,
    get labels () { return log.labels },
    get answered () { return ports.reduce((n, p) => n + p.answered, 0) },
    async close () {
      clearTimeout(timer)
      await Promise.all(ports.map(p => p.close()))
    },
  }
}
