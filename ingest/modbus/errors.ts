// Errors of the Modbus collector. Each is an FsError with a stable code (never reused);
// ingest/modbus/quality.ts maps them to the OPC quality of the points a failed read yields.
// Config mistakes are schemas/errors.ts ConfigInvalid (FS_CONFIG_INVALID), like every other section.
import { FsError } from '../../schemas/errors.js'
import { describeException } from '../../schemas/modbus/exception-codes.js'

/** No reply within timeoutMs. Retryable. */
export class ModbusTimeout extends FsError {
  readonly code = 'FS_MODBUS_TIMEOUT'
}

/** The connection could not be opened, or was lost with the request in flight. Retryable. */
export class ModbusConnectionFailed extends FsError {
  readonly code = 'FS_MODBUS_CONNECTION_FAILED'
}

/** The device answered with a Modbus exception. Permanent for this poll. */
export class ModbusException extends FsError {
  readonly code = 'FS_MODBUS_EXCEPTION'
  constructor (readonly exceptionCode: number, what: string) {
    super(`Modbus exception ${exceptionCode}: ${describeException(exceptionCode)} (${what})`)
  }
}

/** A reply that does not fit the request (wrong length, unit or function). Retryable: usually a stale reply on a noisy line. */
export class ModbusBadReply extends FsError {
  readonly code = 'FS_MODBUS_BAD_REPLY'
}

export const MODBUS_ERROR_CODES = ['FS_MODBUS_TIMEOUT', 'FS_MODBUS_CONNECTION_FAILED', 'FS_MODBUS_EXCEPTION', 'FS_MODBUS_BAD_REPLY'] as const
export type ModbusError = ModbusTimeout | ModbusConnectionFailed | ModbusException | ModbusBadReply
