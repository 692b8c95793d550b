// The comparison clients (kafkajs, node-rdkafka) live in bench/kafka/node_modules, installed
// on demand from bench/kafka/package.json: they are not project dependencies, so `npm ci` and
// CI never build librdkafka. @platformatic/kafka, the project's client, is always present.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** bench/kafka in the source tree (this file runs from dist/bench/kafka/). */
export const BENCH_KAFKA_DIR = fileURLToPath(new URL('../../../bench/kafka/', import.meta.url))
const MODULES = join(BENCH_KAFKA_DIR, 'node_modules')

export type OptionalClient = 'kafkajs' | 'rdkafka'

/** Is the client installed (for node-rdkafka: is its native addon built)? */
export function isInstalled (client: OptionalClient): boolean {
  if (client === 'kafkajs') return existsSync(join(MODULES, 'kafkajs', 'package.json'))
  const release = join(MODULES, 'node-rdkafka', 'build', 'Release')
  return existsSync(release) && readdirSync(release).some(f => f.endsWith('.node'))
}

/** `require` rooted at bench/kafka, so the clients resolve from bench/kafka/node_modules. */
export function benchRequire (id: string): unknown {
  return createRequire(join(BENCH_KAFKA_DIR, 'package.json'))(id)
}

function hasSystemLibrdkafka (): boolean {
  return spawnSync('pkg-config', ['--exists', 'rdkafka'], { stdio: 'ignore' }).status === 0
}

/**
 * Install kafkajs and node-rdkafka into bench/kafka/node_modules when either is missing.
 * node-rdkafka links the system librdkafka (`BUILD_LIBRDKAFKA=0`, ~40 s) when pkg-config finds
 * one (Debian `librdkafka-dev`); otherwise it builds the bundled librdkafka (~3.5 min on 2 cores).
 * Returns the clients still missing afterwards, each with the reason.
 */
export function ensureBenchClients (log: (line: string) => void): Map<OptionalClient, string> {
  const missing = (['kafkajs', 'rdkafka'] as const).filter(c => !isInstalled(c))
  const failed = new Map<OptionalClient, string>()
  if (missing.length === 0) return failed
  const system = hasSystemLibrdkafka()
  const env = { ...process.env, ...(system ? { BUILD_LIBRDKAFKA: '0' } : {}) }
  log(`bench kafka: installing ${missing.join(', ')} into ${MODULES} (npm install, once; not project dependencies)`)
  log(system
    ? 'bench kafka: node-rdkafka links the system librdkafka (pkg-config rdkafka found; BUILD_LIBRDKAFKA=0), about 40 s'
    : 'bench kafka: no system librdkafka (apt-get install librdkafka-dev makes this faster): node-rdkafka builds its bundled librdkafka, about 3.5 min on 2 cores')
  const started = Date.now()
  const npm = spawnSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--omit=dev'], { cwd: BENCH_KAFKA_DIR, env, stdio: ['ignore', 'inherit', 'inherit'] })
  log(`bench kafka: npm install exited ${npm.status ?? npm.signal} after ${Math.round((Date.now() - started) / 1000)} s`)
  for (const client of missing) {
    if (isInstalled(client)) continue
    failed.set(client, client === 'rdkafka'
      ? `node-rdkafka is not built (no ${join(MODULES, 'node-rdkafka/build/Release/*.node')}); npm install exited ${npm.status ?? npm.signal}`
      : `kafkajs is not installed in ${MODULES}; npm install exited ${npm.status ?? npm.signal}`)
  }
  return failed
}
