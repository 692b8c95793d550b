// Which OPC DA quality a failed read gives its points. Comm failures and device faults need
// different responses in the field (send a technician to the radio vs. to the device), and a
// config error needs neither, so the three are kept apart.
import { Quality } from '../../schemas/quality.js'
import { ExceptionCode } from '../../schemas/modbus/exception-codes.js'
import { ModbusException, type ModbusError } from './errors.js'

export function qualityOfError (err: ModbusError): number {
  if (!(err instanceof ModbusException)) return Quality.badCommFailure
  switch (err.exceptionCode) {
    // The register map asks for something the device does not have: fix the config.
    case ExceptionCode.illegalFunction:
    case ExceptionCode.illegalDataAddress:
    case ExceptionCode.illegalDataValue:
      return Quality.badConfigError
    // The gateway answered for a unit it cannot reach: the link behind it failed, not the device.
    case ExceptionCode.gatewayPathUnavailable:
    case ExceptionCode.gatewayTargetFailedToRespond:
      return Quality.badCommFailure
    default:
      return Quality.badDeviceFailure
  }
}

/** Worth another attempt within the same poll: the line may be fine a moment later. */
export function isRetryable (err: ModbusError): boolean {
  if (!(err instanceof ModbusException)) return true
  return err.exceptionCode === ExceptionCode.serverDeviceBusy || err.exceptionCode === ExceptionCode.gatewayTargetFailedToRespond
}
