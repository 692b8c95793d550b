import t from 'tap'
import { ModbusBadReply, ModbusConnectionFailed, ModbusException, ModbusTimeout, MODBUS_ERROR_CODES } from '../../../ingest/modbus/errors.js'
import { isRetryable, qualityOfError } from '../../../ingest/modbus/quality.js'
import { ERROR_CODES, FsError, RETIRED_CODES } from '../../../schemas/errors.js'
import { Quality } from '../../../schemas/quality.js'

t.test('each error class has its listed code, registered in the shared table and not retired', async t => {
  const errors = [new ModbusTimeout('x'), new ModbusConnectionFailed('x'), new ModbusException(2, 'x'), new ModbusBadReply('x')]
  t.same(errors.map(e => e.code), [...MODBUS_ERROR_CODES])
  for (const e of errors) {
    t.ok(e instanceof FsError)
    t.ok((ERROR_CODES as readonly string[]).includes(e.code), `${e.code} is registered in schemas/errors.ts`)
    t.notOk(RETIRED_CODES.includes(e.code), `${e.code} is not a retired code`)
  }
  t.equal(new Set(MODBUS_ERROR_CODES).size, MODBUS_ERROR_CODES.length)
})

t.test('quality and retry by error', async t => {
  const cases: Array<[Error & { code: string }, number, boolean]> = [
    [new ModbusTimeout('x'), Quality.badCommFailure, true],
    [new ModbusConnectionFailed('x'), Quality.badCommFailure, true],
    [new ModbusBadReply('x'), Quality.badCommFailure, true],
    [new ModbusException(1, 'x'), Quality.badConfigError, false],
    [new ModbusException(2, 'x'), Quality.badConfigError, false],
    [new ModbusException(3, 'x'), Quality.badConfigError, false],
    [new ModbusException(4, 'x'), Quality.badDeviceFailure, false],
    [new ModbusException(6, 'x'), Quality.badDeviceFailure, true],
    [new ModbusException(0x0b, 'x'), Quality.badCommFailure, true],
  ]
  for (const [err, quality, retry] of cases) {
    t.equal(qualityOfError(err as ModbusTimeout), quality, `${err.message} quality`)
    t.equal(isRetryable(err as ModbusTimeout), retry, `${err.message} retryable`)
  }
  t.equal(new ModbusException(2, 'holdingRegister 0..9').message, 'Modbus exception 2: illegal data address (the register map asks for addresses the device does not have) (holdingRegister 0..9)')
})
