// Modbus read function codes and their per-request limits.
// Modbus Application Protocol Specification V1.1b3, section 6:
// https://modbus.org/docs/Modbus_Application_Protocol_V1_1b3.pdf

/** The four data tables of a Modbus device, as named in register maps. */
export const ModbusTable = {
  coil: 'coil',
  discreteInput: 'discreteInput',
  holdingRegister: 'holdingRegister',
  inputRegister: 'inputRegister',
} as const
export type ModbusTable = (typeof ModbusTable)[keyof typeof ModbusTable]

/** Read function code of each table (spec 6.1-6.4). */
export const ReadFunctionCode = {
  coil: 0x01,
  discreteInput: 0x02,
  holdingRegister: 0x03,
  inputRegister: 0x04,
} as const satisfies Record<ModbusTable, number>

/**
 * Most items one read request may ask for (spec 6.1-6.4): 2000 bits for FC 1/2, 125 registers for FC 3/4.
 * Both fill a 253-byte PDU (the RS-485 ADU limit of 256 bytes less address and CRC).
 */
export const MaxReadCount = {
  coil: 2000,
  discreteInput: 2000,
  holdingRegister: 125,
  inputRegister: 125,
} as const satisfies Record<ModbusTable, number>

/** Tables that hold single bits rather than 16-bit registers. */
export function isBitTable (table: ModbusTable): table is 'coil' | 'discreteInput' {
  return table === ModbusTable.coil || table === ModbusTable.discreteInput
}

/** Data addresses are 16-bit: 0..65535 (the "40001" notation is 1-based and table-prefixed; configs use the wire address). */
export const MAX_DATA_ADDRESS = 0xffff

/** Unit identifiers: 0 is broadcast (no reply), 248-255 are reserved on serial lines; TCP devices commonly answer 255. */
export const MIN_UNIT_ID = 0
export const MAX_UNIT_ID = 255

/** Function-code bit set in a reply that carries an exception code (spec 7). */
export const EXCEPTION_FLAG = 0x80
