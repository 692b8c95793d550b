// Sink configs and numbered batches for the sink's integration tests.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KafkaSinkConfig } from '../../../ingest/kafka/index.js'
import { loadConfig } from '../../../schemas/config/load.js'
import { batchFromPoints, type PointBatch } from '../../../schemas/points.js'
import { T0_US } from '../../helpers/points.js'

export function sinkConfig (broker: string, topic: string, spool: Partial<KafkaSinkConfig['spool']> = {}): KafkaSinkConfig {
  const d = loadConfig({ env: {} })
  return {
    kafka: { ...d.kafka, brokers: [broker], clientId: 'fs-test', topics: { ...d.kafka.topics, points: topic }, partitions: 4 },
    spool: { ...d.collectors.spool, dir: mkdtempSync(join(tmpdir(), 'fs-sink-spool-')), sendTimeoutMs: 1000, retryMinMs: 100, retryMaxMs: 1000, ...spool },
  }
}

/** Batch number `n` of `device`: its points carry n in value and time, so it can be recognised after the trip. */
export function numbered (device: string, n: number, points = 1): PointBatch {
  return batchFromPoints(device, 0, Array.from({ length: points }, (_, k) => ({ tag: `${device}/p${k}`, timeUs: T0_US + n * 1000 + k, value: n, quality: 0xc0 })))
}

export const numberOf = (b: PointBatch): number => b.value[0]!
