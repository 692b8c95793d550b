// Sorting database failures into "wait and retry" and "this data will never go in".
// https://www.postgresql.org/docs/current/errcodes-appendix.html
import { FsError } from '../../schemas/errors.js'

/** SQLSTATE classes and codes that heal by themselves (the server restarts, a lock clears). */
const RETRYABLE_CLASSES = new Set(['08', '53', '57', '58', '40'])
const RETRYABLE_CODES = new Set(['55P03', '55006', '25P03'])

/** Node socket errors seen when PostgreSQL is down or restarting. */
const RETRYABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

export function isRetryable (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') {
    // pg reports a dropped connection without a code.
    const message = String((err as Error | null)?.message ?? '')
    return /Connection terminated|connection.*(closed|ended)|not queryable|Client has encountered a connection error/i.test(message)
  }
  if (RETRYABLE_NODE_CODES.has(code)) return true
  if (RETRYABLE_CODES.has(code)) return true
  return /^[0-9A-Z]{5}$/.test(code) && RETRYABLE_CLASSES.has(code.slice(0, 2))
}

/** A migration file changed after it was applied, or could not be applied. */
export class MigrationFailed extends FsError {
  readonly code = 'FS_MIGRATION_FAILED'
}
