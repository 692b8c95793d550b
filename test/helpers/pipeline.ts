// Shared plumbing for storage-worker tests: a private topic set, group and database per
// test, batches produced to the real broker, and exact counts read from the store.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type pg from 'pg'
import { createAdmin, createBatchProducer, ensureTopics, type BatchProducer } from '../../common/kafka.js'
import { loadConfig } from '../../schemas/config/load.js'
import type { Config } from '../../schemas/config/schema.js'
import type { PointBatch } from '../../schemas/points.js'
import { encodeBatch } from '../../schemas/wire/codec.js'

export interface TestPipeline {
  cfg: Readonly<Config>
  configFile: string
  producer: BatchProducer
  produce (batches: readonly PointBatch[], chunk?: number): Promise<void>
  produceRaw (key: string, value: Buffer): Promise<void>
  close (): Promise<void>
}

export async function createTestPipeline (label: string, databaseUrl: string, overrides: Record<string, unknown> = {}): Promise<TestPipeline> {
  const unique = `${label}.${process.pid}.${Date.now()}`
  const defaults: Record<string, Record<string, unknown>> = {
    kafka: { topics: { points: `fs.test.${unique}.points`, deadLetter: `fs.test.${unique}.dlq`, alerts: `fs.test.${unique}.alerts` }, partitions: 4 },
    database: { url: databaseUrl },
    workers: { groupId: `fs-test-${unique}`, threads: 1, lanes: 2, flushMB: 1, flushMs: 100, maxBufferedMB: 32 },
  }
  // Sections merge with the defaults (an override of kafka.partitions must keep the private
  // topics: a test on the shared default topic reads everyone's points and deletes the topic).
  const raw: Record<string, unknown> = { ...defaults }
  for (const [section, value] of Object.entries(overrides)) {
    raw[section] = defaults[section] !== undefined && typeof value === 'object' && value !== null ? { ...defaults[section], ...value } : value
  }
  const dir = mkdtempSync(join(tmpdir(), 'fs-pipeline-'))
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, stringify(raw))
  const cfg = loadConfig({ file: configFile, env: {} })
  const admin = createAdmin(cfg.kafka)
  await ensureTopics(admin, [
    { name: cfg.kafka.topics.points, partitions: cfg.kafka.partitions, replicationFactor: 1 },
    { name: cfg.kafka.topics.deadLetter, partitions: 1, replicationFactor: 1 },
  ])
  await admin.close()
  const producer = createBatchProducer(cfg.kafka)
  return {
    cfg,
    configFile,
    producer,
    async produce (batches, chunk = 50) {
      for (let i = 0; i < batches.length; i += chunk) {
        await producer.send({ messages: batches.slice(i, i + chunk).map(b => ({ topic: cfg.kafka.topics.points, key: b.source, value: encodeBatch(b) })) })
      }
    },
    async produceRaw (key, value) {
      await producer.send({ messages: [{ topic: cfg.kafka.topics.points, key, value }] })
    },
    async close () {
      await producer.close()
      const a = createAdmin(cfg.kafka)
      await a.deleteTopics({ topics: [cfg.kafka.topics.points, cfg.kafka.topics.deadLetter] }).catch(() => undefined)
      await a.close()
    },
  }
}

export interface StoreCounts { points: number, distinct: number, rows: number }

/** Points stored so far (cheap: array lengths only), for polling progress. */
export async function storedPoints (pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(sum(cardinality(vals)), 0)::int AS n FROM points')
  return rows[0].n as number
}

/** Points stored, distinct (tag, time) pairs among them, and segment rows. */
export async function storeCounts (pool: pg.Pool): Promise<StoreCounts> {
  // GROUP BY rather than DISTINCT: on this server the parallel DISTINCT plan over the
  // unnested arrays stalled for minutes where the grouped one takes about a second.
  const { rows } = await pool.query(`SELECT
      (SELECT coalesce(sum(cardinality(vals)), 0)::int FROM points) AS points,
      (SELECT count(*)::int FROM (SELECT 1 FROM points p, unnest(p.ts) AS u(t) GROUP BY p.tag_id, u.t) d) AS distinct,
      (SELECT count(*)::int FROM points) AS rows`)
  return rows[0] as StoreCounts
}

/** Poll until `check` is true or the time is up; returns the last value seen. */
export async function waitFor<T> (read: () => Promise<T>, check: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await read()
    if (check(v) || Date.now() > deadline) return v
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}
