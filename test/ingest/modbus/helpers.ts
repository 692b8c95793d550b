// Test peers for the Modbus collector: a real modbus-serial ServerTCP on a loopback port
// whose units serve fixed register images, and can be told to stay silent or to answer
// with an exception.
import { createServer } from 'node:net'
import ModbusSerial from 'modbus-serial'
import type { Logger } from '../../../common/log.js'

export interface UnitImage {
  holding?: number[]
  input?: number[]
  coils?: boolean[]
  discrete?: boolean[]
  /** Never reply (a unit that is off or unreachable behind the gateway). */
  silent?: boolean
  /** Reply to every read with this Modbus exception code. */
  exception?: number
}

export interface TestServer {
  port: number
  address: string
  units: Map<number, UnitImage>
  /** Read requests received, per unit id. */
  requests: Map<number, number>
  close (): Promise<void>
}

/** A port in 15020-15999 that was free a moment ago. */
export async function freePort (): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 15020 + Math.floor(Math.random() * 980)
    const ok = await new Promise<boolean>(resolve => {
      const s = createServer()
      s.once('error', () => resolve(false))
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
    })
    if (ok) return port
  }
  throw new Error('no free port in 15020-15999')
}

export async function startTestServer (units: Record<number, UnitImage>): Promise<TestServer> {
  const port = await freePort()
  const map = new Map(Object.entries(units).map(([k, v]) => [Number(k), v]))
  const requests = new Map<number, number>()
  type Cb<T> = (err: Error | null, value: T) => void
  // Multi-register getters answer a whole block at once (one callback per request), so a silent
  // unit is one callback never made, and an exception is one error with modbusErrorCode.
  const block = <T>(pick: (u: UnitImage) => T[] | undefined, fill: T) => (addr: number, length: number, unit: number, cb: Cb<T[]>): void => {
    requests.set(unit, (requests.get(unit) ?? 0) + 1)
    const u = map.get(unit)
    if (u === undefined || u.silent === true) return
    if (u.exception !== undefined) return cb(Object.assign(new Error('exception'), { modbusErrorCode: u.exception }), [])
    const data = pick(u) ?? []
    if (addr + length > data.length) return cb(Object.assign(new Error('illegal address'), { modbusErrorCode: 2 }), [])
    cb(null, Array.from({ length }, (_, i) => data[addr + i] ?? fill))
  }
  const single = <T>(pick: (u: UnitImage) => T[] | undefined, fill: T) => (addr: number, unit: number, cb: Cb<T>): void => {
    block(pick, fill)(addr, 1, unit, (err, v) => cb(err, v[0] ?? fill))
  }
  const holding = block(u => u.holding, 0)
  const input = block(u => u.input, 0)
  const server = new ModbusSerial.ServerTCP({
    getMultipleHoldingRegisters: holding,
    getMultipleInputRegisters: input,
    getHoldingRegister: single(u => u.holding, 0),
    getInputRegister: single(u => u.input, 0),
    getCoil: single(u => u.coils, false),
    getDiscreteInput: single(u => u.discrete, false),
  }, { host: '127.0.0.1', port, unitID: 255 })
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve())
    server.on('serverError', reject)
  })
  return {
    port,
    address: `127.0.0.1:${port}`,
    units: map,
    requests,
    close: () => new Promise<void>(resolve => {
      for (const sock of server.socks.keys()) sock.destroy()
      server.close(() => resolve())
    }),
  }
}

/** A Logger that keeps its lines. */
export function memoryLog (): Logger & { lines: string[] } {
  const lines: string[] = []
  const keep = (level: string) => (m: string): void => { lines.push(`${level} ${m}`) }
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') }
}

/** Resolve once `check` is true, polling every 5 ms; reject after `ms`. */
export async function until (check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}
