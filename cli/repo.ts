// The repository root, from compiled code in dist/cli/.
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function repoPath (...parts: string[]): string {
  return join(ROOT, ...parts)
}
