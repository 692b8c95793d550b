// Brings the local services up and down, idempotently, and never touches one it did not start:
// a service counts as ours only while our pid file names a live process running the expected program.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { StackError } from './errors.js'
import { createKafka } from './kafka.js'
import { createMosquitto } from './mosquitto.js'
import type { StackOptions } from './options.js'
import { createPostgres } from './postgres.js'
import { seconds, signalAndWait, tcpReachable, waitUntil, withLock } from './process.js'
import { SERVICE_NAMES, type Service, type ServiceName, type ServiceStatus } from './service.js'

const FACTORIES: Record<ServiceName, (opts: StackOptions) => Service> = {
  kafka: createKafka,
  postgres: createPostgres,
  mqtt: createMosquitto,
}

/** How long `up` waits for a managed process that an earlier `up` left still starting. */
const STARTING_WAIT_MS = 120_000
/** After SIGKILL the kernel frees the process at once; this only bounds the wait for the reaper. */
const KILL_WAIT_MS = 5_000
/** Longest start (first-run jar resolution plus Kafka's readiness wait) another process may be in. */
const LOCK_WAIT_MS = 300_000

/** Starts every service in `only` (default all) that is not already answering; returns the final status. */
export async function stackUp (opts: StackOptions, only: readonly ServiceName[] = SERVICE_NAMES): Promise<ServiceStatus[]> {
  // The services are independent, so they start side by side; one failing does not stop the others.
  const results = await Promise.allSettled(only.map((name) => startService(name, opts)))
  const errors = results.flatMap((r) => r.status === 'rejected' ? [r.reason as unknown] : [])
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) {
    const first = errors.find((e): e is StackError => e instanceof StackError)
    throw new StackError(first?.code ?? 'FS_STACK_START_FAILED', errors.map((e) => (e as Error).message).join('\n\n'), { cause: errors })
  }
  return stackStatus(opts, only)
}

/** Stops the services in `only` (default all) that fieldstream started; leaves anything else alone. */
export async function stackDown (opts: StackOptions, only: readonly ServiceName[] = SERVICE_NAMES): Promise<void> {
  const results = await Promise.allSettled(only.map((name) => stopService(name, opts)))
  const failed = results.find((r) => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}

export async function stackStatus (opts: StackOptions, only: readonly ServiceName[] = SERVICE_NAMES): Promise<ServiceStatus[]> {
  return Promise.all(only.map((name) => serviceStatus(FACTORIES[name](opts))))
}

/** Idempotent start of one service: reports and returns if it already answers, ours or not. */
export async function startService (name: ServiceName, opts: StackOptions): Promise<void> {
  await withServiceLock(name, opts, () => start(FACTORIES[name](opts), opts))
}

async function start (svc: Service, opts: StackOptions): Promise<void> {
  const name = svc.name
  const st = await serviceStatus(svc)
  const where = `${svc.host}:${svc.port}`
  if (st.managed && st.up) {
    opts.log(`${name}: already running on ${where} (pid ${st.pid})`)
  } else if (!st.managed && st.reachable) {
    opts.log(`${name}: already reachable on ${where} (not managed by fieldstream)${st.up ? '' : `; note: it does not answer as ${name}`}`)
  } else if (st.pid !== undefined) {
    const pid = st.pid
    opts.log(`${name}: already starting (pid ${pid}); waiting until it answers`)
    const started = Date.now()
    const outcome = await waitUntil(svc.ready, { timeoutMs: STARTING_WAIT_MS, alive: () => svc.managedPid() === pid })
    if (outcome !== 'ready') {
      throw new StackError(outcome === 'timeout' ? 'FS_STACK_TIMEOUT' : 'FS_STACK_START_FAILED', `${name}: pid ${pid} ${outcome === 'timeout' ? 'still does not answer' : 'exited'} on ${where}; see ${svc.logFile}`)
    }
    opts.log(`${name}: ready on ${where} (${seconds(started)})`)
  } else {
    await svc.start()
  }
}

/** Graceful stop of one service if fieldstream started it; otherwise reports and leaves it alone. */
export async function stopService (name: ServiceName, opts: StackOptions): Promise<void> {
  await withServiceLock(name, opts, () => stop(FACTORIES[name](opts), opts))
}

async function stop (svc: Service, opts: StackOptions): Promise<void> {
  const name = svc.name
  const pid = svc.managedPid()
  const where = `${svc.host}:${svc.port}`
  if (pid === undefined) {
    opts.log(await tcpReachable(svc.host, svc.port)
      ? `${name}: not managed by fieldstream; leaving ${where} alone`
      : `${name}: not running`)
    return
  }
  opts.log(`${name}: stopping (pid ${pid})`)
  const started = Date.now()
  await svc.stop(pid)
  opts.log(`${name}: stopped (${seconds(started)})`)
}

/**
 * Sends `signal` to a service fieldstream started (fault tests: SIGKILL Kafka, SIGSTOP PostgreSQL).
 * With SIGKILL it also waits until the process is gone, so a following startService starts afresh.
 */
export async function killService (name: ServiceName, signal: NodeJS.Signals, opts: StackOptions): Promise<number> {
  const svc = FACTORIES[name](opts)
  const pid = svc.managedPid()
  if (pid === undefined) throw new StackError('FS_STACK_NOT_MANAGED', `${name}: no running process started by fieldstream to send ${signal} to`)
  if (signal === 'SIGKILL') {
    if (!await signalAndWait(pid, signal, KILL_WAIT_MS)) throw new StackError('FS_STACK_TIMEOUT', `${name}: pid ${pid} survived SIGKILL`)
  } else {
    process.kill(pid, signal)
  }
  opts.log(`${name}: sent ${signal} to pid ${pid}`)
  return pid
}

/** One start or stop per service at a time, across processes; a waiter then finds it already up. */
function withServiceLock (name: ServiceName, opts: StackOptions, body: () => Promise<void>): Promise<void> {
  mkdirSync(opts.dataDir, { recursive: true })
  return withLock(join(opts.dataDir, `${name}.lock`), LOCK_WAIT_MS, body)
}

async function serviceStatus (svc: Service): Promise<ServiceStatus> {
  const pid = svc.managedPid()
  const reachable = await tcpReachable(svc.host, svc.port)
  const up = reachable && await svc.ready().catch(() => false)
  return { name: svc.name, host: svc.host, port: svc.port, up, reachable, managed: pid !== undefined, pid, logFile: svc.logFile }
}

/** One line per service for `fieldstream stack status`. */
export function formatStatus (st: ServiceStatus): string {
  const state = st.up ? 'up' : st.managed ? 'starting' : st.reachable ? 'port busy' : 'down'
  const owner = st.managed ? 'managed' : st.reachable ? 'not managed' : ''
  const pid = st.pid !== undefined ? `pid ${st.pid}` : ''
  const log = st.managed ? `log ${st.logFile}` : ''
  return [st.name.padEnd(9), state.padEnd(10), owner.padEnd(12), `${st.host}:${st.port}`.padEnd(16), pid.padEnd(10), log].join(' ').trimEnd()
}
