// Modbus exception codes (Modbus Application Protocol Specification V1.1b3, section 7):
// https://modbus.org/docs/Modbus_Application_Protocol_V1_1b3.pdf

export const ExceptionCode = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  serverDeviceFailure: 0x04,
  acknowledge: 0x05,
  serverDeviceBusy: 0x06,
  memoryParityError: 0x08,
  gatewayPathUnavailable: 0x0a,
  gatewayTargetFailedToRespond: 0x0b,
} as const
export type ExceptionCode = (typeof ExceptionCode)[keyof typeof ExceptionCode]

/** What each code means, worded for a log line read by someone at the well site. */
export const EXCEPTION_DESCRIPTIONS: Readonly<Record<number, string>> = {
  [ExceptionCode.illegalFunction]: 'illegal function (the device does not support this read)',
  [ExceptionCode.illegalDataAddress]: 'illegal data address (the register map asks for addresses the device does not have)',
  [ExceptionCode.illegalDataValue]: 'illegal data value (the device refuses this request length)',
  [ExceptionCode.serverDeviceFailure]: 'server device failure (the device reports an internal error)',
  [ExceptionCode.acknowledge]: 'acknowledge (the device accepted a long-running request)',
  [ExceptionCode.serverDeviceBusy]: 'server device busy',
  [ExceptionCode.memoryParityError]: 'memory parity error',
  [ExceptionCode.gatewayPathUnavailable]: 'gateway path unavailable (the gateway has no route to this unit id)',
  [ExceptionCode.gatewayTargetFailedToRespond]: 'gateway target device failed to respond',
}

export function describeException (code: number): string {
  return EXCEPTION_DESCRIPTIONS[code] ?? `unknown exception code ${code}`
}
