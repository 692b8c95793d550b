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
