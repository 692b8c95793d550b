#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/index.js', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('fieldstream: not built yet; run `npm run build` (or `npm test` / `npm run demo`, which build first)\n')
  process.exit(2)
}
await import(entry.href)
