// `fieldstream sim`: simulated field devices (a Modbus TCP well pad and Sparkplug B edge
// nodes) until Ctrl-C. `--write-config` saves the collector config that reads them.
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { stringify } from 'yaml'
import { startSimulatedField } from '../../sim/field.js'
import { configOf } from '../config.js'
import { untilSignal } from '../signals.js'

export function registerSim (program: Command): void {
  program.command('sim')
    .description('simulate field devices from the config section `sim`: a Modbus TCP well pad and Sparkplug B edge nodes on `mqtt.url`')
    .option('--write-config <file>', 'write the `collectors` config that reads the simulated devices to this YAML file')
    .action(async (o: { writeConfig?: string }, command: Command) => {
      const cfg = configOf(command)
      const field = await startSimulatedField(cfg)
      for (const d of field.pad?.devices ?? []) process.stderr.write(`sim: modbus ${d.kind} ${d.name} at ${d.address} unit ${d.unitId}\n`)
      if (field.edge !== undefined) process.stderr.write(`sim: sparkplug nodes ${field.edge.nodeIds.join(', ')} on ${cfg.mqtt.url} (group ${cfg.sim.sparkplug.groupId})\n`)
      if (o.writeConfig !== undefined) {
        writeFileSync(o.writeConfig, stringify({ collectors: { modbus: field.collectorConfig.collectors.modbus, mqtt: field.collectorConfig.collectors.mqtt } }))
        process.stderr.write(`sim: collector config written to ${o.writeConfig}\n`)
      }
      process.stderr.write('sim: running; Ctrl-C to stop\n')
      await untilSignal()
      await field.stop()
    })
}
