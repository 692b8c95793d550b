// Integration: `fieldstream stack` brings up real Kafka, PostgreSQL and Mosquitto on this machine,
// each answers over a real socket, a second `up` changes nothing, and a stack started from another
// data folder never touches services it did not start. The stack is left running for other tests.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Admin } from '@platformatic/kafka'
import pg from 'pg'
import t from 'tap'
import { loadConfig } from '../../schemas/config/load.js'
import {
  SERVICE_NAMES, StackError, formatStatus, kafkaMetadata, killService, mqttConnack, stackOptionsFromConfig,
  stackStatus, stackUp, startService, stopService, type StackOptions,
} from '../../stack/index.js'
import { repoPath } from '../helpers/repo.js'

// The first run on a fresh machine installs mosquitto and resolves the broker jars (~1 min).
t.setTimeout(600_000)

function options (lines: string[], dataDir?: string): StackOptions {
  const cfg = loadConfig()
  const input = { kafka: cfg.kafka, database: cfg.database, mqtt: cfg.mqtt, stack: { dataDir: dataDir ?? cfg.stack.dataDir } }
  return stackOptionsFromConfig(input, (l) => { lines.push(l) })
}

t.test('options: defaults, controller port, and coded errors naming the option', async (t) => {
  const opts = stackOptionsFromConfig({
    kafka: { brokers: ['127.0.0.1:9092'] },
    database: { url: 'postgres://postgres@127.0.0.1:5432/fieldstream' },
    mqtt: { url: 'mqtt://127.0.0.1:1883' },
    stack: { dataDir: '.fieldstream' },
  })
  t.match(opts, {
    kafka: { host: '127.0.0.1', port: 9092, controllerPort: 9093 },
    postgres: { host: '127.0.0.1', port: 5432, database: 'fieldstream', user: 'postgres' },
    mqtt: { host: '127.0.0.1', port: 1883 },
  })
  t.equal(opts.dataDir, join(process.cwd(), '.fieldstream'), 'a relative data folder resolves against the working directory')
  const bad = (patch: Partial<Record<'brokers' | 'db' | 'mqtt', string>>): unknown => {
    try {
      stackOptionsFromConfig({
        kafka: { brokers: [patch.brokers ?? '127.0.0.1:9092'] },
        database: { url: patch.db ?? 'postgres://postgres@127.0.0.1:5432/fieldstream' },
        mqtt: { url: patch.mqtt ?? 'mqtt://127.0.0.1:1883' },
        stack: { dataDir: '.fieldstream' },
      })
    } catch (err) {
      return err
    }
    return undefined
  }
  t.match(bad({ brokers: 'kafka.example:9092' }), { code: 'FS_STACK_CONFIG_INVALID', message: /kafka\.brokers\[0\].*not local/ })
  t.match(bad({ brokers: '127.0.0.1' }), { code: 'FS_STACK_CONFIG_INVALID', message: /host:port/ })
  t.match(bad({ db: 'postgres://postgres@127.0.0.1:5432/bad;name' }), { code: 'FS_STACK_CONFIG_INVALID', message: /database\.url/ })
  t.match(bad({ mqtt: 'http://127.0.0.1:1883' }), { code: 'FS_STACK_CONFIG_INVALID', message: /mqtt\.url/ })
  t.type(bad({ mqtt: 'nope' }), StackError)
})

t.test('stack up: every service answers its own protocol over a real socket', async (t) => {
  const lines: string[] = []
  const opts = options(lines)
  const statuses = await stackUp(opts)
  t.same(statuses.map((s) => s.name), [...SERVICE_NAMES])
  for (const st of statuses) t.ok(st.up, `${st.name} is up on ${st.host}:${st.port}: ${formatStatus(st)}`)
  t.comment(lines.join('\n'))

  const admin = new Admin({ clientId: 'fieldstream-stack-test', bootstrapBrokers: [`${opts.kafka.host}:${opts.kafka.port}`] })
  t.teardown(() => admin.close())
  const cluster = await admin.metadata({ topics: [] })
  t.ok([...cluster.brokers.values()].some((b) => b.port === opts.kafka.port), 'Kafka Metadata (kafka client) lists the broker')
  t.equal((await kafkaMetadata(opts.kafka.host, opts.kafka.port)).clusterId, cluster.id, 'raw-socket probe sees the same cluster id')

  const db = new pg.Client({ host: opts.postgres.host, port: opts.postgres.port, user: opts.postgres.user, database: opts.postgres.database })
  await db.connect()
  t.teardown(() => db.end())
  const row = (await db.query<{ one: number; db: string }>('SELECT 1 AS one, current_database() AS db')).rows[0]
  t.same(row, { one: 1, db: opts.postgres.database }, 'PostgreSQL answers SELECT 1 in the configured database')
  if (statuses.find((s) => s.name === 'postgres')?.managed === true) {
    const settings = await db.query<{ name: string; setting: string }>(
      "SELECT name, current_setting(name) AS setting FROM unnest(ARRAY['fsync','synchronous_commit','shared_buffers','max_wal_size','listen_addresses']) AS name")
    t.same(Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])), {
      fsync: 'on', synchronous_commit: 'on', shared_buffers: '1GB', max_wal_size: '8GB', listen_addresses: '127.0.0.1',
    }, 'our cluster runs with the ingest settings and durability on')
  }

  t.equal(await mqttConnack(opts.mqtt.host, opts.mqtt.port), 0, 'MQTT CONNECT gets CONNACK accepted')
})

t.test('a second stack up is a no-op that reports each service already running', async (t) => {
  const before = await stackStatus(options([]))
  const lines: string[] = []
  const after = await stackUp(options(lines))
  for (const name of SERVICE_NAMES) {
    t.ok(lines.some((l) => l.startsWith(`${name}: already `)), `${name} reported as already running or reachable`)
  }
  t.notOk(lines.some((l) => /starting/.test(l)), 'nothing was started')
  t.same(after.map((s) => s.pid), before.map((s) => s.pid), 'same processes as before')
})

t.test('fieldstream stack status prints one up line per service', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [repoPath('bin', 'fieldstream.js'), 'stack', 'status'])
  const lines = stdout.trimEnd().split('\n')
  t.equal(lines.length, SERVICE_NAMES.length, stdout)
  for (const [i, name] of SERVICE_NAMES.entries()) t.match(lines[i], new RegExp(`^${name}\\s+up\\s+(managed|not managed)\\s+127\\.0\\.0\\.1:\\d+`))
})

t.test('a stack with another data folder never touches services it did not start', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fieldstream-stack-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const lines: string[] = []
  const foreign = options(lines, dataDir)
  const pids = (await stackStatus(options([]))).map((s) => s.pid)

  for (const name of SERVICE_NAMES) await startService(name, foreign)
  for (const name of SERVICE_NAMES) await stopService(name, foreign)
  for (const name of SERVICE_NAMES) {
    t.ok(lines.includes(`${name}: already reachable on ${hostPort(foreign, name)} (not managed by fieldstream)`), `${name}: up reports it as not managed`)
    t.ok(lines.includes(`${name}: not managed by fieldstream; leaving ${hostPort(foreign, name)} alone`), `${name}: down leaves it alone`)
    await t.rejects(killService(name, 'SIGKILL', foreign), { code: 'FS_STACK_NOT_MANAGED' }, `${name}: kill refuses`)
  }
  const after = await stackStatus(options([]))
  t.ok(after.every((s) => s.up), 'every service still up')
  t.same(after.map((s) => s.pid), pids, 'same processes as before')
})

function hostPort (opts: StackOptions, name: (typeof SERVICE_NAMES)[number]): string {
  const s = opts[name]
  return `${s.host}:${s.port}`
}
