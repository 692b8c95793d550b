// Process plumbing shared by the three services: running short commands, starting long-lived ones
// detached (they outlive the CLI), pid files, "is this pid still our program", and waiting.
import { spawn } from 'node:child_process'
import { accessSync, closeSync, constants, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { StackError } from './errors.js'

export interface RunResult { code: number; stdout: string; stderr: string }

/** Runs a short command to completion, capturing its output (for mvn, initdb, psql, apt-get). */
export function run (cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code, signal) => { resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr }) })
  })
}

/**
 * Runs a command whose output goes to a log file, resolving with its exit code. For launchers that
 * fork a daemon (mosquitto -d): the daemon inherits the file, not a pipe we would wait on forever.
 */
export function runToLog (cmd: string, args: string[], logFile: string): Promise<number> {
  const fd = openSync(logFile, 'a')
  return new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] })
    child.on('error', reject)
    child.on('exit', (code) => { resolve(code ?? 1) })
  }).finally(() => { closeSync(fd) })
}

/** Starts a long-lived program in its own session with output appended to `logFile`; returns its pid. */
export function spawnDetached (cmd: string, args: string[], logFile: string): Promise<number> {
  const fd = openSync(logFile, 'a')
  return new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true })
    child.on('error', reject)
    child.on('spawn', () => {
      child.unref()
      resolve(child.pid ?? 0)
    })
  }).finally(() => { closeSync(fd) })
}

export function readPidFile (file: string): number | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  // PostgreSQL's postmaster.pid has the pid on its first line and more lines after it.
  const pid = Number.parseInt(text.split('\n', 1)[0] ?? '', 10)
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

export function writePidFile (file: string, pid: number): void {
  writeFileSync(file, `${pid}\n`)
}

export function removePidFile (file: string): void {
  rmSync(file, { force: true })
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0 but is not running.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/**
 * The pid from `pidFile` if that process is alive and its command line contains every `marker`.
 * Markers guard against pid reuse: a stale pid file must never make us signal an unrelated process.
 */
export function ownedPid (pidFile: string, markers: string[]): number | undefined {
  const pid = readPidFile(pidFile)
  if (pid === undefined || !isAlive(pid)) return undefined
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return undefined
  }
  return markers.every((m) => cmdline.includes(m)) ? pid : undefined
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function tcpReachable (host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => { done(false) })
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

export type WaitOutcome = 'ready' | 'timeout' | 'exited'

/**
 * Polls `probe` until it resolves true. Stops early with 'exited' when `alive` says the process
 * died, so a crash is reported at once instead of after the whole timeout.
 */
export async function waitUntil (probe: () => Promise<boolean>, opts: { timeoutMs: number; alive?: () => boolean; intervalMs?: number }): Promise<WaitOutcome> {
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return 'ready'
    if (opts.alive !== undefined && !opts.alive()) return 'exited'
    if (Date.now() >= deadline) return 'timeout'
    await sleep(opts.intervalMs ?? 250)
  }
}

/**
 * Sends `signal` and waits until the process is gone; false if it is still running after `timeoutMs`.
 * "Gone" means reaped: a dying JVM's main thread shows as a zombie while its other threads still
 * hold the listening sockets, and PostgreSQL refuses to start while the old postmaster pid exists.
 * A zombie nobody reaps by the deadline is dead all the same, so that still counts as stopped.
 */
export async function signalAndWait (pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(pid, signal)
  } catch {
    return !isAlive(pid)
  }
  const reaped = async (): Promise<boolean> => {
    try {
      process.kill(pid, 0)
      return false
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH'
    }
  }
  return (await waitUntil(reaped, { timeoutMs, intervalMs: 100 })) === 'ready' || !isAlive(pid)
}

/**
 * Runs `body` holding an exclusive lock file (created with O_EXCL, holding our pid). Two `stack up`s
 * at once (CI script and a test, say) would otherwise both start the same broker. A lock left by a
 * dead process is taken over.
 */
export async function withLock<T> (file: string, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = readPidFile(file)
    // No pid yet: the holder is between creating and writing the file (or died right there).
    const stale = holder === undefined ? Date.now() - mtimeMs(file) > 10_000 : !isAlive(holder)
    if (stale) {
      removePidFile(file)
      continue
    }
    if (Date.now() >= deadline) throw new StackError('FS_STACK_TIMEOUT', `lock ${file} still held by pid ${holder} after ${timeoutMs / 1000} s`)
    await sleep(200)
  }
  try {
    return await body()
  } finally {
    removePidFile(file)
  }
}

function mtimeMs (file: string): number {
  try {
    return statSync(file).mtimeMs
  } catch {
    return 0
  }
}

/** Absolute path of `cmd` on PATH (plus `extraDirs`), or undefined. */
export function which (cmd: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs]
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, cmd)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this folder
    }
  }
  return undefined
}

/** Last `lines` lines of a log file, for error messages ("" when unreadable). */
export function tail (file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

/** uid/gid of a local account (from /etc/passwd), or undefined when it does not exist. */
export function osUser (name: string): { uid: number; gid: number } | undefined {
  let passwd: string
  try {
    passwd = readFileSync('/etc/passwd', 'utf8')
  } catch {
    return undefined
  }
  const fields = passwd.split('\n').find((line) => line.startsWith(`${name}:`))?.split(':')
  if (fields === undefined) return undefined
  return { uid: Number(fields[2]), gid: Number(fields[3]) }
}

export const isRoot = (): boolean => process.getuid?.() === 0

export function seconds (sinceMs: number): string {
  return `${((Date.now() - sinceMs) / 1000).toFixed(1)} s`
}
