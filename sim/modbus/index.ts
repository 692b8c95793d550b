// Simulated Modbus field devices. See pad.ts.
export { startModbusPad, type ModbusPad, type ModbusPadOptions, type PadDeviceInfo } from './pad.js'
export { FAULT_KINDS, type FaultKind, type FaultLabel, type FaultSpec } from './faults.js'
export { DEVICE_KINDS, type DeviceKind } from './devices.js'
