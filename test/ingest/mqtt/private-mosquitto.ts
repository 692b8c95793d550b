// A private Mosquitto (the Debian binary `stack up` installs) for tests that need broker
// settings the shared one on 1883 does not have: a TLS listener and a password file. It runs in
// the foreground as our child and is stopped by pid in the test's teardown.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { tcpReachable } from '../../../stack/process.js'
import type { TestPki } from '../certs.js'

export interface PrivateMosquitto {
  /** mqtts:// listener: server certificate from the test CA, password required. */
  tlsUrl: string
  /** mqtt:// listener on the same broker, password required. */
  plainUrl: string
  logFile: string
  log (): string
  stop (): Promise<void>
}

export interface MosquittoUser { name: string, password: string }

function mosquittoBinary (): string {
  for (const bin of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto']) {
    try {
      execFileSync(bin, ['-h'], { stdio: 'ignore' })
      return bin
    } catch (err) {
      // `mosquitto -h` exits 3 after printing its help: it exists.
      if ((err as { status?: number }).status === 3) return bin
    }
  }
  throw new Error('mosquitto is not installed (run `node bin/fieldstream.js stack up`, which installs the Debian package)')
}

export async function privateMosquitto (ports: { tls: number, plain: number }, pki: TestPki, users: readonly MosquittoUser[]): Promise<PrivateMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-private-mosquitto-'))
  chmodSync(dir, 0o755)
  const passwd = join(dir, 'passwd')
  writeFileSync(passwd, '')
  for (const u of users) execFileSync('mosquitto_passwd', ['-b', passwd, u.name, u.password], { stdio: 'ignore' })
  chmodSync(passwd, 0o644) // the broker drops to the mosquitto user before reading it
  const logFile = join(dir, 'mosquitto.log')
  closeSync(openSync(logFile, 'a'))
  chmodSync(logFile, 0o666)
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `per_listener_settings false
allow_anonymous false
password_file ${passwd}
persistence false
log_dest file ${logFile}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true

listener ${ports.plain} 127.0.0.1

listener ${ports.tls} 127.0.0.1
cafile ${pki.caFile}
certfile ${pki.serverCertFile}
keyfile ${pki.serverKeyFile}
`)
  const child = spawn(mosquittoBinary(), ['-c', conf], { stdio: 'ignore' })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  let alive = true
  void exited.then(() => { alive = false })
  const deadline = Date.now() + 10_000
  while (!(await tcpReachable('127.0.0.1', ports.tls, 500)) || !(await tcpReachable('127.0.0.1', ports.plain, 500))) {
    if (!alive || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`private mosquitto did not start on ${ports.plain}/${ports.tls}:\n${readFileSync(logFile, 'utf8')}`)
    }
    await sleep(100)
  }
  return {
    tlsUrl: `mqtts://127.0.0.1:${ports.tls}`,
    plainUrl: `mqtt://127.0.0.1:${ports.plain}`,
    logFile,
    log: () => readFileSync(logFile, 'utf8'),
    async stop () {
      if (!alive) return
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
      if (alive) child.kill('SIGKILL')
    },
  }
}
