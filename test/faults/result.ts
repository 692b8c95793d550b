// Each fault case records what it measured in bench/results/faults/<case>.json (git-ignored);
// `node scripts/faults-table.mjs` turns the files into the README's Reliability table.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoPath } from '../helpers/repo.js'
import type { FaultResult } from './rig.js'

export const RESULTS_DIR = repoPath('bench', 'results', 'faults')

export function recordResult (name: string, order: number, result: FaultResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const line = JSON.stringify({ case: name, order, ...result, measuredAt: new Date().toISOString() })
  writeFileSync(join(RESULTS_DIR, `${name}.json`), line + '\n')
  return line
}
