// Independent Modbus peers for interop tests: pymodbus (Debian python3-pymodbus 3.0) serving
// test/fixtures/modbus/interop-map.json over TCP or RTU, and socat pty pairs standing in for a
// serial line. Missing tools are installed with apt-get; if that fails the test fails, naming them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoPath } from '../../helpers/repo.js'
import { until } from './helpers.js'

// Debian's interpreter, where python3-pymodbus installs (a pyenv python3 on PATH would not see it).
const PYTHON = '/usr/bin/python3'

export interface MapField { name: string, table: string, address: number, type?: string, byteOrder?: string, bit?: number, raw?: number, value: number | boolean }
export const interopMap = JSON.parse(readFileSync(repoPath('test/fixtures/modbus/interop-map.json'), 'utf8')) as { unitId: number, fields: MapField[] }

/** The map's fields as collector field options (without the expected values). */
export function interopFields (): Array<Omit<MapField, 'value' | 'raw'>> {
  return interopMap.fields.map(({ value: _value, raw: _raw, ...f }) => f)
}

/** Undefined when `check` passes, possibly after `apt-get install pkg`; otherwise why not. */
export function ensureDebianPackage (pkg: string, check: () => boolean): string | undefined {
  if (check()) return undefined
  const r = spawnSync('apt-get', ['install', '-y', '-qq', pkg], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  if (check()) return undefined
  return `${pkg} is required for this interop test and could not be installed: \`apt-get install ${pkg}\` ${r.error?.message ?? `exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').at(-1)}`}`
}

export const havePymodbus = (): boolean => spawnSync(PYTHON, ['-c', 'import pymodbus'], { stdio: 'ignore' }).status === 0
export const haveSocat = (): boolean => spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0

/** Start a child and wait for `ready` in its output. */
async function startChild (cmd: string, args: string[], ready: string, what: string): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  await until(() => out.includes(ready) || child.exitCode !== null, 15_000, what).catch(() => {})
  if (!out.includes(ready)) {
    child.kill()
    throw new Error(`${what} did not start: ${out.trim()}`)
  }
  return child
}

/** pymodbus serving the interop map: `target` is a TCP port or a serial device. */
export async function startPymodbus (target: number | string): Promise<ChildProcess> {
  const args = typeof target === 'number' ? [String(target)] : ['--rtu', target]
  return await startChild(PYTHON, [repoPath('test/fixtures/modbus/pymodbus_server.py'), ...args], `READY ${target}`, 'pymodbus server')
}

/** A pair of connected ptys (a null-modem cable): returns both ends and the socat process. */
export async function startPtyPair (): Promise<{ a: string, b: string, socat: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'fieldstream-pty-'))
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const socat = await startChild('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], 'starting data transfer loop', 'socat pty pair')
  return { a, b, socat }
}
