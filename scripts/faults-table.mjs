#!/usr/bin/env node
// Prints the README's Reliability table from what the fault suite measured
// (bench/results/faults/<case>.json, written by `npm run test:faults`).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../bench/results/faults/', import.meta.url))
let files
try {
  files = readdirSync(dir).filter(f => f.endsWith('.json'))
} catch {
  process.stderr.write(`no results in ${dir}: run \`npm run test:faults\` first\n`)
  process.exit(1)
}
const rows = files.map(f => JSON.parse(readFileSync(join(dir, f), 'utf8'))).sort((a, b) => a.order - b.order)
const n = v => v.toLocaleString('en-US')
console.log('| fault | what happens | points sent | lost | duplicated | time to recover |')
console.log('|---|---|---|---|---|---|')
for (const r of rows) {
  const recover = r.recoverS === null ? 'did not recover' : `${r.recoverS.toFixed(1)} s`
  const lost = r.notes !== undefined && r.lost > 0 ? `${n(r.lost)} (${r.notes})` : n(r.lost)
  console.log(`| ${r.fault} | ${r.happens} | ${n(r.sent)} | ${lost} | ${n(r.duplicated)} | ${recover} |`)
}
const notes = rows.filter(r => r.notes !== undefined && !(r.lost > 0)).map(r => `- ${r.case}: ${r.notes}`)
if (notes.length > 0) console.log('\n' + notes.join('\n'))
