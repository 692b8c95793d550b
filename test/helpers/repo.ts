// Paths from compiled tests (dist/test/...) back to the repository's source files.
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export function repoPath (...parts: string[]): string {
  return join(REPO_ROOT, ...parts)
}
