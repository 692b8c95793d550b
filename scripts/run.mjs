#!/usr/bin/env node
// The set-up behind the README's two commands, for a fresh machine:
//   npm test      -> install deps, build, start local services, run every test
//   npm run demo  -> install deps, build, run the pipeline demo (starts services itself)
//   npm run test:faults -> the same as npm test, for the fault suite (test/faults/) only
// Plain JavaScript with no dependencies, because it runs before `npm ci` has.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const [task, ...rest] = process.argv.slice(2)

function say (line) { process.stderr.write(`[fieldstream ${task}] ${line}\n`) }

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (r.error) throw r.error
  if (r.status !== 0) {
    say(`\`${cmd} ${args.join(' ')}\` failed with exit code ${r.status}`)
    process.exit(r.status ?? 1)
  }
}

function checkNode () {
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (major < 20 || (major === 20 && minor < 19)) {
    say(`Node.js ${process.versions.node} is too old: fieldstream needs Node.js 20.19 or newer`)
    process.exit(1)
  }
}

function installDeps () {
  const lock = join(root, 'package-lock.json')
  const installed = join(root, 'node_modules', '.package-lock.json')
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return
  say('installing dependencies (npm ci)')
  run('npm', ['ci', '--no-audit', '--no-fund'])
}

function build () {
  say('building (tsc)')
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
}

function testFiles (dir) {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...testFiles(path))
    else if (entry.name.endsWith('.test.js')) out.push(path)
  }
  return out.sort()
}

async function test (only) {
  say('starting local services (Kafka, PostgreSQL, Mosquitto) when not already up')
  run(process.execPath, ['bin/fieldstream.js', 'stack', 'up'])
  // tap compiles its plugin set from package.json ("tap".plugin) only when asked in CI;
  // without it the default TypeScript loader plugin runs and fails on our compiled tests.
  const tapBin = join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs')
  run(process.execPath, [tapBin, 'build'])
  const files = rest.length > 0 ? rest : testFiles(join(root, 'dist', 'test', ...(only === undefined ? [] : [only])))
  say(`running ${files.length} test files with tap`)
  const tap = spawn(process.execPath, [tapBin, ...files], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  let summary
  tap.stdout.on('data', chunk => {
    process.stdout.write(chunk)
    const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(chunk.toString())
    if (m) summary = { pass: Number(m[2] ?? 0), fail: Number(m[3] ?? 0) }
  })
  const code = await new Promise(resolve => tap.on('close', resolve))
  const result = summary ?? { pass: 0, fail: 1 }
  if (code !== 0 && result.fail === 0) result.fail = 1 // a crashed runner is a failure even if no assertion said so
  process.stdout.write(`${result.pass} passed, ${result.fail} failed\n`)
  process.exit(code === 0 ? 0 : 1)
}

function demo () {
  const child = spawn(process.execPath, ['bin/fieldstream.js', 'demo', ...rest], { cwd: root, stdio: 'inherit' })
  // Ctrl-C reaches the child through the terminal's process group; forward SIGTERM too.
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => child.kill('SIGTERM'))
  child.on('close', code => process.exit(code ?? 0))
}

checkNode()
installDeps()
build()
if (task === 'test') await test()
else if (task === 'faults') await test('faults')
else if (task === 'demo') demo()
else { say('usage: node scripts/run.mjs test|faults|demo [args]'); process.exit(2) }
