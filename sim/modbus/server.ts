// One Modbus TCP listening port (modbus-serial ServerTCP) serving one or more simulated units.
// A unit in a dropout fault, or a unit id nobody has, never gets a reply: that is what a
// device that is off, or missing behind a gateway, looks like to a poller.
import ModbusSerial from 'modbus-serial'
import type { SimDevice } from './devices.js'

type Cb<T> = (err: Error | null, value: T) => void
type Table = 'coil' | 'discreteInput' | 'holdingRegister' | 'inputRegister'

export interface SimPort {
  port: number
  host: string
  units: Map<number, SimDevice>
  /** Requests answered (with data or an exception). */
  readonly answered: number
  close (): Promise<void>
}

const exception = (code: number): Error => Object.assign(new Error(`exception ${code}`), { modbusErrorCode: code })

/** Listen on the first free port from `port` up to `lastPort`. */
export async function startSimPort (host: string, port: number, lastPort: number, units: Map<number, SimDevice>, clockMs: () => number): Promise<SimPort> {
  let answered = 0
  const serve = (table: Table) => (addr: number, length: number, unit: number, cb: Cb<number[]>): void => {
    const device = units.get(unit)
    const t = clockMs()
    if (device === undefined || device.isDroppedOut(t)) return
    const data = device.read(table, addr, length, t)
    answered++
    if (typeof data === 'number') cb(exception(data), [])
    else cb(null, data)
  }
  const one = (table: Table) => (addr: number, unit: number, cb: Cb<number>): void => serve(table)(addr, 1, unit, (err, v) => cb(err, v[0] ?? 0))
  const bit = (table: Table) => (addr: number, unit: number, cb: Cb<boolean>): void => serve(table)(addr, 1, unit, (err, v) => cb(err, v[0] === 1))
  const vector = {
    getMultipleHoldingRegisters: serve('holdingRegister'),
    getMultipleInputRegisters: serve('inputRegister'),
    getHoldingRegister: one('holdingRegister'),
    getInputRegister: one('inputRegister'),
    getCoil: bit('coil'),
    getDiscreteInput: bit('discreteInput'),
  }
  for (let p = port; p <= lastPort; p++) {
    const server = new ModbusSerial.ServerTCP(vector, { host, port: p, unitID: 255 })
    const ok = await new Promise<boolean>(resolve => {
      server.on('initialized', () => resolve(true))
      server.on('serverError', () => resolve(false))
    })
    if (!ok) continue
    return {
      port: p,
      host,
      units,
      get answered () { return answered },
      close: () => new Promise<void>(resolve => {
        for (const sock of server.socks.keys()) sock.destroy()
        server.close(() => resolve())
      }),
    }
  }
  throw new Error(`no free port in ${port}..${lastPort} on ${host}`)
}
