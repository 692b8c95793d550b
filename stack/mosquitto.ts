// Mosquitto 2.0 (Debian package) as the local MQTT broker, with its own config, persistence, log
// and pid file under the data folder instead of Debian's /etc and /var.
import { chownSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { aptInstall } from './apt.js'
import { StackError } from './errors.js'
import type { StackOptions } from './options.js'
import { mqttConnack } from './probes.js'
import { isRoot, osUser, ownedPid, removePidFile, runToLog, seconds, signalAndWait, tail, waitUntil, which } from './process.js'
import type { Service } from './service.js'

const PACKAGE = 'mosquitto'
/** Started as root, mosquitto drops to this account (its Debian default), so it must own its files. */
const OS_USER = 'mosquitto'
const TIMEOUTS = { readyMs: 15_000, stopMs: 10_000, killMs: 5_000 } as const

export function createMosquitto (opts: StackOptions): Service {
  const { host, port } = opts.mqtt
  const dir = join(opts.dataDir, 'mosquitto')
  const paths = {
    config: join(dir, 'mosquitto.conf'),
    persistence: join(dir, 'data'),
    logFile: join(dir, 'mosquitto.log'),
    pidFile: join(dir, 'mosquitto.pid'),
  }
  const binary = (): string | undefined => which('mosquitto', ['/usr/sbin'])
  const managedPid = (): number | undefined => ownedPid(paths.pidFile, ['mosquitto', paths.config])
  const ready = async (): Promise<boolean> => (await mqttConnack(host, port)) === 0

  function prepareFolder (): void {
    mkdirSync(paths.persistence, { recursive: true })
    // Created here, so the broker (already switched to its own user) can append to it.
    closeSync(openSync(paths.logFile, 'a'))
    writeFileSync(paths.config, `# Written by \`fieldstream stack up\` on every start; edit stack/mosquitto.ts instead.
listener ${port} ${host}
allow_anonymous true
persistence true
persistence_location ${paths.persistence}/
pid_file ${paths.pidFile}
log_dest file ${paths.logFile}
log_timestamp_format %Y-%m-%dT%H:%M:%S
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
`)
    const account = isRoot() ? osUser(OS_USER) : undefined
    if (account === undefined) return
    for (const p of [dir, paths.persistence, paths.logFile, paths.config]) chownSync(p, account.uid, account.gid)
  }

  return {
    name: 'mqtt',
    host,
    port,
    logFile: paths.logFile,
    managedPid,
    ready,

    async start () {
      if (binary() === undefined) await aptInstall('mqtt', PACKAGE, opts.log)
      const bin = binary()
      if (bin === undefined) throw new StackError('FS_STACK_MISSING_TOOL', `mqtt: \`mosquitto\` is still not on PATH or in /usr/sbin after installing ${PACKAGE}`)
      prepareFolder()
      opts.log('mqtt: starting mosquitto')
      const started = Date.now()
      // -d: mosquitto forks into the background itself and writes pid_file; a bad config fails before the fork.
      const code = await runToLog(bin, ['-c', paths.config, '-d'], paths.logFile)
      if (code !== 0) throw new StackError('FS_STACK_START_FAILED', `mqtt: mosquitto exited with ${code}; see ${paths.logFile}:\n${tail(paths.logFile)}`)
      if (await waitUntil(ready, { timeoutMs: TIMEOUTS.readyMs }) !== 'ready') {
        throw new StackError('FS_STACK_TIMEOUT', `mqtt: no CONNACK from ${host}:${port} after ${TIMEOUTS.readyMs / 1000} s; see ${paths.logFile}:\n${tail(paths.logFile)}`)
      }
      opts.log(`mqtt: ready on ${host}:${port} (${seconds(started)})`)
    },

    async stop (pid) {
      if (!await signalAndWait(pid, 'SIGTERM', TIMEOUTS.stopMs) && !await signalAndWait(pid, 'SIGKILL', TIMEOUTS.killMs)) {
        throw new StackError('FS_STACK_TIMEOUT', `mqtt: mosquitto pid ${pid} did not exit; see ${paths.logFile}`)
      }
      removePidFile(paths.pidFile)
    },
  }
}
