// Docker cannot run on the project's machines, so this checks docker-compose.yml against
// what the code reads: env names, hosts and ports, subcommands and the Dockerfile.
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { parse } from 'yaml'
import { CONFIG_FILE_ENV, ENV_OVERRIDES } from '../../schemas/config/env.js'
import { loadConfig } from '../../schemas/config/load.js'
import { repoPath } from '../helpers/repo.js'

interface Service {
  image?: string
  build?: string
  command?: string[]
  environment?: Record<string, string | number>
  ports?: string[]
  volumes?: string[]
}
const compose = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8')) as { services: Record<string, Service> }
const services = compose.services
const PIPELINE = ['collector', 'worker', 'api']
const KNOWN_ENV = new Set([...Object.keys(ENV_OVERRIDES), CONFIG_FILE_ENV, 'FIELDSTREAM_LOG'])

t.test('infrastructure services use the official images', async t => {
  t.match(services.timescaledb?.image, /^timescale\/timescaledb:/)
  t.match(services.kafka?.image, /^apache\/kafka:/)
  t.match(services.mosquitto?.image, /^eclipse-mosquitto:2/)
  t.equal(services.kafka?.environment?.KAFKA_PROCESS_ROLES, 'broker,controller', 'Kafka runs in KRaft mode')
})

t.test('pipeline services build from the Dockerfile and run real subcommands', async t => {
  const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8')
  t.match(dockerfile, /ENTRYPOINT \["node", "bin\/fieldstream\.js"\]/)
  for (const name of PIPELINE) {
    const s = services[name]
    t.ok(s, `${name} is defined`)
    t.equal(s?.build, '.', `${name} builds from the Dockerfile`)
    const sub = s?.command?.[0] ?? ''
    const help = spawnSync(process.execPath, [repoPath('bin/fieldstream.js'), sub, '--help'], { encoding: 'utf8' })
    t.equal(help.status, 0, `fieldstream ${sub} --help exits 0`)
    t.match(help.stdout, `Usage: fieldstream ${sub}`, `${name} runs the ${sub} subcommand`)
  }
})

t.test('every environment variable a pipeline service sets is one the code reads, and validates', async t => {
  for (const name of PIPELINE) {
    const env = Object.fromEntries(Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]))
    for (const key of Object.keys(env)) t.ok(KNOWN_ENV.has(key), `${name}: ${key} is read by schemas/config/env.ts`)
    // The config file path is inside the image; load the same file from the repo instead.
    const file = env[CONFIG_FILE_ENV]?.replace(/^\/app\//, repoPath(''))
    t.ok(file, `${name} names its config file`)
    const cfg = loadConfig({ file, env: { ...env, [CONFIG_FILE_ENV]: '' } })
    t.ok(cfg, `${name}: config + environment validate`)
  }
})

t.test('hosts and ports in the pipeline environment point at services that listen there', async t => {
  const listens: Record<string, number[]> = {
    kafka: [Number(/PLAINTEXT:\/\/kafka:(\d+)/.exec(String(services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS))?.[1])],
    timescaledb: [5432],
    mosquitto: [Number(/listener (\d+)/.exec(readFileSync(repoPath('deploy/mosquitto.conf'), 'utf8'))?.[1])],
  }
  const targets: Array<[string, string, string]> = []
  for (const name of PIPELINE) {
    const env = services[name]?.environment ?? {}
    for (const broker of String(env.KAFKA_BROKERS ?? '').split(',').filter(Boolean)) targets.push([name, 'KAFKA_BROKERS', broker])
    if (env.DATABASE_URL !== undefined) targets.push([name, 'DATABASE_URL', new URL(String(env.DATABASE_URL)).host])
    if (env.MQTT_URL !== undefined) targets.push([name, 'MQTT_URL', new URL(String(env.MQTT_URL)).host])
  }
  t.ok(targets.length >= 5)
  for (const [service, variable, hostPort] of targets) {
    const [host, port] = hostPort.split(':')
    t.ok(listens[host!]?.includes(Number(port)), `${service} ${variable}=${hostPort}: ${host} listens on ${port}`)
  }
  const dbUser = new URL(String(services.worker?.environment?.DATABASE_URL))
  t.equal(dbUser.password, services.timescaledb?.environment?.POSTGRES_PASSWORD, 'worker uses the database password')
  t.equal(dbUser.pathname.slice(1), services.timescaledb?.environment?.POSTGRES_DB, 'worker uses the database name')
})

t.test('the API is published on the port it listens on', async t => {
  const env = services.api?.environment ?? {}
  t.equal(env.API_HOST, '0.0.0.0', 'listens beyond the container loopback')
  t.ok(services.api?.ports?.some(p => p.endsWith(`:${String(env.API_PORT)}`)), `a port mapping targets API_PORT ${String(env.API_PORT)}`)
})

// ---- profile `scale`: three brokers, replication 3 / min.insync.replicas 2, two worker replicas.
interface ScaleService extends Service { profiles?: string[], deploy?: { replicas?: number }, depends_on?: unknown }
const scale = compose.services as Record<string, ScaleService>
const BROKERS = ['kafka-1', 'kafka-2', 'kafka-3']
const SCALE_PIPELINE = ['collector-scale', 'worker-scale']

t.test('scale profile: three KRaft brokers form one cluster with replication 3 and min.insync.replicas 2', async t => {
  const clusterIds = new Set<string>()
  for (const [i, name] of BROKERS.entries()) {
    const s = scale[name]
    const env = s?.environment ?? {}
    t.same(s?.profiles, ['scale'], `${name} only runs in the scale profile`)
    t.match(s?.image, /^apache\/kafka:/, `${name} uses the official image`)
    t.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller', `${name} runs in KRaft mode`)
    t.equal(Number(env.KAFKA_NODE_ID), i + 1, `${name} has node id ${i + 1}`)
    t.equal(env.KAFKA_ADVERTISED_LISTENERS, `PLAINTEXT://${name}:9092`, `${name} advertises its own service name`)
    t.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, BROKERS.map((b, j) => `${j + 1}@${b}:9093`).join(','), `${name} knows all three controllers`)
    t.equal(Number(env.KAFKA_DEFAULT_REPLICATION_FACTOR), 3, `${name}: replication factor 3`)
    t.equal(Number(env.KAFKA_MIN_INSYNC_REPLICAS), 2, `${name}: min.insync.replicas 2`)
    t.equal(Number(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR), 3, `${name}: consumer offsets replicated 3 times`)
    t.equal(String(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE), 'false', `${name}: topics are created by fieldstream with its partitions`)
    t.ok(s?.volumes?.some(v => v.startsWith(`${name}:`)), `${name} keeps its data in its own volume`)
    clusterIds.add(String(env.CLUSTER_ID))
  }
  t.equal(clusterIds.size, 1, 'one CLUSTER_ID for all three')
  // Kafka formats storage only with a base64url-encoded 16-byte UUID.
  t.match([...clusterIds][0], /^[A-Za-z0-9_-]{22}$/, 'CLUSTER_ID is a base64 UUID')
})

t.test('scale profile: pipeline services read real env names, reach the three brokers and validate', async t => {
  for (const name of SCALE_PIPELINE) {
    const s = scale[name]
    t.same(s?.profiles, ['scale'], `${name} only runs in the scale profile`)
    t.equal(s?.build, '.', `${name} builds from the Dockerfile`)
    const sub = s?.command?.[0] ?? ''
    const help = spawnSync(process.execPath, [repoPath('bin/fieldstream.js'), sub, '--help'], { encoding: 'utf8' })
    t.match(help.stdout, `Usage: fieldstream ${sub}`, `${name} runs the ${sub} subcommand`)
    const env = Object.fromEntries(Object.entries(s?.environment ?? {}).map(([k, v]) => [k, String(v)]))
    for (const key of Object.keys(env)) t.ok(KNOWN_ENV.has(key), `${name}: ${key} is read by schemas/config/env.ts`)
    t.same(env.KAFKA_BROKERS?.split(','), BROKERS.map(b => `${b}:9092`), `${name} bootstraps from all three brokers`)
    const file = env[CONFIG_FILE_ENV]?.replace(/^\/app\//, repoPath(''))
    const cfg = loadConfig({ file, env: { ...env, [CONFIG_FILE_ENV]: '' } })
    t.equal(cfg.kafka.replicationFactor, 3, `${name}: topics are created with replication factor 3`)
    t.ok(cfg.kafka.replicationFactor <= BROKERS.length, `${name}: replication fits the brokers`)
    if (env.DATABASE_URL !== undefined) {
      const db = new URL(env.DATABASE_URL)
      t.equal(db.host, 'timescaledb:5432', `${name} uses the TimescaleDB service`)
      t.equal(db.password, scale.timescaledb?.environment?.POSTGRES_PASSWORD, `${name} uses the database password`)
    }
    if (env.MQTT_URL !== undefined) t.equal(new URL(env.MQTT_URL).host, 'mosquitto:1883', `${name} uses the Mosquitto service`)
  }
})

t.test('scale profile: the worker replicas share one consumer group over enough partitions', async t => {
  const s = scale['worker-scale']
  const replicas = s?.deploy?.replicas ?? 1
  t.equal(replicas, 2, 'two worker replicas')
  const env = Object.fromEntries(Object.entries(s?.environment ?? {}).map(([k, v]) => [k, String(v)]))
  const cfg = loadConfig({ file: env[CONFIG_FILE_ENV]?.replace(/^\/app\//, repoPath('')), env: { ...env, [CONFIG_FILE_ENV]: '' } })
  t.equal(cfg.kafka.partitions, 12, 'a 12-partition points topic')
  t.equal(cfg.kafka.partitions % replicas, 0, 'the partitions divide evenly over the replicas')
  t.ok(cfg.kafka.partitions >= replicas * cfg.workers.lanes, 'every lane of every replica gets a partition')
  // One group id in the file and no per-replica override: the replicas are one consumer group.
  t.notOk(Object.keys(env).some(k => /GROUP/.test(k)), 'no per-replica consumer group')
  t.ok(cfg.workers.groupId.length > 0, `consumer group ${cfg.workers.groupId}`)
  const depends = Object.keys((s?.depends_on ?? {}) as Record<string, unknown>)
  for (const b of BROKERS) t.ok(depends.includes(b), `worker-scale waits for ${b}`)
})

t.test('the default services stay on the single broker; the scale ones never start without the profile', async t => {
  for (const name of PIPELINE) t.notOk(String(services[name]?.environment?.KAFKA_BROKERS ?? '').includes('kafka-1'), `${name} uses the single broker`)
  for (const name of [...BROKERS, ...SCALE_PIPELINE]) t.ok(scale[name]?.profiles?.includes('scale'), `${name} is in the scale profile`)
})
