// One Modbus client per gateway (a TCP address or a serial line). TCP and RTU differ only in
// how the port is opened; reads, timeouts and error mapping are one code path.
import ModbusSerial from 'modbus-serial'
import type { ReadBlock } from './plan.js'
import type { GatewaySpec } from './config.js'
import { isBitTable } from '../../schemas/modbus/function-codes.js'
import { ModbusBadReply, ModbusConnectionFailed, ModbusException, ModbusTimeout, type ModbusError } from './errors.js'

/** A register block as big-endian bytes, or a bit block as booleans. */
export type BlockData = { kind: 'registers', bytes: Buffer } | { kind: 'bits', bits: boolean[] }

interface LibraryError { message?: string, errno?: string, modbusCode?: number }
type ReadCallback = (err: LibraryError | null, result?: { data: unknown[], buffer: Buffer }) => void

// modbus-serial is CommonJS with `module.exports.default = module.exports`; under NodeNext the
// typed way to reach its class is `.default`.
const ModbusRTU = ModbusSerial.default
type ModbusRTU = InstanceType<typeof ModbusRTU>

// Slack over timeoutMs before our own deadline fires: the library's timer should win, ours only
// guarantees that a request always settles (the library drops callbacks when a port is destroyed).
const DEADLINE_SLACK_MS = 50

export class GatewayConnection {
  readonly spec: GatewaySpec
  #client: ModbusRTU | undefined
  #pending: ((err: ModbusError) => void) | undefined
  #connects = 0

  constructor (spec: GatewaySpec) {
    this.spec = spec
  }

  get connects (): number { return this.#connects }
  get isOpen (): boolean { return this.#client?.isOpen === true }

  /** Read one block from one unit. Opens the connection when needed. Rejects with a ModbusError. */
  async read (unitId: number, block: ReadBlock, timeoutMs: number): Promise<BlockData> {
    const client = await this.#open()
    client.setTimeout(timeoutMs)
    const what = `${block.table} ${block.start}..${block.start + block.count - 1}, function ${block.functionCode}`
    return await new Promise<BlockData>((resolve, reject) => {
      let settled = false
      const finish = (err: ModbusError | undefined, data?: BlockData): void => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        this.#pending = undefined
        // Half a reply, or an MBAP length longer than the frame, stays in the client's buffer and
        // every later reply is read on top of it: out of step for good, for every unit behind
        // this gateway. Only a new connection starts clean.
        if (err !== undefined && !(err instanceof ModbusException) && this.#client === client && holdsPartialFrame(client)) {
          this.close(`reply stream out of step (${what}); reconnecting`)
        }
        if (err !== undefined) reject(err)
        else resolve(data!)
      }
      const deadline = setTimeout(() => finish(new ModbusTimeout(`no reply within ${timeoutMs} ms (${what})`)), timeoutMs + DEADLINE_SLACK_MS)
      this.#pending = err => finish(err)
      const cb: ReadCallback = (err, result) => {
        if (err !== null && err !== undefined) return finish(this.#mapError(err, timeoutMs, what))
        if (result === undefined) return finish(new ModbusBadReply(`empty reply (${what})`))
        if (isBitTable(block.table)) finish(undefined, { kind: 'bits', bits: result.data as boolean[] })
        else if (result.buffer.length !== block.count * 2) finish(new ModbusBadReply(`reply has ${result.buffer.length} bytes, expected ${block.count * 2} (${what})`))
        else finish(undefined, { kind: 'registers', bytes: result.buffer })
      }
      const c = client as unknown as Record<string, (unit: number, start: number, count: number, next: ReadCallback) => void>
      c[`writeFC${block.functionCode}`]!.call(client, unitId, block.start, block.count, cb)
    })
  }

  /** Close the connection; a request in flight fails with ModbusConnectionFailed. */
  close (reason = 'connection closed'): void {
    const client = this.#client
    this.#client = undefined
    this.#pending?.(new ModbusConnectionFailed(reason))
    if (client !== undefined) client.destroy(() => {})
  }

  async #open (): Promise<ModbusRTU> {
    if (this.#client?.isOpen === true) return this.#client
    this.close('reconnecting')
    const client = new ModbusRTU()
    // Without a listener an 'error' from a serial port would crash the process.
    client.on('error', () => this.#drop(client, 'port error'))
    const s = this.spec
    const where = s.serial === undefined ? `${s.host}:${s.port}` : s.serial.path
    let timer: NodeJS.Timeout | undefined
    try {
      const opening = s.serial === undefined
        ? client.connectTCP(s.host, { port: s.port })
        : client.connectRTUBuffered(s.serial.path, { baudRate: s.serial.baudRate, parity: s.serial.parity, dataBits: s.serial.dataBits, stopBits: s.serial.stopBits })
      await Promise.race([opening, new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${s.connectTimeoutMs} ms`)), s.connectTimeoutMs)
      })])
    } catch (err) {
      client.destroy(() => {})
      throw new ModbusConnectionFailed(`cannot connect to ${where}: ${(err as Error).message ?? String(err)}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
    client.on('close', () => this.#drop(client, `connection to ${where} closed`))
    this.#client = client
    this.#connects++
    if (s.pauseAfterConnectMs > 0) await new Promise(resolve => setTimeout(resolve, s.pauseAfterConnectMs))
    return client
  }

  #drop (client: ModbusRTU, reason: string): void {
    if (this.#client === client) this.close(reason)
  }

  #mapError (err: LibraryError, timeoutMs: number, what: string): ModbusError {
    if (typeof err.modbusCode === 'number') return new ModbusException(err.modbusCode, what)
    if (err.errno === 'ETIMEDOUT') return new ModbusTimeout(`no reply within ${timeoutMs} ms (${what})`)
    if (err.message === 'Port Not Open') {
      this.close('port not open')
      return new ModbusConnectionFailed(`connection lost (${what})`)
    }
    return new ModbusBadReply(`${err.message ?? 'unreadable reply'} (${what})`)
  }
}

/**
 * Whether a Modbus TCP client holds the start of a frame it is still waiting to complete.
 * modbus-serial keeps those bytes privately (ports/tcpport.js `_clientRcvData`); if that ever
 * changes this reads false and test/ingest/modbus/misbehaving.test.ts fails.
 */
function holdsPartialFrame (client: ModbusRTU): boolean {
  const port = (client as unknown as { _port?: { _clientRcvData?: unknown } })._port
  const pending = port?._clientRcvData
  return pending instanceof Uint8Array && pending.length > 0
}
