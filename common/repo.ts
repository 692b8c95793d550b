// The repository root and paths in it, from compiled code in dist/common/.
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function repoPath (...parts: string[]): string {
  return join(REPO_ROOT, ...parts)
}
