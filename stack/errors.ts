// Errors raised by `fieldstream stack`. Each code names one kind of failure, and each message names
// the service and what to do next (install a tool, read a log file, free a port).
import { FsError } from '../schemas/errors.js'

export const STACK_ERROR_CODES = [
  /** A program the service needs is absent and cannot be installed here (no apt-get, not root). */
  'FS_STACK_MISSING_TOOL',
  /** `apt-get install` or Maven's jar resolution failed. */
  'FS_STACK_INSTALL_FAILED',
  /** The service exited or refused to start; the message points at its log file. */
  'FS_STACK_START_FAILED',
  /** The service did not answer its readiness probe (or did not stop) in time. */
  'FS_STACK_TIMEOUT',
  /** A stack option (port, database name, data folder) is unusable. */
  'FS_STACK_CONFIG_INVALID',
  /** Asked to stop or kill a service that fieldstream did not start. */
  'FS_STACK_NOT_MANAGED',
] as const

export type StackErrorCode = (typeof STACK_ERROR_CODES)[number]

export class StackError extends FsError {
  readonly code: StackErrorCode
  constructor (code: StackErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}
