// A private pipeline for one fault case. It has its own Kafka, PostgreSQL and Mosquitto (ports of
// their own, data in a temporary folder), so a case can kill them without touching the shared
// services or any other test. The simulated field runs in threads of the test process (bench e2e's
// sim threads, with the ledger of what the simulators answered and published).
// `fieldstream collect` and `fieldstream work` run as child processes that a case can kill.
//
// A case drives the field for a fixed time, injects its fault, and calls finish(). finish()
// silences the field, waits until every point has reached the store, and counts the store per
// tag against the ledger: lost = sent - distinct, duplicated = stored - distinct.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { stringify } from 'yaml'
import { createBatchConsumer, createAdmin, ensureTopics } from '../../common/kafka.js'
import { createLogger } from '../../common/log.js'
import { resolveSpoolOptions, Spool } from '../../ingest/spool/index.js'
import { loadConfig } from '../../schemas/config/load.js'
import type { Config } from '../../schemas/config/schema.js'
import type { ModbusCollectorConfig } from '../../schemas/config/modbus.js'
import { tcpReachable } from '../../stack/process.js'
import { killService, stackDown, stackOptionsFromConfig, stackUp, startService, stopService, type ServiceName, type StackOptions } from '../../stack/index.js'
import { sparkplugTags } from '../../bench/e2e/ledger.js'
import { startSimThread, type SimCommand, type SimEvent, type SimJob } from '../../bench/e2e/sim-thread.js'
import type { Worker } from 'node:worker_threads'

/** The CLI of this same build (bin/ always loads dist/, which may be another build). */
const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url))

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export interface FieldShape {
  modbus: { pumps: number, tanks: number, flowMeters: number, rtus: number, rtuChannels: number, pollIntervalMs: number }
  /** One edge node (births then count per tag exactly); 0 devices: no Sparkplug. */
  sparkplug: { devices: number, metricsPerDevice: number, tickMs: number }
}

/** The rounds are driven by the sim thread (counted in the ledger); the edge's own timer stays out of the way. */
const EDGE_TIMER_OFF_MS = 3_600_000

export const DEFAULT_FIELD: FieldShape = {
  modbus: { pumps: 2, tanks: 1, flowMeters: 1, rtus: 4, rtuChannels: 60, pollIntervalMs: 250 },
  sparkplug: { devices: 4, metricsPerDevice: 25, tickMs: 200 },
}

export interface RigOptions {
  /** Names the case in folders, topics and ports. */
  name: string
  /** Kafka on base, its controller on base + 1, PostgreSQL on base + 2, Mosquitto on base + 3; Modbus devices from 15400 + base % 1000. */
  basePort: number
  field?: FieldShape
  /** Extra config sections merged over the rig's (e.g. collectors.spool, workers). */
  config?: { workers?: Record<string, unknown>, spool?: Record<string, unknown> }
  /** Run the scoring stage in the worker too (off by default: the suite is about storage, on 2 cores). */
  scoring?: boolean
}

export interface Tally {
  sent: number
  stored: number
  distinct: number
  lost: number
  duplicated: number
  /** Good points beyond what the ledger says was sent, or of tags it does not know (none expected). */
  unexpected: number
  tags: number
  /** The largest loss of one tag. */
  maxLostPerTag: number
  /** Tags with a loss or duplicate, for the failure message. */
  examples: string[]
  /** Points lost on tags not starting with `prefix`. */
  lostOutside (prefix: string): number
}

export interface FaultResult {
  fault: string
  happens: string
  sent: number
  lost: number
  duplicated: number
  recoverS: number | null
  notes?: string
}

/** A simulator thread and the events it sent, awaitable by type. */
class SimHandle {
  readonly worker: Worker
  readonly #waiting = new Map<SimEvent['type'], (e: SimEvent) => void>()
  readonly #seen = new Map<SimEvent['type'], SimEvent>()
  constructor (job: SimJob) {
    this.worker = startSimThread(job, e => {
      if (e.type === 'progress') return
      this.#seen.set(e.type, e)
      this.#waiting.get(e.type)?.(e)
    })
  }

  next<T extends SimEvent['type']> (type: T): Promise<Extract<SimEvent, { type: T }>> {
    const seen = this.#seen.get(type)
    if (seen !== undefined) return Promise.resolve(seen as Extract<SimEvent, { type: T }>)
    return new Promise(resolve => this.#waiting.set(type, e => resolve(e as Extract<SimEvent, { type: T }>)))
  }

  send (c: SimCommand): void { this.worker.postMessage(c) }
}

/** A `fieldstream` child process, its log kept for assertions. */
export class Child {
  readonly proc: ChildProcess
  readonly log: string[] = []
  readonly exited: Promise<number | null>
  constructor (readonly role: 'collect' | 'work', configFile: string, echo: (line: string) => void) {
    this.proc = spawn(process.execPath, [CLI, '-c', configFile, role], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FIELDSTREAM_LOG: 'info', FIELDSTREAM_CONFIG: '' } })
    let rest = ''
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) { this.log.push(line); echo(`${role}: ${line}`) }
    })
    this.exited = new Promise(resolve => this.proc.once('exit', code => resolve(code)))
  }

  get pid (): number { return this.proc.pid! }

  /** Resident memory, MB (0 once gone). */
  rssMB (): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
      return m === null ? 0 : Number(m[1]) / 1024
    } catch { return 0 }
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode
    this.proc.kill(signal)
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }

  async waitForLine (pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const hit = this.log.find(l => pattern.test(l))
      if (hit !== undefined) return hit
      if (Date.now() > deadline) throw new Error(`${this.role}: no log line matching ${pattern} within ${timeoutMs / 1000} s; last lines:\n${this.log.slice(-15).join('\n')}`)
      if (this.proc.exitCode !== null) throw new Error(`${this.role} exited (${this.proc.exitCode}) before logging ${pattern}; last lines:\n${this.log.slice(-15).join('\n')}`)
      await sleep(100)
    }
  }
}

export class Rig {
  readonly dir: string
  readonly stack: StackOptions
  readonly configFile: string
  readonly topic: string
  readonly group = 'fieldstream-store'
  readonly field: FieldShape
  readonly #o: RigOptions
  readonly #say = createLogger('faults')
  #modbus: SimHandle | undefined
  #edge: SimHandle | undefined
  #modbusConfig: ModbusCollectorConfig | undefined
  #db: pg.Pool | undefined
  collector: Child | undefined
  worker: Child | undefined
  readonly children = new Set<Child>()
  #fieldSeconds = 0
  /** The edge's rounds and counters, once finish() has them. */
  lastRounds: Extract<SimEvent, { type: 'rounds-done' }> | undefined

  private constructor (o: RigOptions) {
    this.#o = o
    this.field = o.field ?? DEFAULT_FIELD
    this.dir = mkdtempSync(join(tmpdir(), `fs-fault-${o.name}-`))
    // PostgreSQL and Mosquitto run as their own OS users, which must reach their folders in here.
    chmodSync(this.dir, 0o755)
    this.topic = `faults.${o.name}.points`
    this.stack = stackOptionsFromConfig({
      kafka: { brokers: [`127.0.0.1:${o.basePort}`] },
      database: { url: this.databaseUrl(o.basePort + 2) },
      mqtt: { url: `mqtt://127.0.0.1:${o.basePort + 3}` },
      stack: { dataDir: join(this.dir, 'stack') },
    }, line => this.#say.info(line))
    this.configFile = join(this.dir, 'config.yaml')
  }

  databaseUrl (port = this.#o.basePort + 2): string { return `postgres://postgres@127.0.0.1:${port}/fieldstream` }

  /** Starts the private services and the simulators, writes the config the children read. */
  static async start (o: RigOptions): Promise<Rig> {
    const rig = new Rig(o)
    try {
      await rig.#refuseBusyPorts()
      await stackUp(rig.stack)
      await rig.#startSimulators()
      rig.#writeConfig()
      const cfg = rig.config()
      const admin = createAdmin(cfg.kafka)
      await ensureTopics(admin, [{ name: rig.topic, partitions: cfg.kafka.partitions, replicationFactor: 1 }])
      await admin.close()
      return rig
    } catch (err) {
      await rig.close()
      throw err
    }
  }

  /** A service left on one of our ports (a killed run) would be reused without notice, and a fault on it would miss. */
  async #refuseBusyPorts (): Promise<void> {
    for (const port of [this.stack.kafka.port, this.stack.kafka.controllerPort, this.stack.postgres.port, this.stack.mqtt.port]) {
      if (await tcpReachable('127.0.0.1', port)) throw new Error(`faults ${this.#o.name}: port ${port} is already in use (a service left over from an earlier run?)`)
    }
  }

  config (): Readonly<Config> { return loadConfig({ file: this.configFile, env: {} }) }

  async #startSimulators (): Promise<void> {
    const m = this.field.modbus
    const s = this.field.sparkplug
    const base = this.#o.basePort
    if (m.pumps + m.tanks + m.flowMeters + m.rtus > 0) {
      // The simulators take ports below 16000, each case its own range.
      this.#modbus = new SimHandle({ role: 'modbus', pad: { ...m, basePort: 15400 + (base % 1000) } })
      this.#modbusConfig = (await this.#modbus.next('ready')).collectorConfig
    }
    if (s.devices > 0) {
      this.#edge = new SimHandle({ role: 'sparkplug', edge: { url: `mqtt://127.0.0.1:${base + 3}`, groupId: 'faults', nodes: 1, devicesPerNode: s.devices, metricsPerDevice: s.metricsPerDevice, intervalMs: EDGE_TIMER_OFF_MS, primaryHostId: 'faults-host' } })
      await this.#edge.next('ready')
    }
  }

  #writeConfig (): void {
    const o = this.#o
    // A poll's reply may come late on a loaded machine: a generous timeout and no retries keep
    // one reading per answered request, so the simulator's count of answers is the ledger.
    const modbus = this.#modbusConfig === undefined ? { devices: [] } : { ...this.#modbusConfig, devices: this.#modbusConfig.devices.map(d => ({ ...d, retries: 0, timeoutMs: 5000 })) }
    const raw = {
      kafka: { brokers: [`127.0.0.1:${o.basePort}`], topics: { points: this.topic, deadLetter: `faults.${o.name}.dlq`, alerts: `faults.${o.name}.alerts` }, partitions: 4 },
      database: { url: this.databaseUrl() },
      mqtt: { url: `mqtt://127.0.0.1:${o.basePort + 3}` },
      stack: { dataDir: join(this.dir, 'stack') },
      workers: { groupId: this.group, threads: 1, lanes: 2, ...o.config?.workers },
      scoring: { enabled: o.scoring === true },
      collectors: {
        modbus,
        mqtt: { enabled: this.#edge !== undefined, sparkplug: { enabled: this.#edge !== undefined, hostId: 'faults-host' } },
        spool: { dir: join(this.dir, 'spool'), ...o.config?.spool },
      },
    }
    writeFileSync(this.configFile, stringify(raw))
  }

  #echo = (line: string): void => { if (process.env.FAULTS_VERBOSE === '1') process.stderr.write(`  ${line}\n`) }

  startCollector (): Child {
    const c = new Child('collect', this.configFile, this.#echo)
    this.children.add(c)
    this.collector = c
    return c
  }

  startWorker (): Child {
    const c = new Child('work', this.configFile, this.#echo)
    this.children.add(c)
    this.worker = c
    return c
  }

  /** Collector and worker up, the worker consuming, the edge born: points flow. */
  async startPipeline (): Promise<void> {
    this.startWorker()
    await this.worker!.waitForLine(/assigned partitions|consuming/, 180_000)
    this.startCollector()
    await this.collector!.waitForLine(/collecting into/, 180_000)
  }

  /** The simulators send for `seconds` from now (Sparkplug rounds on a fixed schedule; the Modbus pad answers polls). */
  async runField (seconds: number): Promise<void> {
    this.#fieldSeconds = seconds
    this.#edge?.send({ type: 'rounds', seconds, tickMs: this.field.sparkplug.tickMs })
    if (this.#edge !== undefined) await this.#edge.next('born')
  }

  async kill (service: ServiceName): Promise<void> { await killService(service, 'SIGKILL', this.stack) }
  async stopService (service: ServiceName): Promise<void> { await stopService(service, this.stack) }
  async startService (service: ServiceName): Promise<void> { await startService(service, this.stack) }
  db (): pg.Pool {
    if (this.#db === undefined) {
      this.#db = new pg.Pool({ connectionString: this.databaseUrl(), max: 2 })
      this.#db.on('error', () => undefined)
    }
    return this.#db
  }

  /** Kafka messages not yet stored: end offsets minus the store's durable offsets. */
  async lag (): Promise<number> {
    const consumer = createBatchConsumer(this.config().kafka, `faults-lag-${process.pid}`)
    try {
      const ends = (await consumer.listOffsets({ topics: [this.topic] })).get(this.topic) ?? []
      const { rows } = await this.db().query<{ partition: number, next_offset: string | null }>('SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2', [this.group, this.topic])
      const durable = new Map(rows.map(r => [r.partition, BigInt(r.next_offset ?? 0)]))
      let lag = 0n
      ends.forEach((end, p) => { if (end > (durable.get(p) ?? 0n)) lag += end - (durable.get(p) ?? 0n) })
      return Number(lag)
    } finally {
      await consumer.close(true)
    }
  }

  /**
   * The backlog in MB: messages not yet stored times the topic's mean message size on the
   * broker's disk (record batches as written, so an underestimate if the producer compressed).
   */
  async backlogMB (): Promise<number> {
    const consumer = createBatchConsumer(this.config().kafka, `faults-lag-${process.pid}`)
    let messages = 0n
    try {
      for (const end of (await consumer.listOffsets({ topics: [this.topic] })).get(this.topic) ?? []) messages += end
    } finally {
      await consumer.close(true)
    }
    const logs = join(this.stack.dataDir, 'kafka', 'data')
    let bytes = 0
    for (const dir of readdirSync(logs).filter(d => d.startsWith(`${this.topic}-`))) {
      for (const f of readdirSync(join(logs, dir)).filter(f => f.endsWith('.log'))) bytes += statSync(join(logs, dir, f)).size
    }
    return messages === 0n ? 0 : (await this.lag()) * (bytes / Number(messages)) / 2 ** 20
  }

  /** Wall clock minus the newest source timestamp stored for tags matching `like`, ms (Infinity before any). */
  async staleness (like: string): Promise<number> {
    const { rows } = await this.db().query<{ newest: Date | null }>(
      `SELECT max(u.t) AS newest FROM points p JOIN tags g ON g.id = p.tag_id, unnest(p.ts) AS u(t)
       WHERE g.name LIKE $1 AND p.bucket >= date_trunc('hour', now()) - interval '1 hour'`, [like])
    const newest = rows[0]?.newest
    return newest == null ? Infinity : Date.now() - newest.getTime()
  }

  /**
   * Seconds from now until points of tags matching `like` are stored within `freshMs` of being
   * taken again: the time the pipeline needs to be back to normal after a fault ended.
   */
  async timeToFresh (like: string, freshMs = 3000, timeoutMs = 180_000): Promise<number | null> {
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      const stale = await this.staleness(like).catch(() => Infinity)
      if (stale <= freshMs) return (Date.now() - started) / 1000
      await sleep(250)
    }
    return null
  }

  /** Batches left in the collector's spool (only while no collector holds it). */
  async spooledBatches (): Promise<number> {
    const cfg = this.config()
    const spool = await Spool.open(resolveSpoolOptions(cfg.collectors.spool), createLogger('faults-spool'))
    const n = spool.stats.pendingBatches
    await spool.close()
    return n
  }

  /** Waits for the field's end, silences it, lets the collector and worker store everything, and counts. */
  async finish (): Promise<Tally> {
    const rounds = this.#edge === undefined ? undefined : await this.#edge.next('rounds-done')
    this.lastRounds = rounds
    if (this.#edge === undefined) await sleep(this.#fieldSeconds * 1000)
    // Let the broker deliver the last rounds while the devices still answer, then silence the
    // pad: every read answered so far is on its way to the collector, none is answered later.
    await sleep(1500)
    // The collector gets longer than its poll timeout to finish the poll in flight, so every
    // answered read is a stored reading (see ModbusLedger.perTag).
    this.#modbus?.send({ type: 'silence', completedPolls: true })
    const modbusLedger = await this.#modbus?.next('silenced')
    await sleep(6000) // > the poll timeout: a poll in flight at the silence has ended
    await this.collector?.stop('SIGTERM', 120_000)
    const leftInSpool = await this.spooledBatches()
    if (leftInSpool > 0) throw new Error(`${leftInSpool} batches are still in the collector's spool after it stopped`)
    await this.waitFor('the store to catch up with Kafka', () => this.lag().then(l => l === 0), 240_000)
    await this.worker?.stop('SIGTERM')

    const sent = new Map(Object.entries(modbusLedger?.sent ?? {}))
    if (rounds !== undefined) {
      // One node: every Sparkplug tag got one point per round plus one per birth of the node.
      const s = this.field.sparkplug
      for (const tag of sparkplugTags({ groupId: 'faults', nodes: 1, devicesPerNode: s.devices, metricsPerDevice: s.metricsPerDevice })) sent.set(tag, rounds.rounds + rounds.stats.births)
    }
    return await this.tally(Object.fromEntries(sent))
  }

  async tally (sent: Record<string, number>): Promise<Tally> {
    const { rows } = await this.db().query<{ name: string, points: string, distinct: string }>(`
      SELECT t.name, count(*) AS points, count(DISTINCT u.t) AS distinct
      FROM points p JOIN tags t ON t.id = p.tag_id, unnest(p.ts, p.quals) AS u(t, q)
      WHERE u.q IS NULL OR u.q & 192 = 192 GROUP BY t.name`)
    // Only good-quality points: a poll that timed out yields bad-quality (0x18) points the
    // collector made, not readings the field sent (quals is NULL when every point is good).
    const lostByTag = new Map<string, number>()
    const out: Tally = { sent: 0, stored: 0, distinct: 0, lost: 0, duplicated: 0, unexpected: 0, tags: 0, maxLostPerTag: 0, examples: [], lostOutside: prefix => [...lostByTag].reduce((sum, [tag, n]) => tag.startsWith(prefix) ? sum : sum + n, 0) }
    const seen = new Set<string>()
    for (const r of rows) {
      const points = Number(r.points)
      const distinct = Number(r.distinct)
      seen.add(r.name)
      const want = sent[r.name]
      out.stored += points
      out.distinct += distinct
      out.duplicated += points - distinct
      if (want === undefined) { out.unexpected += distinct; continue }
      if (distinct < want) { out.lost += want - distinct; lostByTag.set(r.name, want - distinct); out.maxLostPerTag = Math.max(out.maxLostPerTag, want - distinct) }
      else out.unexpected += distinct - want
      if ((distinct !== want || points !== distinct) && out.examples.length < 10) out.examples.push(`${r.name}: sent ${want}, stored ${points} (${distinct} distinct)`)
    }
    for (const [tag, n] of Object.entries(sent)) {
      out.sent += n
      out.tags++
      if (!seen.has(tag) && n > 0) {
        out.lost += n
        lostByTag.set(tag, n)
        out.maxLostPerTag = Math.max(out.maxLostPerTag, n)
        if (out.examples.length < 10) out.examples.push(`${tag}: sent ${n}, stored none`)
      }
    }
    return out
  }

  async waitFor (what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (await probe().catch(() => false)) return
      if (Date.now() > deadline) {
        throw new Error(`faults ${this.#o.name}: gave up waiting for ${what} after ${timeoutMs / 1000} s`)
      }
      await sleep(intervalMs)
    }
  }

  async close (): Promise<void> {
    for (const c of this.children) await c.stop('SIGKILL', 5000)
    this.#modbus?.send({ type: 'close' })
    this.#edge?.send({ type: 'close' })
    await Promise.race([Promise.all([this.#modbus?.next('closed'), this.#edge?.next('closed')]), sleep(10_000)])
    await this.#modbus?.worker.terminate()
    await this.#edge?.worker.terminate()
    await this.#db?.end()
    await stackDown(this.stack).catch(err => this.#say.warn(`stack down: ${(err as Error).message}`))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
