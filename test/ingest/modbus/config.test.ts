// Option validation: schema errors and cross-option checks name the option and the device;
// the README's sample config is valid.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { loadModbusConfig } from '../../../ingest/modbus/config.js'
import { repoPath } from '../../helpers/repo.js'

const field = { name: 'x', address: 0 }
const dev = (over: Record<string, unknown>, name = 'pump-3'): Record<string, unknown> => ({ name, address: '127.0.0.1:502', fields: [field], ...over })
function errorOf (raw: unknown): Error & { code?: string } {
  try { loadModbusConfig(raw) } catch (e) { return e as Error & { code?: string } }
  throw new Error('expected ConfigInvalid')
}

t.test('the sample config is valid, and is the one the README shows', async t => {
  const text = readFileSync(repoPath('ingest/modbus/sample.yaml'), 'utf8')
  const cfg = loadModbusConfig((parse(text) as { collectors: { modbus: unknown } }).collectors.modbus)
  t.equal(cfg.devices.length, 4)
  t.equal(cfg.devices[0]!.retries, 2, 'defaults filled in')
  t.equal(cfg.devices[0]!.fields[0]!.scale, 1)
  t.ok(readFileSync(repoPath('ingest/modbus/README.md'), 'utf8').includes(text.trim()), 'README embeds sample.yaml verbatim')
})

t.test('schema errors name option, value and device', async t => {
  const err = errorOf({ devices: [dev({}, 'a'), dev({}, 'b'), dev({ timeoutMs: 0, fields: [{ ...field, byteOrder: 'ABDC' }], colour: 'red' })] })
  t.equal(err.code, 'FS_CONFIG_INVALID')
  t.match(err.message, 'collectors.modbus.devices[2].timeoutMs must be > 0 (got 0) (device pump-3)')
  t.match(err.message, 'collectors.modbus.devices[2].fields[0].byteOrder must be one of ABCD, CDAB, BADC, DCBA (got "ABDC") (device pump-3)')
  t.match(err.message, 'collectors.modbus.devices[2].colour is an unknown option "colour" (device pump-3)')
})

t.test('cross-option checks', async t => {
  const cases: Array<[Record<string, unknown>[], string]> = [
    [[dev({ address: undefined })], 'collectors.modbus.devices[0] needs exactly one of address (Modbus TCP) and serial (Modbus RTU) (device pump-3)'],
    [[dev({ serial: { path: '/dev/ttyS0' } })], 'needs exactly one of address'],
    [[dev({}), dev({})], 'collectors.modbus.devices[1].name is already used by collectors.modbus.devices[0] (device pump-3)'],
    [[dev({ unitId: 0 })], 'devices[0].unitId must not be 0: unit 0 is broadcast'],
    [[dev({ retryBackoffMs: 500, retryBackoffMaxMs: 100 })], 'devices[0].retryBackoffMaxMs must be >= retryBackoffMs (500)'],
    [[dev({ fields: [{ name: 'c', table: 'coil', address: 0, type: 'uint16' }] })], 'devices[0].fields[0].type must be bool for table coil (got uint16)'],
    [[dev({ fields: [{ name: 'c', address: 0, type: 'int16', bit: 3 }] })], 'devices[0].fields[0].bit is only allowed for type bool in a register table'],
    [[dev({ fields: [{ name: 'c', address: 65534, type: 'float32' }, { name: 'd', address: 65535, type: 'float32' }] })], 'devices[0].fields[1].address 65535 + 2 registers runs past 65535'],
    [[dev({ fields: [{ name: 'c', address: 0 }, { name: 'c', address: 1 }] })], 'devices[0].fields[1] tag "pump-3/c" is already produced by collectors.modbus.devices[0].fields[0]'],
    [[dev({ fields: [{ name: 'c', address: 0, type: 'bool', deadband: 1 }] })], 'devices[0].fields[0].deadband must be 0 for type bool'],
    [[dev({ address: undefined, serial: { path: '/dev/ttyS0', baudRate: 9600 } }, 'a'), dev({ address: undefined, unitId: 2, serial: { path: '/dev/ttyS0', baudRate: 19200 } }, 'b')],
      'devices[1].serial differs from device a on the same serial line /dev/ttyS0'],
  ]
  for (const [devices, message] of cases) t.match(errorOf({ devices }).message, message, message)
})

t.test('all problems are reported at once', async t => {
  const err = errorOf({ devices: [dev({ unitId: 0, retryBackoffMs: 500, retryBackoffMaxMs: 1 })] })
  t.match(err.message, 'unitId')
  t.match(err.message, 'retryBackoffMaxMs')
})
