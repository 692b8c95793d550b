// Apache Kafka in KRaft mode, one JVM acting as broker and controller. There is no Debian or npm
// package of the broker: its jars come from Maven Central through stack/kafka/pom.xml.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StackError } from './errors.js'
import type { StackOptions } from './options.js'
import { kafkaMetadata } from './probes.js'
import { isAlive, ownedPid, removePidFile, run, seconds, signalAndWait, spawnDetached, tail, waitUntil, which, writePidFile } from './process.js'
import type { Service } from './service.js'

/** Resolved from dist/stack/kafka.js: the committed pom sits in the source tree, not in dist/. */
const POM = fileURLToPath(new URL('../../stack/kafka/pom.xml', import.meta.url))

const TIMEOUTS = {
  /** JVM start, storage load and joining its own one-voter quorum: ~5-10 s here, slower on a cold disk. */
  readyMs: 120_000,
  /** Controlled shutdown flushes and closes every partition log. */
  stopMs: 30_000,
  killMs: 5_000,
} as const

/** Heap for the broker; the page cache, not the heap, holds the log data. */
const JVM_ARGS = ['-Xmx1g', '-Xms1g', '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true']

export function createKafka (opts: StackOptions): Service {
  const { host, port, controllerPort } = opts.kafka
  const dir = join(opts.dataDir, 'kafka')
  const paths = {
    libs: join(dir, 'libs'),
    /** Written after a complete copy; holds the pom's hash, so editing the pom re-resolves. */
    libsStamp: join(dir, 'libs', '.fieldstream-complete'),
    logDir: join(dir, 'data'),
    properties: join(dir, 'server.properties'),
    log4j: join(dir, 'log4j2.properties'),
    logFile: join(dir, 'server.log'),
    pidFile: join(dir, 'kafka.pid'),
  }
  const java = (): string => {
    const bin = which('java')
    if (bin === undefined) throw new StackError('FS_STACK_MISSING_TOOL', 'kafka: `java` (17 or newer) is not on PATH; install a JDK, e.g. `apt-get install -y openjdk-17-jre-headless`')
    return bin
  }
  const javaArgs = (main: string, ...args: string[]): string[] =>
    [...JVM_ARGS, `-Dlog4j2.configurationFile=${paths.log4j}`, '-cp', `${paths.libs}/*`, main, ...args]

  const managedPid = (): number | undefined => ownedPid(paths.pidFile, ['kafka.Kafka', paths.properties])
  const ready = async (): Promise<boolean> => (await kafkaMetadata(host, port)).brokers.length > 0

  const pomHash = (): string => createHash('sha256').update(readFileSync(POM)).digest('hex')
  const jarsResolved = (): boolean => readIfExists(paths.libsStamp) === pomHash()

  async function resolveJars (): Promise<void> {
    const mvn = which('mvn')
    if (mvn === undefined) throw new StackError('FS_STACK_MISSING_TOOL', 'kafka: `mvn` (Apache Maven) is not on PATH; it resolves the broker jars from Maven Central. Install it, e.g. `apt-get install -y maven`')
    // A half-copied folder (interrupted run, older pom) must not mix jar versions on the classpath.
    rmSync(paths.libs, { recursive: true, force: true })
    const res = await run(mvn, ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${paths.libs}`])
    if (res.code !== 0) {
      throw new StackError('FS_STACK_INSTALL_FAILED', `kafka: Maven could not resolve the broker jars (${POM}, exit ${res.code}); check that Maven Central is reachable:\n${(res.stdout + res.stderr).trim().split('\n').slice(-20).join('\n')}`)
    }
    writeFileSync(paths.libsStamp, pomHash())
  }

  function writeConfig (): void {
    writeFileSync(paths.properties, serverProperties({ host, port, controllerPort, logDir: paths.logDir }))
    writeFileSync(paths.log4j, LOG4J2_PROPERTIES)
  }

  // KRaft needs its log dir formatted with a cluster id once; meta.properties marks that it was.
  async function formatOnce (): Promise<void> {
    if (existsSync(join(paths.logDir, 'meta.properties'))) return
    const args = javaArgs('kafka.tools.StorageTool', 'format', '--config', paths.properties, '--cluster-id', clusterId(), '--ignore-formatted')
    const res = await run(java(), args)
    if (res.code !== 0) {
      throw new StackError('FS_STACK_START_FAILED', `kafka: formatting the KRaft storage in ${paths.logDir} failed (exit ${res.code}):\n${(res.stdout + res.stderr).trim()}`)
    }
  }

  return {
    name: 'kafka',
    host,
    port,
    logFile: paths.logFile,
    managedPid,
    ready,

    async start () {
      const javaBin = java()
      mkdirSync(paths.logDir, { recursive: true })
      if (jarsResolved()) {
        opts.log('kafka: starting')
      } else {
        opts.log('kafka: starting (first run resolves broker jars from Maven Central, ~1 min)')
        await resolveJars()
      }
      writeConfig()
      await formatOnce()
      const started = Date.now()
      const pid = await spawnDetached(javaBin, javaArgs('kafka.Kafka', paths.properties), paths.logFile)
      writePidFile(paths.pidFile, pid)
      const outcome = await waitUntil(ready, { timeoutMs: TIMEOUTS.readyMs, alive: () => isAlive(pid) })
      if (outcome === 'exited') {
        removePidFile(paths.pidFile)
        throw new StackError('FS_STACK_START_FAILED', `kafka: the broker exited during start-up; see ${paths.logFile}:\n${tail(paths.logFile)}`)
      }
      if (outcome === 'timeout') {
        throw new StackError('FS_STACK_TIMEOUT', `kafka: no Metadata answer on ${host}:${port} after ${TIMEOUTS.readyMs / 1000} s (pid ${pid} still running; \`fieldstream stack down\` stops it); see ${paths.logFile}`)
      }
      opts.log(`kafka: ready on ${host}:${port} (${seconds(started)})`)
    },

    async stop (pid) {
      if (!await signalAndWait(pid, 'SIGTERM', TIMEOUTS.stopMs)) {
        opts.log(`kafka: still running ${TIMEOUTS.stopMs / 1000} s after SIGTERM; sending SIGKILL`)
        if (!await signalAndWait(pid, 'SIGKILL', TIMEOUTS.killMs)) {
          throw new StackError('FS_STACK_TIMEOUT', `kafka: pid ${pid} survived SIGKILL; see ${paths.logFile}`)
        }
      }
      removePidFile(paths.pidFile)
    },
  }
}

/** Single-node broker + controller on loopback; every replication setting is 1 because there is one node. */
function serverProperties (p: { host: string; port: number; controllerPort: number; logDir: string }): string {
  return `# Written by \`fieldstream stack up\` on every start; edit stack/kafka.ts instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${p.host}:${p.controllerPort}
listeners=PLAINTEXT://${p.host}:${p.port},CONTROLLER://${p.host}:${p.controllerPort}
advertised.listeners=PLAINTEXT://${p.host}:${p.port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${p.logDir}
# Topics are created on purpose by fieldstream (schemas/ names them); a typo must fail, not create one.
auto.create.topics.enable=false
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# One consumer per group is the common local case: do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0
`
}

/** The broker logs to stdout, which spawnDetached appends to server.log with any JVM error. */
const LOG4J2_PROPERTIES = `# Written by \`fieldstream stack up\`.
status = warn
# Kafka logs its controlled shutdown from its own JVM shutdown hook; log4j's hook would close the
# appender first and cut those lines off.
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
`

/** Kafka's cluster ids are 16 random bytes in unpadded base64url; a leading '-' would read as a CLI flag. */
function clusterId (): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

function readIfExists (file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}
