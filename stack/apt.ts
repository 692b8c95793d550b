// Installs a missing Debian package, or explains precisely why it cannot (no apt-get, not root).
import { isRoot, run, which } from './process.js'
import { StackError } from './errors.js'

// dpkg holds one lock: two services installing at once would fail, so installs run one at a time.
let queue: Promise<unknown> = Promise.resolve()
let updated = false

/** `apt-get install -y <pkg>` on behalf of `service`; `apt-get update` runs once per process first. */
export function aptInstall (service: string, pkg: string, log: (l: string) => void): Promise<void> {
  const next = queue.then(() => install(service, pkg, log))
  queue = next.catch(() => undefined)
  return next
}

async function install (service: string, pkg: string, log: (l: string) => void): Promise<void> {
  const aptGet = which('apt-get')
  if (aptGet === undefined) {
    throw new StackError('FS_STACK_MISSING_TOOL', `${service}: the Debian package ${pkg} is needed, and apt-get is not available on this machine; install ${pkg} (or its equivalent) by hand`)
  }
  if (!isRoot()) {
    throw new StackError('FS_STACK_MISSING_TOOL', `${service}: the Debian package ${pkg} is needed; run \`sudo apt-get install -y ${pkg}\` (fieldstream is not root, so it cannot install it)`)
  }
  // Non-interactive: no debconf prompts when run from CI with no terminal.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if (!updated) {
    log(`${service}: apt-get update`)
    const res = await run(aptGet, ['update'], env)
    if (res.code !== 0) throw new StackError('FS_STACK_INSTALL_FAILED', `${service}: apt-get update failed (exit ${res.code}):\n${res.stderr.trim()}`)
    updated = true
  }
  log(`${service}: installing Debian package ${pkg}`)
  const res = await run(aptGet, ['install', '-y', '--no-install-recommends', pkg], env)
  if (res.code !== 0) throw new StackError('FS_STACK_INSTALL_FAILED', `${service}: apt-get install ${pkg} failed (exit ${res.code}):\n${res.stderr.trim()}`)
}
