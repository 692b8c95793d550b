// `fieldstream collect`: the collectors the config asks for, writing to one Kafka sink with
// its store-and-forward spool. Stopping stops the collectors first (their last batches go to
// the sink), then closes the sink (spooled batches stay on disk for the next start).
import type { Logger } from '../common/log.js'
import type { Config } from '../schemas/config/schema.js'
import { KafkaSink, type KafkaSinkStats } from './kafka/index.js'
import { createModbusCollector, type ModbusCollector } from './modbus/index.js'
import { createMqttCollector, type MqttCollector } from './mqtt/index.js'

export interface RunningCollectors {
  readonly sink: KafkaSink
  readonly modbus: ModbusCollector | undefined
  readonly mqtt: MqttCollector | undefined
  /** One progress line: what each collector read and where its batches went. */
  statsLine (): string
  stop (): Promise<void>
}

/** Throws ConfigInvalid (naming the option) or SpoolLocked before any device is polled. */
export async function startCollectors (cfg: Readonly<Config>, deps: { log: Logger }): Promise<RunningCollectors> {
  const { log } = deps
  const sink = await KafkaSink.open({ kafka: cfg.kafka, spool: cfg.collectors.spool }, { log })
  let modbus: ModbusCollector | undefined
  let mqtt: MqttCollector | undefined
  try {
    if (cfg.collectors.modbus.devices.length > 0) modbus = createModbusCollector(cfg.collectors.modbus, { sink, log })
    if (cfg.collectors.mqtt.enabled) mqtt = createMqttCollector(cfg.collectors.mqtt, { sink, log, mqttUrl: cfg.mqtt.url })
    if (modbus === undefined && mqtt === undefined) log.warn('no collector configured (collectors.modbus.devices is empty and collectors.mqtt.enabled is false); only the spool is sent')
    await modbus?.start()
    await mqtt?.start()
  } catch (err) {
    await Promise.allSettled([modbus?.stop(), mqtt?.stop()])
    await sink.close()
    throw err
  }
  return {
    sink,
    modbus,
    mqtt,
    statsLine: () => [
      modbus === undefined ? undefined : `modbus ${modbus.stats.polls} polls (${modbus.stats.pollsFailed} failed), ${modbus.stats.batches} batches, ${modbus.stats.points} points, ${modbus.stats.sinkErrors} refused by the sink`,
      mqtt === undefined ? undefined : `mqtt ${mqtt.stats.batches.batchesWritten} batches, ${mqtt.stats.batches.pointsWritten} points, ${mqtt.stats.inFlight} in flight, ${mqtt.stats.batches.bufferedPoints} points buffered${mqtt.stats.batches.pointsShed > 0 ? `, OVERLOAD: ${mqtt.stats.batches.pointsShed} QoS 0 points dropped` : ''}`,
      sinkLine(sink.stats),
    ].filter(s => s !== undefined).join(' | '),
    async stop () {
      await Promise.allSettled([modbus?.stop(), mqtt?.stop()])
      await sink.close()
    },
  }
}

function sinkLine (s: KafkaSinkStats): string {
  const mb = (s.spool.bytes / 2 ** 20).toFixed(1)
  const loss = s.spoolFull + s.spool.droppedBatches > 0 ? `, SPOOL FULL: ${s.spoolFull} refused, ${s.spool.droppedBatches} dropped` : ''
  return `kafka ${s.state}: ${s.sentDirect} sent, ${s.sentFromSpool} sent from spool, ${s.spool.pendingBatches} spooled (${mb} MB), ${s.sendFailures} send failures${loss}`
}
