// The simulated field for the demo and `fieldstream sim`: a Modbus TCP well pad and
// Sparkplug B edge nodes, as configured in the `sim` section, plus the collector config
// that reads them.
import type { Config } from '../schemas/config/schema.js'
import { startModbusPad, type ModbusPad } from './modbus/index.js'
import { startSparkplugEdge, type SparkplugEdge } from './sparkplug/edge.js'

export interface SimulatedField {
  pad: ModbusPad | undefined
  edge: SparkplugEdge | undefined
  /** The config with collectors pointed at the simulated devices. */
  collectorConfig: Readonly<Config>
  stop (): Promise<void>
}

export async function startSimulatedField (cfg: Readonly<Config>): Promise<SimulatedField> {
  const m = cfg.sim.modbus
  const pad = m.pumps + m.tanks + m.flowMeters + m.rtus > 0
    ? await startModbusPad({ pumps: m.pumps, tanks: m.tanks, flowMeters: m.flowMeters, rtus: m.rtus, rtuChannels: m.rtuChannels, pollIntervalMs: m.pollIntervalMs, basePort: m.basePort, ...(m.faultEveryS > 0 ? { randomFaultEveryMs: m.faultEveryS * 1000 } : {}) })
    : undefined
  const s = cfg.sim.sparkplug
  let edge: SparkplugEdge | undefined
  try {
    edge = s.nodes > 0
      ? await startSparkplugEdge({ url: cfg.mqtt.url, groupId: s.groupId, nodes: s.nodes, devicesPerNode: s.devicesPerNode, metricsPerDevice: s.metricsPerDevice, intervalMs: s.intervalMs, primaryHostId: cfg.collectors.mqtt.sparkplug.hostId })
      : undefined
  } catch (err) {
    await pad?.close()
    throw err
  }
  const collectorConfig: Readonly<Config> = {
    ...cfg,
    collectors: {
      ...cfg.collectors,
      modbus: pad?.collectorConfig ?? cfg.collectors.modbus,
      mqtt: edge === undefined ? cfg.collectors.mqtt : { ...cfg.collectors.mqtt, enabled: true, sparkplug: { ...cfg.collectors.mqtt.sparkplug, enabled: true } },
    },
  }
  return {
    pad,
    edge,
    collectorConfig,
    async stop () {
      await Promise.allSettled([edge?.stop(), pad?.close()])
    },
  }
}
