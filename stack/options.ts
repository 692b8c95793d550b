// Turns the project config (broker list, database URL, MQTT URL, data folder) into the options the
// stack needs, checked once so the services never start with a half-usable setting.
import { resolve } from 'node:path'
import { StackError } from './errors.js'

/** The slice of the fieldstream config that the local stack reads. */
export interface StackConfigInput {
  kafka: { brokers: string[] }
  database: { url: string }
  mqtt: { url: string }
  stack: { dataDir: string }
}

export interface StackOptions {
  /** Absolute folder holding every service's data, config, logs and pid files. */
  dataDir: string
  /** Broker listener `port`; the KRaft controller listens on `controllerPort` (default port + 1). */
  kafka: { host: string; port: number; controllerPort: number }
  /** Cluster listens on host:port; `database` is created if missing and owned by `user`. */
  postgres: { host: string; port: number; database: string; user: string }
  mqtt: { host: string; port: number }
  /** Progress lines (one per call, no trailing newline). */
  log: (line: string) => void
}

/** Hosts the stack can bind: it only ever listens on the loopback interface. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost'])

/** SQL identifiers we pass to createdb/createuser and into one quoted literal: keep them plain. */
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

export function stackOptionsFromConfig (cfg: StackConfigInput, log: (l: string) => void = (l) => { process.stdout.write(l + '\n') }): StackOptions {
  const broker = cfg.kafka.brokers[0]
  if (broker === undefined) throw invalid('kafka.brokers', 'must list at least one broker (host:port)')
  const kafka = hostPort('kafka.brokers[0]', broker)

  const db = parseUrl('database.url', cfg.database.url, ['postgres:', 'postgresql:'])
  const database = decodeURIComponent(db.pathname.replace(/^\//, '')) || 'fieldstream'
  const user = decodeURIComponent(db.username) || 'postgres'
  for (const [field, value] of [['database name', database], ['user', user]] as const) {
    if (!PLAIN_IDENTIFIER.test(value)) throw invalid('database.url', `${field} "${value}" must match ${PLAIN_IDENTIFIER.source}`)
  }

  const mq = parseUrl('mqtt.url', cfg.mqtt.url, ['mqtt:', 'tcp:'])
  if (cfg.stack.dataDir.trim() === '') throw invalid('stack.dataDir', 'must not be empty')

  const opts: StackOptions = {
    dataDir: resolve(cfg.stack.dataDir),
    kafka: { ...kafka, controllerPort: kafka.port + 1 },
    postgres: { ...loopback('database.url', db.hostname, Number(db.port || 5432)), database, user },
    mqtt: loopback('mqtt.url', mq.hostname, Number(mq.port || 1883)),
    log,
  }
  if (opts.kafka.controllerPort > 65535) throw invalid('kafka.brokers[0]', `port ${kafka.port} leaves no room for the controller port (port + 1)`)
  return opts
}

function hostPort (field: string, value: string): { host: string; port: number } {
  const m = /^([^:]+):(\d+)$/.exec(value.trim())
  if (m === null) throw invalid(field, `"${value}" must be host:port`)
  return loopback(field, m[1] ?? '', Number(m[2]))
}

function parseUrl (field: string, value: string, protocols: string[]): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalid(field, `"${value}" is not a URL`)
  }
  if (!protocols.includes(url.protocol)) throw invalid(field, `"${value}" must use ${protocols.join(' or ')}//`)
  return url
}

// The stack starts services on this machine only; a remote host in the config means "use that
// server", which `stack up` cannot provide, so say so rather than bind something else.
function loopback (field: string, host: string, port: number): { host: string; port: number } {
  if (!LOOPBACK.has(host)) throw invalid(field, `host "${host}" is not local: fieldstream stack only runs services on 127.0.0.1`)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(field, `port ${port} is out of range 1-65535`)
  return { host: '127.0.0.1', port }
}

function invalid (field: string, why: string): StackError {
  return new StackError('FS_STACK_CONFIG_INVALID', `${field} ${why}`)
}
