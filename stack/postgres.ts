// PostgreSQL 15 as a private cluster under the data folder (not Debian's /var/lib cluster), run by
// the `postgres` OS user because the server refuses to run as root.
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { aptInstall } from './apt.js'
import { StackError } from './errors.js'
import type { StackOptions } from './options.js'
import { isRoot, osUser, ownedPid, run, seconds, tcpReachable, waitUntil, type RunResult } from './process.js'
import type { Service } from './service.js'

/** Where Debian's postgresql-15 package puts the server binaries (not on PATH). */
const BIN = '/usr/lib/postgresql/15/bin'
const PACKAGE = 'postgresql-15'
const OS_USER = 'postgres'
/** The superuser initdb creates; trust on loopback lets it in without a password. */
const SUPERUSER = 'postgres'
/** pg_ctl's own wait for start and stop, seconds. */
const PG_CTL_WAIT_S = 60
/** How long a start waits for the backends of a killed server to exit. */
const ORPHAN_WAIT_MS = 15_000

/**
 * Server settings, written to fieldstream.conf on every start. Sized for bulk COPY ingest: a large
 * buffer pool, checkpoints far apart with compressed WAL. fsync and synchronous_commit stay on: a
 * batch counts as stored (and its Kafka offsets get committed) only once it is durable.
 */
const SETTINGS: Record<string, string> = {
  shared_buffers: '1GB',
  max_wal_size: '8GB',
  checkpoint_timeout: '15min',
  wal_compression: 'on',
  fsync: 'on',
  synchronous_commit: 'on',
  log_line_prefix: '%m [%p] %q%u@%d ',
}

/** Passwordless on 127.0.0.1 only; the socket (inside the data folder) is for the postgres OS user. */
const PG_HBA = `# Written by \`fieldstream stack up\`.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 peer
host    all       all   127.0.0.1/32  trust
`

export function createPostgres (opts: StackOptions): Service {
  const { host, port, database, user } = opts.postgres
  const dir = join(opts.dataDir, 'postgres')
  const paths = {
    data: join(dir, 'data'),
    socketDir: join(dir, 'run'),
    logFile: join(dir, 'postgres.log'),
  }
  const bin = (name: string): string => join(BIN, name)
  // As root, every server-side command runs as the postgres user; as anyone else, as ourselves.
  const asServerUser = (cmd: string, args: string[]): Promise<RunResult> =>
    isRoot() ? run('runuser', ['-u', OS_USER, '--', cmd, ...args]) : run(cmd, args)
  const psql = (sql: string): Promise<RunResult> =>
    run(bin('psql'), ['-X', '-q', '-t', '-A', '-h', host, '-p', String(port), '-U', SUPERUSER, '-d', 'postgres', '-c', sql])

  const managedPid = (): number | undefined => ownedPid(join(paths.data, 'postmaster.pid'), ['postgres', paths.data])
  const ready = async (): Promise<boolean> => existsSync(bin('pg_isready'))
    ? (await run(bin('pg_isready'), ['-q', '-h', host, '-p', String(port), '-U', SUPERUSER, '-d', 'postgres'])).code === 0
    : tcpReachable(host, port)

  async function ensureBinaries (): Promise<void> {
    const needed = ['initdb', 'pg_ctl', 'pg_isready', 'psql', 'createdb']
    if (needed.every((b) => existsSync(bin(b)))) return
    await aptInstall('postgres', PACKAGE, opts.log)
    const missing = needed.filter((b) => !existsSync(bin(b)))
    if (missing.length > 0) throw new StackError('FS_STACK_MISSING_TOOL', `postgres: ${missing.join(', ')} still missing from ${BIN} after installing ${PACKAGE}`)
  }

  /** As root: the folder must belong to the postgres user, and that user must be able to reach it. */
  async function ownFolder (): Promise<void> {
    mkdirSync(paths.socketDir, { recursive: true })
    if (!isRoot()) return
    const account = osUser(OS_USER)
    if (account === undefined) throw new StackError('FS_STACK_MISSING_TOOL', `postgres: there is no \`${OS_USER}\` OS user to run the server; reinstall ${PACKAGE} (its install creates it)`)
    for (const p of [dir, paths.socketDir]) chownSync(p, account.uid, account.gid)
    if ((await asServerUser('test', ['-w', dir])).code !== 0) {
      throw new StackError('FS_STACK_CONFIG_INVALID', `postgres: the ${OS_USER} OS user cannot write ${dir} (is a parent folder private?); set FIELDSTREAM_DATA_DIR (stack.dataDir) to a folder it can reach`)
    }
  }

  async function initdbOnce (): Promise<void> {
    if (existsSync(join(paths.data, 'PG_VERSION'))) return
    opts.log(`postgres: creating a cluster in ${paths.data} (initdb)`)
    const res = await asServerUser(bin('initdb'), ['-D', paths.data, '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--auth-local=peer', '--auth-host=trust'])
    if (res.code !== 0) throw new StackError('FS_STACK_START_FAILED', `postgres: initdb failed (exit ${res.code}):\n${res.stderr.trim()}`)
    const conf = join(paths.data, 'postgresql.conf')
    if (!readFileSync(conf, 'utf8').includes('fieldstream.conf')) appendFileSync(conf, "\ninclude_if_exists = 'fieldstream.conf'\n")
  }

  /**
   * After the postmaster is killed, its backends notice and exit on their own within moments; until
   * the last one has, the old shared memory segment is attached and a new postmaster refuses to start.
   */
  async function waitForOrphanedBackends (): Promise<void> {
    let lockFile: string
    try {
      lockFile = readFileSync(join(paths.data, 'postmaster.pid'), 'utf8')
    } catch {
      return
    }
    // Line 7 of postmaster.pid: "<shm key> <shm id>" of the segment the old server created.
    const shmId = lockFile.split('\n')[6]?.trim().split(/\s+/)[1]
    if (shmId === undefined || managedPid() !== undefined) return
    const detached = async (): Promise<boolean> => !readFileSync('/proc/sysvipc/shm', 'utf8').split('\n')
      .some((row) => { const f = row.trim().split(/\s+/); return f[1] === shmId && Number(f[6]) > 0 })
    if (await waitUntil(detached, { timeoutMs: ORPHAN_WAIT_MS }) !== 'ready') {
      throw new StackError('FS_STACK_START_FAILED', `postgres: processes of a previous server in ${paths.data} still hold its shared memory (id ${shmId}) after ${ORPHAN_WAIT_MS / 1000} s; find them with \`ps -u ${OS_USER}\``)
    }
  }

  function writeConfig (): void {
    const lines = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: paths.socketDir,
      ...SETTINGS,
    }
    const text = '# Written by `fieldstream stack up` on every start; edit stack/postgres.ts instead.\n' +
      Object.entries(lines).map(([k, v]) => `${k} = '${v.replaceAll("'", "''")}'`).join('\n') + '\n'
    writeOwned(join(paths.data, 'fieldstream.conf'), text)
    writeOwned(join(paths.data, 'pg_hba.conf'), PG_HBA)
  }

  async function ensureDatabase (): Promise<void> {
    if (user !== SUPERUSER && (await psql(`SELECT 1 FROM pg_roles WHERE rolname = '${user}'`)).stdout.trim() !== '1') {
      // A local development cluster: the app's user may create extensions and run migrations.
      const res = await run(bin('createuser'), ['-h', host, '-p', String(port), '-U', SUPERUSER, '--superuser', user])
      if (res.code !== 0) throw new StackError('FS_STACK_START_FAILED', `postgres: could not create role ${user}:\n${res.stderr.trim()}`)
    }
    const found = await psql(`SELECT 1 FROM pg_database WHERE datname = '${database}'`)
    if (found.code !== 0) throw new StackError('FS_STACK_START_FAILED', `postgres: SELECT from pg_database failed on ${host}:${port}:\n${found.stderr.trim()}`)
    if (found.stdout.trim() === '1') return
    const res = await run(bin('createdb'), ['-h', host, '-p', String(port), '-U', SUPERUSER, '-O', user, database])
    if (res.code !== 0) throw new StackError('FS_STACK_START_FAILED', `postgres: could not create database ${database}:\n${res.stderr.trim()}`)
    opts.log(`postgres: created database ${database}`)
  }

  return {
    name: 'postgres',
    host,
    port,
    logFile: paths.logFile,
    managedPid,
    ready,

    async start () {
      await ensureBinaries()
      await ownFolder()
      await initdbOnce()
      writeConfig()
      await waitForOrphanedBackends()
      opts.log('postgres: starting')
      const started = Date.now()
      const res = await asServerUser(bin('pg_ctl'), ['start', '-D', paths.data, '-l', paths.logFile, '-w', '-t', String(PG_CTL_WAIT_S), '-s'])
      if (res.code !== 0) {
        const code = /did not start in time/.test(res.stdout + res.stderr) ? 'FS_STACK_TIMEOUT' : 'FS_STACK_START_FAILED'
        throw new StackError(code, `postgres: pg_ctl start failed (exit ${res.code}); see ${paths.logFile}:\n${(res.stdout + res.stderr).trim()}`)
      }
      if (!await ready()) throw new StackError('FS_STACK_START_FAILED', `postgres: pg_ctl reported a start but pg_isready gets no answer on ${host}:${port}; see ${paths.logFile}`)
      await ensureDatabase()
      opts.log(`postgres: ready on ${host}:${port} (${seconds(started)})`)
    },

    async stop () {
      // -m fast: roll back open transactions and shut down cleanly, without waiting for clients to leave.
      const res = await asServerUser(bin('pg_ctl'), ['stop', '-D', paths.data, '-m', 'fast', '-w', '-t', String(PG_CTL_WAIT_S), '-s'])
      if (res.code !== 0 && managedPid() !== undefined) {
        throw new StackError('FS_STACK_TIMEOUT', `postgres: pg_ctl stop -m fast failed (exit ${res.code}); see ${paths.logFile}:\n${(res.stdout + res.stderr).trim()}`)
      }
    },
  }
}

/** Files we write into the cluster must belong to the postgres user, like the rest of it. */
function writeOwned (file: string, text: string): void {
  writeFileSync(file, text)
  const account = isRoot() ? osUser(OS_USER) : undefined
  if (account !== undefined) chownSync(file, account.uid, account.gid)
}
