// schemathesis against the API as `fieldstream api` runs it: the real server on a free port over a
// migrated PostgreSQL database holding the API fixture (twice: at its own time and where the
// document's example times point, there with NaN and ±Infinity values among the first points),
// an admin key (so PATCH is fuzzed too), the OpenAPI document it serves at /docs/json, every
// check, a bounded number of examples. The run must find no server error, no response outside
// its schema and no other failure.
//
// schemathesis comes from PyPI, pinned with its dependencies in schemathesis-requirements.txt,
// into a project-local venv (.schemathesis/venv, gitignored) made on the first run and reused
// while the requirements file is unchanged. Without python3 or PyPI the test fails saying so.
// schemathesis.toml and schemathesis_hooks.py say which refusals of schema-valid input are the
// API's documented cross-parameter rules (and how each is verified), and why /ready may be a 503.
//
// Knobs: FS_SCHEMATHESIS_EXAMPLES (per operation and phase, default 25), FS_SCHEMATHESIS_SEED
// (to replay a run: its seed is printed), PYTHON (default python3).
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createApiKey } from '../../api/auth/store.js'
import { startApi, type RunningApi } from '../../api/server.js'
import { loadConfig } from '../../schemas/config/load.js'
import { createTestDatabase, migrateTestDatabase, type TestDatabase } from '../helpers/db.js'
import { insertSegment, loadFixture, loadFixtureData, T0_MS } from './fixture.js'

/** The repository (this file runs from <root>/<outDir>/test/api/). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SOURCES = join(ROOT, 'test', 'api')
const REQUIREMENTS = join(SOURCES, 'schemathesis-requirements.txt')
const CONFIG = join(SOURCES, 'schemathesis.toml')
const HOOKS = join(SOURCES, 'schemathesis_hooks.py')
const VENV = join(ROOT, '.schemathesis', 'venv')
/** Copy of the requirements the venv was built from. */
const STAMP = join(VENV, 'fieldstream-requirements.txt')
const PYTHON = process.env.PYTHON ?? 'python3'

const EXAMPLES = Number(process.env.FS_SCHEMATHESIS_EXAMPLES ?? 25)
const SEED = process.env.FS_SCHEMATHESIS_SEED ?? String(Math.floor(Math.random() * 2 ** 32))
/**
 * schemathesis is stopped when this file has run this long (a first run installs it too), so a
 * slow run ends in a failure saying so, with its output, before tap's 300 s limit kills the
 * file. Runs took 44-137 s on the shared 2-core machine (load averages 4-21).
 */
const FILE_BUDGET_MS = 285_000
const fileStart = Date.now()

/** Failure codes (`st explain <code>`): 5xx, and a response outside what the document says. */
const SERVER_ERRORS = new Set(['ST101', 'ST102'])
const SCHEMA_VIOLATIONS = new Set(['ST103', 'ST104', 'ST105', 'ST106', 'ST107', 'ST108', 'ST109', 'ST110', 'ST111'])
/** Checks that must have run on the responses (a config slip must not quietly switch them off). */
const REQUIRED_CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_headers_conformance',
  'response_schema_conformance', 'negative_data_rejection', 'positive_data_acceptance', 'ignored_auth', 'unsupported_method']

interface Run { code: number | null, signal: NodeJS.Signals | null, out: string }

function run (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs: number }): Promise<Run> {
  return new Promise(resolve => {
    let out = ''
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr.on('data', (b: Buffer) => { out += b.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
    child.on('error', err => { clearTimeout(timer); resolve({ code: null, signal: null, out: `${out}${String(err)}` }) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }) })
  })
}

const tail = (s: string, lines: number): string => s.trimEnd().split('\n').slice(-lines).join('\n')

/** schemathesis could not be set up; `output` is what the failing command said. */
class SetupError extends Error {
  constructor (message: string, readonly output: string) { super(message) }
}

/** The pinned schemathesis in .schemathesis/venv, installed when missing or stale. */
async function ensureSchemathesis (): Promise<string> {
  const bin = join(VENV, 'bin', 'schemathesis')
  const wanted = readFileSync(REQUIREMENTS, 'utf8')
  const version = /^schemathesis==(\S+)$/m.exec(wanted)?.[1]
  if (version === undefined) throw new Error(`${REQUIREMENTS} does not pin schemathesis==<version>`)
  const usable = async (): Promise<boolean> => {
    if (!existsSync(STAMP) || readFileSync(STAMP, 'utf8') !== wanted) return false
    const v = await run(bin, ['--version'], { timeoutMs: 60_000 })
    return v.code === 0 && v.out.includes(version)
  }
  if (await usable()) return bin
  // A venv cannot be moved once built (its scripts name their interpreter's path), so it is
  // built in place, one test process at a time; the stamp is written last.
  return await withLock(`${VENV}.lock`, async () => {
    if (await usable()) return bin
    rmSync(VENV, { recursive: true, force: true })
    const venv = await run(PYTHON, ['-m', 'venv', VENV], { timeoutMs: 120_000 })
    if (venv.code !== 0) {
      throw new SetupError(`cannot create a Python venv with \`${PYTHON} -m venv\` (exit ${venv.code ?? venv.signal}): this test needs Python 3 with venv and pip (set PYTHON to use another interpreter)`, tail(venv.out, 15))
    }
    const pip = await run(join(VENV, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-color', '--retries', '2', '--timeout', '30', '-r', REQUIREMENTS], { timeoutMs: 300_000 })
    if (pip.code !== 0) {
      throw new SetupError(`cannot install schemathesis ${version} from PyPI (pip exit ${pip.code ?? pip.signal}): this test needs https://pypi.org to be reachable the first time (then .schemathesis/venv is reused)`, tail(pip.out, 20))
    }
    writeFileSync(STAMP, wanted)
    return bin
  })
}

/** Run `fn` holding a lock directory (taken over when its holder is gone for 10 minutes). */
async function withLock<T> (dir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 600_000
  mkdirSync(dirname(dir), { recursive: true })
  for (;;) {
    try {
      mkdirSync(dir)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const held = statSync(dir, { throwIfNoEntry: false })
      if (held !== undefined && Date.now() - held.mtimeMs > 600_000) rmSync(dir, { recursive: true, force: true })
      else if (Date.now() > deadline) throw new Error(`${dir} is held by another run`)
      else await sleep(1000)
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Report {
  running_time: number
  exit_code: number
  complete: boolean
  operations: { selected: number, tested: number, errored: number }
  test_cases: { generated: number, with_failures: number, unique_failures: number, errored: number }
  failures: Array<{ code: string, title: string, count: number, operations: string[] }>
  errors: unknown[]
  filtered: number
}

let db: TestDatabase
let api: RunningApi
let reportDir: string

t.teardown(async () => {
  await api?.close()
  await db?.drop()
  if (reportDir !== undefined) rmSync(reportDir, { recursive: true, force: true })
})

t.test('schemathesis finds no server error and no response outside the OpenAPI document', async t => {
  const installStart = Date.now()
  let schemathesis: string
  try {
    schemathesis = await ensureSchemathesis()
  } catch (err) {
    if (!(err instanceof SetupError)) throw err
    process.stderr.write(`${err.message}\n${err.output}\n`)
    t.fail(err.message, { output: err.output })
    return
  }
  t.comment(`schemathesis ready in ${((Date.now() - installStart) / 1000).toFixed(1)} s (${schemathesis})`)

  db = await createTestDatabase('api_schemathesis')
  await migrateTestDatabase(db.url)
  await loadFixture(db.pool)
  const adminKey = (await createApiKey(db.pool, 'schemathesis', ['read', 'admin'])).key
  api = await startApi(loadConfig({ env: { DATABASE_URL: db.url, API_HOST: '127.0.0.1', API_PORT: '0' } }))
  // A second copy of the data where the document's own examples point (from/to examples), so
  // the examples phase gets rows back, not only empty pages.
  const spec = await (await fetch(`${api.url}/docs/json`)).json() as { paths: Record<string, { get?: { parameters?: Array<{ name: string, examples?: Record<string, { value: string }> }> } }> }
  const from = spec.paths['/v1/points']?.get?.parameters?.find(p => p.name === 'from')?.examples ?? {}
  const fromMs = Object.values(from).map(e => /^-?\d+$/.test(e.value) ? Number(e.value) : Date.parse(e.value)).find(ms => Number.isFinite(ms))
  if (fromMs === undefined) throw new Error(`/docs/json gives no example time for /v1/points from: ${JSON.stringify(from)}`)
  await loadFixtureData(db.pool, fromMs - T0_MS)
  // And values a device can send that JSON has no number for, among the first points read there.
  await insertSegment(db.pool, 1, fromMs, [NaN, Infinity, -Infinity].map((v, i) => ({ ms: fromMs + 250 * (i + 1), v, q: 0xc0 })))

  reportDir = mkdtempSync(join(tmpdir(), 'fs-schemathesis-'))
  const args = ['--config-file', CONFIG, 'run', `${api.url}/docs/json`, '--checks', 'all', '--max-examples', String(EXAMPLES), '--seed', SEED,
    '--report', 'json,ndjson', '--report-dir', reportDir, '--request-timeout', '30', '--no-color']
  t.comment(`${schemathesis} ${args.join(' ')}`)
  const runTimeoutMs = Math.max(60_000, FILE_BUDGET_MS - (Date.now() - fileStart))
  const st = await run(schemathesis, args, { env: { FS_SCHEMATHESIS_KEY: adminKey, FS_SCHEMATHESIS_HOOKS: HOOKS }, timeoutMs: runTimeoutMs })
  // What broke, with schemathesis's reproduction commands: from its FAILURES section on.
  const findings = st.out.includes('= FAILURES =') || st.out.includes('= ERRORS =') ? st.out.slice(Math.max(0, st.out.search(/=+ (FAILURES|ERRORS) =+/))) : tail(st.out, 60)
  const said = (): { schemathesis: string } => ({ schemathesis: findings.length > 30_000 ? `${findings.slice(0, 30_000)}\n...` : findings })

  const files = readdirSync(reportDir)
  const jsonFile = files.find(f => f.endsWith('.json'))
  const ndjsonFile = files.find(f => f.endsWith('.ndjson'))
  if (jsonFile === undefined || ndjsonFile === undefined) {
    process.stderr.write(`${st.out}\n`)
    t.fail(`schemathesis wrote no report (exit ${st.code ?? st.signal}${st.signal === 'SIGKILL' ? `, stopped after ${Math.round(runTimeoutMs / 1000)} s` : ''})`, said())
    return
  }
  const report = JSON.parse(readFileSync(join(reportDir, jsonFile), 'utf8')) as Report
  const count = (codes: Set<string>): number => report.failures.filter(f => codes.has(f.code)).reduce((n, f) => n + f.count, 0)
  // Which checks ran on how many responses, from the event stream.
  const checksRun = new Map<string, number>()
  for (const line of readFileSync(join(reportDir, ndjsonFile), 'utf8').split('\n')) {
    if (!line.startsWith('{"ScenarioFinished"')) continue
    const checks = (JSON.parse(line) as { ScenarioFinished: { recorder: { checks?: Record<string, Array<{ name: string }>> } } }).ScenarioFinished.recorder.checks ?? {}
    for (const list of Object.values(checks)) for (const c of list) checksRun.set(c.name, (checksRun.get(c.name) ?? 0) + 1)
  }

  t.comment(`seed ${SEED}: ${report.test_cases.generated} cases over ${report.operations.tested} operations in ${report.running_time.toFixed(1)} s; ` +
    `${report.failures.length === 0 ? 'no failures' : report.failures.map(f => `${f.code} ${f.title} x${f.count}`).join(', ')}; ` +
    `${report.filtered} refusals of schema-valid input judged right (schemathesis_hooks.py)`)
  if (st.code !== 0) process.stderr.write(`\nschemathesis (seed ${SEED}):\n${findings}\n`)

  t.equal(count(SERVER_ERRORS), 0, 'no server errors (5xx)')
  t.equal(count(SCHEMA_VIOLATIONS), 0, 'no response outside the document (status, content type, headers, schema)')
  t.same(report.failures.map(f => `${f.code} ${f.title}: ${f.operations.join(', ')}`), [], 'no failures of any kind')
  t.same(report.errors, [], 'no errors')
  // The findings, with reproduction commands, once in the TAP output (and on stderr above).
  t.equal(st.code, 0, 'schemathesis exits 0', said())
  t.ok(report.complete, 'the run completed')
  t.equal(report.operations.tested, report.operations.selected, `every operation of the document tested (${report.operations.tested})`)
  t.ok(report.operations.selected >= 13, 'all 13 operations are in the document')
  t.ok(report.test_cases.generated >= 20 * report.operations.selected, `enough cases to mean something (${report.test_cases.generated})`)
  for (const name of REQUIRED_CHECKS) t.ok((checksRun.get(name) ?? 0) > 0, `check ${name} ran (${checksRun.get(name) ?? 0} responses)`)
})
