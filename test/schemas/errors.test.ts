// Every coded error in the source is listed once in schemas/errors.ts, and no code is reused.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ERROR_CODES, RETIRED_CODES } from '../../schemas/errors.js'
import { REPO_ROOT } from '../helpers/repo.js'

const SOURCE_DIRS = ['schemas', 'common', 'ingest', 'workers', 'aggregate', 'api', 'stack', 'sim', 'cli']

function sources (dir: string): string[] {
  let entries
  try { entries = readdirSync(dir, { withFileTypes: true }) } catch { return [] }
  return entries.flatMap(e => e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

t.test('codes used in the source are registered, unique and not retired', async t => {
  const used = new Set<string>()
  for (const file of SOURCE_DIRS.flatMap(d => sources(join(REPO_ROOT, d)))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['"](FS_[A-Z_]+)['"]/g)) used.add(m[1]!)
  }
  t.ok(used.size >= 10, `found ${used.size} codes in the source`)
  for (const code of used) t.ok((ERROR_CODES as readonly string[]).includes(code), `${code} is registered in schemas/errors.ts`)
  t.equal(new Set(ERROR_CODES).size, ERROR_CODES.length, 'no code listed twice')
  for (const code of RETIRED_CODES) t.notOk(used.has(code), `retired ${code} is not reused`)
})
